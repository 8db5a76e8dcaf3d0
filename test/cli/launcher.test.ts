import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileBundle } from '../../src/cli/code-cache.js';
import { REPO_ROOT } from '../support/cli.js';

describe('built command', () => {
  it('carries a code cache for its bundle that this Node accepts, so start-up skips compiling it', () => {
    const bundle = join(REPO_ROOT, 'dist/bin/wardwatch.cjs');
    expect(compileBundle(bundle).cachedDataRejected).toBe(false);
    // Recorded after a replay: it holds more than the bundle's top level.
    expect(statSync(`${bundle}.cache`).size).toBeGreaterThan(500_000);
  });
});
