import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Script } from 'node:vm';

/**
 * The command's CommonJS bundle, compiled with V8's code cache when one was recorded for it
 * (`<bundle>.cache`). V8 checks the cache itself and compiles from source as usual when it was
 * made for other source, by another Node or with other flags.
 */
export function compileBundle(bundle: string): Script {
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${bundle}.cache`);
  } catch {
    cachedData = undefined;
  }
  // Node's own module wrapper around the bundle; its first line, '#!...', becomes a comment.
  const source = readFileSync(bundle, 'utf8').replace(/^#!/, '//');
  return new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, cachedData });
}

/** Writes the cache of everything compiled so far; replaced whole, never half-written. */
export function recordCodeCache(script: Script, bundle: string): void {
  writeFileSync(`${bundle}.cache.tmp`, script.createCachedData());
  renameSync(`${bundle}.cache.tmp`, `${bundle}.cache`);
}
