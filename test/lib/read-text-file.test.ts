import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTextFile } from '../../src/lib/read-text-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('reading a settings file', () => {
  it('reads a file up to the limit whole, in UTF-8', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wardwatch-read-'));
    dirs.push(dir);
    const text = 'é'.repeat(1024 * 1024); // 2 MiB of UTF-8, across chunk boundaries
    writeFileSync(join(dir, 'list.txt'), text);
    expect(await readTextFile(join(dir, 'list.txt'), 2 * 1024 * 1024)).toBe(text);
  });

  it('refuses what goes on past the limit, such as /dev/zero, instead of filling the memory', async () => {
    await expect(readTextFile('/dev/zero', 4 * 1024 * 1024)).rejects.toThrow('larger than 4 MiB: not read');
    const dir = mkdtempSync(join(tmpdir(), 'wardwatch-read-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'big.txt'), Buffer.alloc(2 * 1024 * 1024 + 1, 0x41));
    await expect(readTextFile(join(dir, 'big.txt'), 2 * 1024 * 1024)).rejects.toThrow('larger than 2 MiB');
  });

  it("gives the system's error for a directory or a missing file", async () => {
    await expect(readTextFile(tmpdir(), 1024)).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(readTextFile(join(tmpdir(), 'no-such-wardwatch-list'), 1024)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
