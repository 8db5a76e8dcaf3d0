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
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw new Error(`larger than ${maxBytes / (1024 * 1024)} MiB: not read`);
      chunks.push(bytesRead === CHUNK ? chunk : chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await handle.close();
  }
}
