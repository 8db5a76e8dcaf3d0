/**
 * A capture file's identity for the record: its size, SHA-256 and the times of its first and last
 * packet, read in a pass of its own (the page cache serves it after the analysis read it).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { CapturedPacket } from './packet.js';
import { openCapture } from './open-capture.js';

export interface CaptureIdentity {
  sizeBytes: number;
  sha256: string;
  packets: number;
  first: [number, number] | null;
  last: [number, number] | null;
}

/** Null when the path is standard input or cannot be read again. */
export async function captureIdentity(path: string): Promise<CaptureIdentity | null> {
  if (path === '-') return null;
  try {
    const info = await stat(path);
    if (!info.isFile()) return null;
    const [sha256, times] = await Promise.all([sha256Of(path), packetTimes(path)]);
    return { sizeBytes: info.size, sha256, ...times };
  } catch {
    return null;
  }
}

function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Packets up to any damage, and the earliest and latest timestamps among them. */
async function packetTimes(path: string): Promise<Pick<CaptureIdentity, 'packets' | 'first' | 'last'>> {
  const { source } = await openCapture(path);
  const pkt = new CapturedPacket();
  let packets = 0;
  let first: [number, number] | null = null;
  let last: [number, number] | null = null;
  try {
    do {
      while (source.next(pkt)) {
        packets++;
        if (first === null || before(pkt.tsSec, pkt.tsNsec, first)) first = [pkt.tsSec, pkt.tsNsec];
        if (last === null || before(last[0], last[1], [pkt.tsSec, pkt.tsNsec])) last = [pkt.tsSec, pkt.tsNsec];
      }
    } while (await source.refill());
  } finally {
    await source.close();
  }
  return { packets, first, last };
}

function before(sec: number, nsec: number, than: [number, number]): boolean {
  return sec < than[0] || (sec === than[0] && nsec < than[1]);
}
