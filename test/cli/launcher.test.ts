import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileBundle, runBundle } from '../../src/lib/code-cache.js';
import { REPO_ROOT } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'wardwatch-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a compiled bundle as the launcher does and returns what it exported. */
function run(bundle: string): unknown {
  return runBundle(compileBundle(bundle), bundle);
}

describe('built command', () => {
  it('carries a code cache for its bundle that this Node accepts, so start-up skips compiling it', () => {
    const bundle = join(REPO_ROOT, 'dist/bin/wardwatch.cjs');
    expect(compileBundle(bundle).cacheUsed).toBe(true);
    // Recorded after a replay: it holds more than the bundle's top level.
    expect(statSync(`${bundle}.cache`).size).toBeGreaterThan(500_000);
  });

  it('carries a code cache for the replay worker too, recorded by a replay with worker threads', () => {
    const bundle = join(REPO_ROOT, 'dist/bin/replay-worker.cjs');
    expect(compileBundle(bundle).cacheUsed).toBe(true);
    // More than the top level: the functions a worker ran on its share.
    expect(statSync(`${bundle}.cache`).size).toBeGreaterThan(300_000);
  });

  it('runs its bundle in strict mode', () => {
    const source = readFileSync(join(REPO_ROOT, 'dist/bin/wardwatch.cjs'), 'utf8');
    const bundle = join(dir, 'strict.cjs');
    // The bundle's own prologue, then a probe.
    writeFileSync(bundle, `${source.split('\n').slice(0, 3).join('\n')}\nmodule.exports = (function () { return this === undefined; })();\n`);
    expect(run(bundle)).toBe(true);
  });

  it('ignores a cache recorded for other source of the same length, or damaged, and runs the bundle as it is', () => {
    const bundle = join(dir, 'answer.cjs');
    writeFileSync(bundle, 'module.exports = "old text";\n');
    compileBundle(bundle).recordCache();
    expect(compileBundle(bundle).cacheUsed).toBe(true);

    writeFileSync(bundle, 'module.exports = "new text";\n'); // same length: V8 alone would take the old code
    expect(compileBundle(bundle).cacheUsed).toBe(false);
    expect(run(bundle)).toBe('new text');

    compileBundle(bundle).recordCache();
    const cache = readFileSync(`${bundle}.cache`);
    for (let i = cache.length - 64; i < cache.length; i++) cache[i] ^= 0xff;
    writeFileSync(`${bundle}.cache`, cache);
    expect(compileBundle(bundle).cacheUsed).toBe(false);
    expect(run(bundle)).toBe('new text');
  });
});
