/**
 * The bench's real-traffic mix: copies of the sources become distinct flows (addresses remapped
 * the same way within a copy, private kept private), every checksum still holds, and fragments
 * of one datagram still meet, so the mix reassembles as many datagrams per copy as its sources.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCapture } from '../../src/capture/open-capture.js';
import { CapturedPacket } from '../../src/capture/packet.js';
import { PacketDecoder } from '../../src/decode/decoder.js';
import { PacketView } from '../../src/decode/packet-view.js';
import { buildRealMix } from '../../tools/bench/real-mix.js';
import { onesComplementSum } from '../../tools/craft/bytes.js';

const SOURCES = ['ip-fragments.pcap', 'ipv6-ext-headers.pcap', 'busybox-nfs-mount-udp.pcap'];
const work = mkdtempSync(join(tmpdir(), 'wardwatch-real-mix-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function frames(file: string): Promise<Buffer[]> {
  const { source } = await openCapture(file);
  const pkt = new CapturedPacket();
  const out: Buffer[] = [];
  for (;;) {
    while (source.next(pkt)) out.push(Buffer.from(pkt.data.subarray(pkt.offset, pkt.offset + pkt.caplen)));
    if (!(await source.refill())) break;
  }
  await source.close();
  return out;
}

async function reassembled(file: string): Promise<number> {
  const { source } = await openCapture(file);
  const pkt = new CapturedPacket();
  const decoder = new PacketDecoder();
  const view = new PacketView();
  for (;;) {
    while (source.next(pkt)) decoder.decode(pkt, view);
    if (!(await source.refill())) break;
  }
  await source.close();
  return decoder.defrag.stats.reassembled;
}

/** IPv4 header checksum, and for whole TCP/UDP datagrams the transport checksum, hold. */
function ipv4ChecksumsHold(f: Buffer): boolean {
  if (f.readUInt16BE(12) !== 0x0800) return true;
  const ip = 14;
  const ihl = (f[ip] & 0x0f) * 4;
  if (fold(onesComplementSum(f.subarray(ip, ip + ihl))) !== 0xffff) return false;
  const proto = f[ip + 9];
  const total = f.readUInt16BE(ip + 2);
  if ((f.readUInt16BE(ip + 6) & 0x3fff) !== 0 || (proto !== 6 && proto !== 17) || ip + total > f.length) return true;
  if (proto === 17 && f.readUInt16BE(ip + ihl + 6) === 0) return true;
  const l4 = f.subarray(ip + ihl, ip + total);
  const pseudo = Buffer.alloc(12);
  f.copy(pseudo, 0, ip + 12, ip + 20);
  pseudo[9] = proto;
  pseudo.writeUInt16BE(l4.length, 10);
  return fold(onesComplementSum(l4, onesComplementSum(pseudo))) === 0xffff;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

describe('the real-traffic mix', () => {
  it('repeats its sources as distinct, consistent copies whose checksums hold and whose fragments still reassemble', async () => {
    const dir = join(work, 'sources');
    mkdirSync(dir);
    for (const name of SOURCES) copyFileSync(join('pcaps', name), join(dir, name));
    mkdirSync(join(work, 'one'));
    const one = await buildRealMix(dir, 1, join(work, 'one'), 'one');
    expect(one.copies).toBe(1);
    mkdirSync(join(work, 'three'));
    const mix = await buildRealMix(dir, 3 * (one.fileBytes - 24) + 24, join(work, 'three'), 'three');
    expect(mix.copies).toBe(3);
    expect(mix.packets).toBe(3 * one.packets);

    const got = await frames(mix.file);
    const round = got.length / 3;
    expect(got.every(ipv4ChecksumsHold)).toBe(true);

    // Within a copy each source address maps to one address, the same /16; copies differ.
    const maps = [new Map<number, number>(), new Map<number, number>(), new Map<number, number>()];
    const first = await frames(one.file);
    for (let i = 0; i < got.length; i++) {
      const copy = Math.floor(i / round);
      const orig = first[i % round];
      if (orig.readUInt16BE(12) !== 0x0800) continue;
      for (const at of [26, 30]) {
        const a = orig.readUInt32BE(at);
        const b = got[i].readUInt32BE(at);
        expect(maps[copy].get(a) ?? b).toBe(b);
        maps[copy].set(a, b);
        expect(b >>> 16).toBe(a >>> 16);
      }
    }
    expect([...maps[0]].every(([a, b]) => a === b)).toBe(true);
    expect([...maps[1]].some(([a, b]) => a !== b)).toBe(true);
    expect([...maps[2]].every(([a, b]) => maps[1].get(a) !== b || (a >>> 28) >= 14)).toBe(true);

    const perCopy = await reassembled(one.file);
    expect(perCopy).toBeGreaterThan(0);
    expect(await reassembled(mix.file)).toBe(3 * perCopy);
  });

  it('is reused when built again from the same sources and size', async () => {
    const dir = join(work, 'sources');
    const again = await buildRealMix(dir, 1, join(work, 'one'), 'one');
    expect(again.reused).toBe(true);
  });
});
