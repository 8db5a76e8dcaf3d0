import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compileBundle, runBundle } from '../../src/lib/code-cache.js';
import { CLI_MAIN, CLI_NODE_FLAGS, REPO_ROOT } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'wardwatch-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Whether V8 takes the recorded cache of `bundle` in a Node started with `flags`: it rejects a
 * cache made under other flags, so this must run in a child, not in the test's own Node.
 */
function cacheTaken(bundle: string, flags: readonly string[]): string {
  const codeCache = pathToFileURL(join(REPO_ROOT, 'dist/lib/code-cache.js')).href;
  const probe = `import { compileBundle } from '${codeCache}'; process.stdout.write(String(compileBundle(process.argv[1]).cacheUsed));`;
  const child = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', probe, bundle], { encoding: 'utf8' });
  return child.stdout + child.stderr;
}

/** Runs a compiled bundle as the launcher does and returns what it exported. */
function run(bundle: string): unknown {
  return runBundle(compileBundle(bundle), bundle);
}

describe('built command', () => {
  it('carries a code cache for its bundle that Node started as the launcher starts it accepts, so start-up skips compiling it', () => {
    const bundle = join(REPO_ROOT, 'dist/bin/wardwatch.cjs');
    expect(cacheTaken(bundle, CLI_NODE_FLAGS)).toBe('true');
    // Recorded after a replay: it holds more than the bundle's top level.
    expect(statSync(`${bundle}.cache`).size).toBeGreaterThan(500_000);
  });

  it('carries a code cache for the replay worker too, recorded by a replay with worker threads', () => {
    const bundle = join(REPO_ROOT, 'dist/bin/replay-worker.cjs');
    expect(cacheTaken(bundle, CLI_NODE_FLAGS)).toBe('true');
    // More than the top level: the functions a worker ran on its share.
    expect(statSync(`${bundle}.cache`).size).toBeGreaterThan(300_000);
  });

  it('starts as its bin entry does, through the V8 flags on its first line', () => {
    expect(CLI_NODE_FLAGS).toContain('--max-semi-space-size=8');
    const child = spawnSync(CLI_MAIN, ['--version'], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout).toMatch(/^\d+\.\d+\.\d+/);
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
