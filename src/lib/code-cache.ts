import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/** A CommonJS bundle (the command's, the replay worker's), compiled, and whether a recorded code cache served. */
export interface CompiledBundle {
  script: Script;
  cacheUsed: boolean;
  /** Writes the cache of everything compiled so far beside the bundle; replaced whole, never half-written. */
  recordCache(): void;
}

const DIGEST_BYTES = 32;

/**
 * Compiles the bundle with V8's code cache when one was recorded for it (`<bundle>.cache`: a
 * digest, then V8's data). V8 itself only checks the cache against the source's length, its own
 * version and flags, and a damaged cache can bring the process down; so the digest covers the
 * bundle's path and bytes and the data, and a cache that does not match is not offered at all.
 * The path counts because cached code keeps the path it was recorded at for stack traces.
 */
export function compileBundle(bundle: string): CompiledBundle {
  const bytes = readFileSync(bundle);
  const cacheFile = `${bundle}.cache`;
  let cachedData: Buffer | undefined;
  try {
    const file = readFileSync(cacheFile);
    const data = file.subarray(DIGEST_BYTES);
    if (file.length > DIGEST_BYTES && digest(bundle, bytes, data).equals(file.subarray(0, DIGEST_BYTES))) cachedData = data;
  } catch {
    cachedData = undefined; // none recorded
  }
  // Node's own module wrapper around the bundle; its first line, '#!...', becomes a comment.
  const source = bytes.toString('utf8').replace(/^#!/, '//');
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, cachedData });
  return {
    script,
    cacheUsed: cachedData !== undefined && !script.cachedDataRejected,
    recordCache: () => {
      const data = script.createCachedData();
      writeFileSync(`${cacheFile}.tmp`, Buffer.concat([digest(bundle, bytes, data), data]));
      renameSync(`${cacheFile}.tmp`, cacheFile);
    },
  };
}

function digest(bundle: string, bytes: Buffer, data: Uint8Array): Buffer {
  return createHash('sha256').update(bundle).update('\0').update(bytes).update(data).digest();
}

/** Runs the compiled bundle as Node runs a CommonJS module, and returns what it exports. */
export function runBundle(compiled: CompiledBundle, bundle: string): unknown {
  const module = { exports: {} as unknown };
  (compiled.script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  return module.exports;
}
