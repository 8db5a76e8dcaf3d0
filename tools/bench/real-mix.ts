/**
 * The real-traffic mix: captures written by others (pcap or pcapng, Ethernet), merged into one
 * round by time and repeated until the requested size. Each copy is made distinct flows by
 * remapping every address the same way within the copy (IPv4: the low 16 bits, so private stays
 * private and multicast stays multicast; IPv6: bytes 8-11, the upper interface id) and shifting
 * its time after the copy before. IPv4 header checksums are recomputed, TCP, UDP and ICMPv6
 * checksums adjusted for the new pseudo-header; fragment ids are kept, so the fragments of one
 * datagram still meet. Gaps over a second in a source are cut to a second (one source holds a
 * packet twenty years before the others).
 *
 * One copy in the middle has the portmap/MOUNT client 139.25.22.2 moved to 10.20.30.40 and its
 * server 139.25.22.102 to the indicator 202.114.4.119 (when the sources hold them: the NFSv3
 * capture does), so the mix carries alerts whose sets the runs can compare.
 *
 * The result is cached in `cacheDir` under a name made of the sources' content hash and the size,
 * and reused by later runs.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CapturedPacket } from '../../src/capture/packet.js';
import { openCapture } from '../../src/capture/open-capture.js';

/** Bump when the bytes written change, so older cached mixes are not reused. */
const BUILDER_VERSION = 2;
const LINKTYPE_ETHERNET = 1;
/** 2025-01-30 10:00:00 UTC. */
const START_SEC = 1738231200;
const MAX_GAP_NS = 1_000_000_000;
const OUT_BUFFER = 8 << 20;
const PLANT_CLIENT = ipv4(139, 25, 22, 2);
const PLANT_SERVER = ipv4(139, 25, 22, 102);
const PLANTED_CLIENT = ipv4(10, 20, 30, 40);
const PLANTED_SERVER = ipv4(202, 114, 4, 119);

export interface RealMix {
  builder: number;
  file: string;
  sources: { name: string; packets: number }[];
  skipped: string[];
  copies: number;
  /** The copy whose NFS client and server were moved to raise alerts, or null. */
  plantedCopy: number | null;
  packets: number;
  fragments: number;
  fileBytes: number;
  wireBytes: number;
  captureSeconds: number;
  buildSeconds: number;
}

interface Frame {
  data: Buffer;
  /** Nanoseconds from the start of the round. */
  t: number;
}

function ipv4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function captureFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.(pcap|pcapng|cap)$/i.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** The cached mix's path for these sources and size: their content, the size, the builder. */
export function realMixPath(cacheDir: string, files: string[], sizeBytes: number, label: string): string {
  const h = createHash('sha256');
  h.update(`${BUILDER_VERSION} ${sizeBytes}\n`);
  for (const f of files) h.update(readFileSync(f));
  return join(cacheDir, `real-mix-${label}-${h.digest('hex').slice(0, 12)}.pcap`);
}

