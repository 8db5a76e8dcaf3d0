/**
 * Captures that once broke the analysis, each with a note beside it (`<name>.json`: what it
 * exercises, how it was found, the options it runs with). Each must run through the whole replay
 * path (reader, Detector with the shipped rules, EVE, text and inventory outputs, stats, summary)
 * without an exception and without breaking an invariant. A note with `timing` also names a
 * benign capture of the same size (in baselines/): the capture may take at most `maxRatio` times
 * as long, so work that grows faster than the input shows whatever the machine's speed.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { RuleSet } from '../../src/detect/rule-set.js';
import { REPO_ROOT } from '../../tools/fuzz/fuzzer.js';
import { runCapture, type RunOptions } from '../../tools/fuzz/run-input.js';

const DIR = dirname(fileURLToPath(import.meta.url));
const CAPTURE = /\.(pcap|pcapng)(\.gz)?$/;

interface Note {
  description: string;
  run: RunOptions;
  timing?: { baseline: string; maxRatio: number };
}

const captures = readdirSync(DIR)
  .filter((name) => CAPTURE.test(name))
  .sort()
  .map((name) => ({ name, note: JSON.parse(readFileSync(join(DIR, name.replace(CAPTURE, '.json')), 'utf8')) as Note }));

describe('captures that once broke the analysis', () => {
  let ruleSet: RuleSet;
  beforeAll(async () => {
    ({ ruleSet } = await RuleSet.load({ rulesDir: join(REPO_ROOT, 'rules') }));
  });

  const timed = async (path: string, run: RunOptions) => {
    const started = performance.now();
    const result = await runCapture(path, ruleSet, run);
    return { result, ms: performance.now() - started };
  };

  for (const { name, note } of captures) {
    it(`runs cleanly: ${note.description} (${name})`, async () => {
      const { result, ms } = await timed(join(DIR, name), note.run);
      expect(result.problems).toEqual([]);
      if (note.timing !== undefined) {
        const baseline = join(DIR, note.timing.baseline);
        const baselineMs = Math.min((await timed(baseline, note.run)).ms, (await timed(baseline, note.run)).ms);
        expect(ms / baselineMs, `${Math.round(ms)} ms against ${Math.round(baselineMs)} ms for ${note.timing.baseline}`).toBeLessThanOrEqual(note.timing.maxRatio);
      }
    }, 60_000);
  }
});
