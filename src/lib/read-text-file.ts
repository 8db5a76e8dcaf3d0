import { open } from 'node:fs/promises';

/** Indicator and monitors lists: a million CIDRs with descriptions is well under this. */
export const MAX_LIST_BYTES = 256 * 1024 * 1024;
/** Rule files and the config file, which people write by hand. */
export const MAX_SETTINGS_BYTES = 16 * 1024 * 1024;

const CHUNK = 1024 * 1024;

/**
 * A file's text, read once (a list given as `<(...)` is a pipe: it can be read only once) and at
 * most `maxBytes` of it. Past that it is refused rather than read on: `/dev/zero` given as a list
 * would otherwise fill the memory. Throws the system's error, or one whose message says the size.
 */
export async function readTextFile(path: string, maxBytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    // A regular file's size says how much to expect (and one byte more finds its end); a pipe or
    // a device says 0 and is read in chunks.
    const info = await handle.stat();
    const size = info.isFile() ? info.size : 0;
    if (size > maxBytes) throw tooLarge(maxBytes);
    const chunks: Buffer[] = [];
    let chunk = Buffer.allocUnsafe(size > 0 ? size + 1 : CHUNK);
    let used = 0;
    let total = 0;
    for (;;) {
      if (used === chunk.length) {
        chunks.push(chunk);
        chunk = Buffer.allocUnsafe(CHUNK);
        used = 0;
      }
      const { bytesRead } = await handle.read(chunk, used, chunk.length - used, null);
      if (bytesRead === 0) break;
      used += bytesRead;
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(maxBytes);
    }
    chunks.push(chunk.subarray(0, used));
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await handle.close();
  }
}

function tooLarge(maxBytes: number): Error {
  return new Error(`larger than ${maxBytes / (1024 * 1024)} MiB: not read`);
}
