/**
 * The rule pack's revision: a digest of every file of the rule directory (rules and indicator
 * lists) and of extra indicator files, so a report says exactly which pack judged the traffic.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** `sha256:` and the first 16 hex digits of the digest of the files' names and bytes, in name order. */
export async function rulePackRevision(rulesDir: string, extraFiles: readonly string[]): Promise<string> {
  const files = [...(await filesUnder(rulesDir)).map((f) => ({ path: f, name: relative(rulesDir, f) })), ...extraFiles.map((f) => ({ path: f, name: f }))];
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash('sha256');
  for (const f of files) {
    hash.update(f.name + '\0');
    // Streamed: a large file left in the rules directory costs time, not memory. A list given as
    // a pipe (<(...)) was read by its loader and cannot be read again: its name stands for it.
    if ((await stat(f.path)).isFile()) for await (const chunk of createReadStream(f.path)) hash.update(chunk as Buffer);
    hash.update('\0');
  }
  return 'sha256:' + hash.digest('hex').slice(0, 16);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}