/** Builds (or reuses) the mix of the captures in `dir`: `sizeBytes` at most, the last copy cut short, and one copy at least. */
export async function buildRealMix(dir: string, sizeBytes: number, cacheDir: string, label: string, progress: (text: string) => void = () => {}): Promise<RealMix & { reused: boolean }> {
  const files = captureFiles(dir);
  if (files.length === 0) throw new Error(`${dir}: no .pcap or .pcapng captures`);
  const file = realMixPath(cacheDir, files, sizeBytes, label);
  const meta = `${file}.json`;
  if (existsSync(file) && existsSync(meta)) {
    const old = JSON.parse(readFileSync(meta, 'utf8')) as RealMix;
    if (old.builder === BUILDER_VERSION && statSync(file).size === old.fileBytes) return { ...old, reused: true };
  }

  const started = performance.now();
  const { frames, sources, skipped } = await loadRound(files);
  const roundBytes = frames.reduce((n, f) => n + 16 + f.data.length, 0);
  const copies = Math.max(1, Math.ceil((sizeBytes - 24) / roundBytes));
  const plantedCopy = Math.floor(copies / 2);
  const span = frames[frames.length - 1].t + MAX_GAP_NS;

  const fd = openSync(`${file}.part`, 'w');
  const out = Buffer.allocUnsafe(OUT_BUFFER);
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(0, 8);
  out.writeUInt32LE(0, 12);
  out.writeUInt32LE(262144, 16);
  out.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  let pos = 24;
  let fileBytes = 24;
  let wireBytes = 0;
  let fragments = 0;
  let planted = false;
  const flush = () => {
    for (let at = 0; at < pos; ) at += writeSync(fd, out, at, pos - at);
    pos = 0;
  };
  let packets = 0;
  for (let copy = 0; copy < copies; copy++) {
    const remap = new Remap(copy, copy === plantedCopy);
    for (const f of frames) {
      if (copy > 0 && fileBytes + 16 + f.data.length > sizeBytes) break;
      if (pos + 16 + f.data.length > OUT_BUFFER) flush();
      const ns = copy * span + f.t;
      const sec = START_SEC + Math.floor(ns / 1e9);
      out.writeUInt32LE(sec, pos);
      out.writeUInt32LE(Math.floor((ns % 1e9) / 1000), pos + 4);
      out.writeUInt32LE(f.data.length, pos + 8);
      out.writeUInt32LE(f.data.length, pos + 12);
      f.data.copy(out, pos + 16);
      if (remap.frame(out, pos + 16, pos + 16 + f.data.length)) fragments++;
      pos += 16 + f.data.length;
      fileBytes += 16 + f.data.length;
      wireBytes += f.data.length;
      packets++;
    }
    planted ||= remap.planted;
    progress(`${copy + 1}/${copies}`);
  }
  flush();
  closeSync(fd);
  renameSync(`${file}.part`, file);
  const mix: RealMix = {
    builder: BUILDER_VERSION,
    file,
    sources,
    skipped,
    copies,
    plantedCopy: planted ? plantedCopy : null,
    packets,
    fragments,
    fileBytes,
    wireBytes,
    captureSeconds: (copies * span) / 1e9,
    buildSeconds: (performance.now() - started) / 1000,
  };
  writeFileSync(meta, JSON.stringify(mix, null, 2) + '\n');
  return { ...mix, reused: false };
}

/** Every Ethernet frame of every source, on one clock from 0, sorted by time. */
async function loadRound(files: string[]): Promise<{ frames: Frame[]; sources: RealMix['sources']; skipped: string[] }> {
  const frames: Frame[] = [];
  const sources: RealMix['sources'] = [];
  const skipped: string[] = [];
  for (const path of files) {
    const { source } = await openCapture(path);
    const pkt = new CapturedPacket();
    let packets = 0;
    let other = 0;
    let prev: number | null = null;
    let t = 0;
    for (;;) {
      while (source.next(pkt)) {
        if (pkt.linkType !== LINKTYPE_ETHERNET) {
          other++;
          continue;
        }
        const ns = pkt.tsSec * 1e9 + pkt.tsNsec;
        if (prev !== null) t += Math.min(MAX_GAP_NS, Math.max(0, ns - prev));
        prev = ns;
        frames.push({ data: Buffer.from(pkt.data.subarray(pkt.offset, pkt.offset + pkt.caplen)), t });
        packets++;
      }
      if (!(await source.refill())) break;
    }
    await source.close();
    const name = path.split('/').pop()!;
    sources.push({ name, packets });
    if (other > 0) skipped.push(`${name}: ${other} frames of another link type left out`);
  }
  frames.sort((a, b) => a.t - b.t);
  return { frames, sources, skipped };
}

/** One copy's address map, applied to a frame in place with its checksums fixed. */
class Remap {
  planted = false;
  private readonly v4Add: number;
  private readonly v6Xor: number;

  constructor(
    copy: number,
    private readonly plant: boolean,
  ) {
    this.v4Add = (copy * 40503) & 0xffff;
    this.v6Xor = Math.imul(copy, 0x9e3779b1) >>> 0;
  }

