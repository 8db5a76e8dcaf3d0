/**
 * A fixed-seed fuzzing run of what an operator writes: mutated rule packs, config files and
 * indicator lists must each load or be refused with a located error; anything thrown besides, a
 * process warning or a slow load fails the test (inputs saved in fuzz-out/npm-test-settings/).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../tools/fuzz/fuzzer.js';
import { runSettingsFuzz } from '../../tools/fuzz/settings-fuzz.js';

describe('mutation fuzzing of rule packs, config files and indicator lists', () => {
  it('loads or refuses with a located error every mutated file, never throwing anything else', async () => {
    const summary = await runSettingsFuzz({ seed: 20250130, inputs: 3000, seconds: 60, outDir: join(REPO_ROOT, 'fuzz-out', 'npm-test-settings') });
    expect(summary.failures.map((f) => `${f.kind} input ${f.index}: ${f.signature}`)).toEqual([]);
    expect(summary.inputs).toBeGreaterThanOrEqual(1000);
    // The mutations reach both answers: files that still load and files that must be refused.
    expect(summary.accepted).toBeGreaterThan(summary.inputs / 10);
    expect(summary.refused).toBeGreaterThan(summary.inputs / 10);
  }, 90_000);

  it('reports what a loader throws besides a located error, and saves the input', async () => {
    const summary = await runSettingsFuzz({
      seed: 1,
      inputs: 3,
      outDir: join(REPO_ROOT, 'fuzz-out', 'npm-test-settings-planted'),
      loaders: {
        rules: async () => undefined,
        config: async () => {
          throw new TypeError('planted');
        },
        indicators: async () => ({ problems: [] }),
      },
    });
    expect(summary.failures).toEqual([expect.objectContaining({ kind: 'config', index: 1, signature: 'TypeError: planted' })]);
    expect(summary.accepted).toBe(2);
  });
});
