import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureError } from '../../src/capture/errors.js';
import { openCapture } from '../../src/capture/open-capture.js';
import { gzip, LINKTYPE, PcapngWriter, PcapWriter, Prng, type CaptureRecord } from '../../tools/craft/index.js';
import { readAll, removeTemp, REPO_ROOT, writeTemp } from '../support/captures.js';

afterAll(removeTemp);

const rng = new Prng(42);
const records: CaptureRecord[] = Array.from({ length: 200 }, (_, i) => ({
  sec: 1738231200 + i,
  nsec: i * 1000,
  // Random bytes do not compress, so a cut through the gzip stream lands mid-capture.
  data: rng.bytes(100 + (i % 50)),
}));

function pcapBytes(): Buffer {
  return new PcapWriter({ linkType: LINKTYPE.ETHERNET }).addAll(records).toBuffer();
}

describe('openCapture', () => {
  it('detects gzip by content even when the name says .pcap', async () => {
    const plain = await readAll(writeTemp('plain.pcap', pcapBytes()));
    const result = await readAll(writeTemp('really-gzip.pcap', gzip(pcapBytes())), { chunkSize: 64 });
    expect(result.compressed).toBe(true);
    expect(result.error).toBeNull();
    expect(result.packets).toEqual(plain.packets);
  });

  it('reads a plain capture named .gz as uncompressed', async () => {
    const result = await readAll(writeTemp('not-really.pcap.gz', pcapBytes()));
    expect(result.compressed).toBe(false);
    expect(result.error).toBeNull();
    expect(result.packets).toHaveLength(records.length);
  });

  it('reads a gzip-compressed pcapng', async () => {
    const w = new PcapngWriter();
    w.section({ byteOrder: 'be' });
    w.addInterface({ linkType: LINKTYPE.RAW });
    for (const r of records.slice(0, 10)) w.enhanced(0, r);
    const result = await readAll(writeTemp('ng.pcapng.gz', gzip(w.toBuffer())), { chunkSize: 7 });
    expect(result.compressed).toBe(true);
    expect(result.format).toBe('pcapng');
    expect(result.error).toBeNull();
    expect(result.packets.map((p) => p.tsSec)).toEqual(records.slice(0, 10).map((r) => r.sec));
  });

  it('delivers the packets before the damage of a truncated gzip and reports a CaptureError', async () => {
    const compressed = gzip(pcapBytes());
    const path = writeTemp('cut.pcap.gz', compressed.subarray(0, Math.floor(compressed.length / 2)));
    const { packets, error } = await readAll(path, { chunkSize: 256 });
    expect(packets.length).toBeGreaterThan(50);
    expect(packets.length).toBeLessThan(records.length);
    packets.forEach((p, i) => expect(p.data.equals(Buffer.from(records[i].data))).toBe(true));
    expect(error).toBeInstanceOf(CaptureError);
    expect(error?.file).toBe(path);
  });

  it('delivers every packet that decompresses before a corrupt byte, as far as zlib can decode', async () => {
    // Text compresses, so one flipped byte lands in a stream with back-references around it.
    const text = Array.from({ length: 300 }, (_, i) => ({ sec: 1738231200 + i, nsec: 0, data: Buffer.from(`MSH|^~\\&|MONITOR|ICU|HIS|HOSP|${20250130100000 + i}||ORU^R01|${i}|P|2.3\r`.repeat(3)) }));
    const plain = new PcapWriter({ linkType: LINKTYPE.RAW }).addAll(text).toBuffer();
    // The oracle: the longest prefix zlib decodes without error.
    const decodablePrefix = (bytes: Buffer): number => {
      let lo = 0;
      let hi = bytes.length;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        try {
          gunzipSync(bytes.subarray(0, mid), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
          lo = mid;
        } catch {
          hi = mid - 1;
        }
      }
      return lo;
    };
    // The first flip from a third of the way on that zlib detects well before the end.
    const original = Buffer.from(gzip(plain));
    let compressed = original;
    for (let at = Math.floor(original.length / 3); compressed === original; at++) {
      const flipped = Buffer.from(original);
      flipped[at] ^= 0xff;
      if (decodablePrefix(flipped) < original.length / 2) compressed = flipped;
    }
    // zlib may give a few wrong bytes before it sees the damage: count only what matches the original.
    const decoded = gunzipSync(compressed.subarray(0, decodablePrefix(compressed)), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    let intact = 0;
    while (intact < decoded.length && decoded[intact] === plain[intact]) intact++;
    let whole = 0;
    for (let at = 24; whole < text.length && at + 16 + text[whole].data.length <= intact; at += 16 + text[whole++].data.length);
    expect(whole).toBeLessThan(text.length);
    expect(whole).toBeGreaterThan(20);

    const path = writeTemp('flipped.pcap.gz', compressed);
    const { packets, error } = await readAll(path, { chunkSize: 4096 });
    // Every intact packet, and at most one more (made of what zlib gave before it stopped).
    expect(packets.length).toBeGreaterThanOrEqual(whole);
    expect(packets.length).toBeLessThanOrEqual(whole + 1);
    packets.slice(0, whole).forEach((p, i) => expect(p.data.equals(text[i].data)).toBe(true));
    expect(error).toBeInstanceOf(CaptureError);
  });

  it('reports a gzip cut inside its own header as a CaptureError', async () => {
    const result = await readAll(writeTemp('stub.pcap.gz', gzip(pcapBytes()).subarray(0, 6)));
    expect(result.packets).toHaveLength(0);
    expect(result.error).toBeInstanceOf(CaptureError);
  });

  it('reports a missing file and a directory as CaptureErrors', async () => {
    await expect(openCapture(join(REPO_ROOT, 'no-such-capture.pcap'))).rejects.toBeInstanceOf(CaptureError);
    await expect(openCapture(REPO_ROOT)).rejects.toThrow(/is a directory/);
  });

  it('reports the size on disk of a file', async () => {
    const bytes = gzip(pcapBytes());
    const { source, sizeOnDisk } = await openCapture(writeTemp('size.pcap.gz', bytes));
    await source.close();
    expect(sizeOnDisk).toBe(bytes.length);
  });

  for (const compressed of [false, true]) {
    it(`reads a ${compressed ? 'gzip-compressed ' : ''}capture from a FIFO, as \`replay <(zcat x.pcap.gz)\` gives it, which cannot be read by position`, async () => {
      const fifo = join(mkdtempSync(join(tmpdir(), 'wardwatch-fifo-')), 'capture');
      execFileSync('mkfifo', [fifo]);
      // The writer's open waits for the reader's, as the shell's would.
      const writer = createWriteStream(fifo);
      writer.end(compressed ? gzip(pcapBytes()) : pcapBytes());
      const result = await readAll(fifo, { chunkSize: 512 });
      expect(result.error).toBeNull();
      expect(result.compressed).toBe(compressed);
      expect(result.packets).toHaveLength(records.length);
      expect(result.packets.map((p) => p.tsSec)).toEqual(records.map((r) => r.sec));
      rmSync(dirname(fifo), { recursive: true });
    });
  }

  // Linux only: counts descriptors of this process that still point at the file.
  const openOnPath = (path: string) =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(join('/proc/self/fd', fd)) === path;
      } catch {
        return false; // closed while we looked
      }
    }).length;

  for (const compressed of [false, true]) {
    it(`leaves no file descriptor open on a ${compressed ? 'gzip-compressed' : 'plain'} capture once it is read and closed`, async () => {
      const path = writeTemp('fd.pcap', compressed ? gzip(pcapBytes()) : pcapBytes());
      for (let i = 0; i < 3; i++) {
        const result = await readAll(path);
        expect(result.packets).toHaveLength(records.length);
        expect(openOnPath(path)).toBe(0);
      }
    });

    it(`leaves no file descriptor open after refusing a ${compressed ? 'gzip-compressed ' : ''}file that is not a capture`, async () => {
      const text = Buffer.from('this is not a capture file at all\n'.repeat(20));
      const path = writeTemp('fd-text.pcap', compressed ? gzip(text) : text);
      await expect(openCapture(path)).rejects.toThrow(/not a pcap or pcapng/);
      expect(openOnPath(path)).toBe(0);
    });
  }

  for (const compressed of [false, true]) {
    it(`reads a ${compressed ? 'gzip-compressed ' : ''}capture from standard input when the path is "-"`, async () => {
      const script = `
        const { openCapture } = await import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'src/capture/open-capture.ts')).href)});
        const { CapturedPacket } = await import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'src/capture/packet.ts')).href)});
        const { source } = await openCapture('-', { chunkSize: 64 });
        const pkt = new CapturedPacket();
        let count = 0;
        for (;;) {
          while (source.next(pkt)) count++;
          if (!(await source.refill())) break;
        }
        process.stdout.write(JSON.stringify({ count, name: source.name, error: source.error && source.error.message }));
      `;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: REPO_ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      child.stdin.end(compressed ? gzip(pcapBytes()) : pcapBytes());
      expect(await exited, stderr).toBe(0);
      expect(JSON.parse(stdout)).toEqual({ count: records.length, name: '<stdin>', error: null });
    });
  }
});
