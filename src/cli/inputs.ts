import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from './analysis-options.js';

/** File names a directory of captures is expected to hold; other files (notes, expected alerts) are skipped. */
const CAPTURE_NAME = /\.(pcap|pcapng|cap|dmp|ntar)(\.gz)?$|\.gz$/i;

/**
 * Expands the command line's inputs: files as given, directories to the capture files inside them
 * (recursively, sorted by path), `-` for standard input. Paths that do not exist are returned as
 * they are, so opening them reports the error with the name.
 */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    if (input === '-') {
      files.push(input);
      continue;
    }
    let isDir = false;
    try {
      isDir = (await stat(input)).isDirectory();
    } catch {
      // reported when the capture is opened
    }
    if (isDir) files.push(...(await capturesIn(input)));
    else files.push(input);
  }
  return files;
}

async function capturesIn(dir: string): Promise<string[]> {
  const found: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new UsageError(`${dir}: cannot read directory: ${(err as Error).message.replace(/^[A-Z]+: /, '')}`);
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await capturesIn(path)));
    else if (entry.isFile() && CAPTURE_NAME.test(entry.name)) found.push(path);
  }
  return found;
}
