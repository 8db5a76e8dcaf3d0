/**
 * A short fixed-seed fuzzing run: sample captures mutated at every layer, each run through the
 * whole replay path in a worker thread with a time limit. Any exception, hang, broken cap or
 * memory blow-up fails the test; the failing inputs are saved in fuzz-out/npm-test/ with a note.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCorpus } from '../../tools/fuzz/corpus.js';
import { REPO_ROOT, runFuzz } from '../../tools/fuzz/fuzzer.js';
import { generateInput } from '../../tools/fuzz/mutate.js';

const SEED = 20250130;
/** About a minute of one core here; fewer on CI runners, and never past the wall-clock cap. */
const INPUTS = process.env.CI === 'true' ? 8_000 : 20_000;
const MAX_SECONDS = 75;

describe('mutation fuzzing from the capture file up', () => {
  it('builds the same input from the same seed and index, and different ones for other indexes', () => {
    const corpus = loadCorpus(join(REPO_ROOT, 'pcaps'));
    const again = loadCorpus(join(REPO_ROOT, 'pcaps'));
    for (let index = 0; index < 50; index++) {
      const a = generateInput(corpus, SEED, index);
      const b = generateInput(again, SEED, index);
      expect(b.bytes.equals(a.bytes)).toBe(true);
      expect(b.mutations).toEqual(a.mutations);
      expect(b.run).toEqual(a.run);
    }
    const distinct = new Set(Array.from({ length: 50 }, (_, i) => generateInput(corpus, SEED, i).bytes.toString('base64')));
    expect(distinct.size).toBeGreaterThan(45);
  });

  it(
    'runs mutated captures through the whole analysis without an exception, a hang or a broken cap',
    async () => {
      const summary = await runFuzz({
        seed: SEED,
        inputs: INPUTS,
        seconds: MAX_SECONDS,
        outDir: join(REPO_ROOT, 'fuzz-out', 'npm-test'),
        timeoutMs: 2000,
        maxGrowthMb: 256,
      });
      const report = summary.signatures.map((s) => `${s.count} x ${s.signature}${s.example ? ` (e.g. ${s.example})` : ''}`);
      expect(report).toEqual([]);
      expect(summary.failures).toHaveLength(0);
      // A run cut short by a slow machine still has to have tested something.
      expect(summary.inputs).toBeGreaterThanOrEqual(Math.min(INPUTS, 2_000));
    },
    (MAX_SECONDS + 30) * 1000,
  );
});