  /** Remaps the frame at b[start, end); true when it is an IP fragment. */
  frame(b: Buffer, start: number, end: number): boolean {
    let at = start + 12;
    let type = b.readUInt16BE(at);
    while ((type === 0x8100 || type === 0x88a8) && at + 6 <= end) {
      at += 4;
      type = b.readUInt16BE(at);
    }
    const ip = at + 2;
    if (type === 0x0800 && ip + 20 <= end) return this.ipv4(b, ip, end);
    if (type === 0x86dd && ip + 40 <= end) return this.ipv6(b, ip, end);
    return false;
  }

  private mapV4(a: number): number {
    if (this.plant) {
      if (a === PLANT_CLIENT) return (this.planted = true), PLANTED_CLIENT;
      if (a === PLANT_SERVER) return (this.planted = true), PLANTED_SERVER;
    }
    if (a >>> 28 >= 14 || this.v4Add === 0) return a; // multicast, broadcast and reserved stay
    return ((a & 0xffff0000) | ((a + this.v4Add) & 0xffff)) >>> 0;
  }

  private ipv4(b: Buffer, ip: number, end: number): boolean {
    const ihl = (b[ip] & 0x0f) * 4;
    if (ihl < 20 || ip + ihl > end) return false;
    const before = sum16(b, ip + 12, ip + 20);
    b.writeUInt32BE(this.mapV4(b.readUInt32BE(ip + 12)), ip + 12);
    b.writeUInt32BE(this.mapV4(b.readUInt32BE(ip + 16)), ip + 16);
    const after = sum16(b, ip + 12, ip + 20);
    b.writeUInt16BE(0, ip + 10);
    b.writeUInt16BE(~fold(sum16(b, ip, ip + ihl)) & 0xffff, ip + 10);
    const flags = b.readUInt16BE(ip + 6);
    if ((flags & 0x1fff) === 0) adjustTransport(b, b[ip + 9], ip + ihl, end, before, after, true);
    return (flags & 0x3fff) !== 0;
  }

  private ipv6(b: Buffer, ip: number, end: number): boolean {
    const before = sum16(b, ip + 8, ip + 40);
    if (this.v6Xor !== 0) {
      for (const a of [ip + 8, ip + 24]) b.writeUInt32BE((b.readUInt32BE(a + 8) ^ this.v6Xor) >>> 0, a + 8);
    }
    const after = sum16(b, ip + 8, ip + 40);
    let next = b[ip + 6];
    let at = ip + 40;
    let fragment = false;
    for (;;) {
      if (next === 0 || next === 43 || next === 60) {
        if (at + 8 > end) return fragment;
        const len = (b[at + 1] + 1) * 8;
        next = b[at];
        at += len;
      } else if (next === 44) {
        if (at + 8 > end) return true;
        fragment = true;
        if ((b.readUInt16BE(at + 2) & 0xfff8) !== 0) return true; // not the first: no transport header
        next = b[at];
        at += 8;
      } else {
        break;
      }
    }
    adjustTransport(b, next, at, end, before, after, false);
    return fragment;
  }
}

/** Adjusts a TCP, UDP or ICMPv6 checksum at `l4` for a pseudo-header whose sum went from `before` to `after`. */
function adjustTransport(b: Buffer, protocol: number, l4: number, end: number, before: number, after: number, v4: boolean): void {
  const at = protocol === 6 ? l4 + 16 : protocol === 17 ? l4 + 6 : protocol === 58 && !v4 ? l4 + 2 : -1;
  if (at < 0 || at + 2 > end) return;
  const old = b.readUInt16BE(at);
  if (protocol === 17 && v4 && old === 0) return; // no checksum
  // RFC 1624: HC' = ~(~HC + ~m + m'), over the folded sums of the address words.
  let sum = fold((~old & 0xffff) + (~fold(before) & 0xffff) + fold(after));
  sum = ~sum & 0xffff;
  b.writeUInt16BE(protocol === 17 && sum === 0 ? 0xffff : sum, at);
}

function sum16(b: Buffer, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if ((end - start) & 1) sum += b[end - 1] << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}
