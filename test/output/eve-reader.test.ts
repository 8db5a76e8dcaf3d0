import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readEveFile } from '../../src/output/eve-reader.js';
import type { EveRecord } from '../../src/output/eve.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function file(content: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'wardwatch-eve-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'eve.json'), content);
  return join(dir, 'eve.json');
}

const record = (n: number): string => JSON.stringify({ event_type: 'alert', n, pad: 'x'.repeat(n % 700) });

describe('reading EVE lines back', () => {
  it('hands on every record in order across read chunks, CRLF and a last line without its newline', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => record(i)); // about 1 MiB: many 64 KiB chunks
    const path = file(lines.slice(0, 1000).join('\n') + '\n' + lines.slice(1000, 2000).join('\r\n') + '\r\n' + lines.slice(2000).join('\n'));
    const seen: number[] = [];
    const result = await readEveFile(path, (r: EveRecord) => seen.push((r as unknown as { n: number }).n));
    expect(seen).toEqual(lines.map((_, i) => i));
    expect(result).toMatchObject({ records: 3000, skipped: 0, firstBad: null });
  });

  it('skips a line too long to be a record as it streams by, and reads on after it', async () => {
    // A file that is not EVE (a capture, zeros) can run far without a newline: it was gathered into
    // one string until that failed, and the report crashed with a RangeError.
    const long = Buffer.alloc(65 * 1024 * 1024, 0x30);
    const path = file(Buffer.concat([long, Buffer.from('\n' + record(1) + '\n'), long]));
    const seen: EveRecord[] = [];
    const result = await readEveFile(path, (r) => seen.push(r));
    expect(seen).toHaveLength(1);
    expect(result).toMatchObject({ records: 1, skipped: 2, firstBad: { line: 1, why: 'longer than 64 MiB: not a record' } });
  });
});
