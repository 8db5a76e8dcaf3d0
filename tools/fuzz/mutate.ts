/**
 * Mutations of every layer, from the capture file up: records (duplicated, dropped, reordered,
 * spliced from other captures, re-timed), packet headers (IP/TCP/UDP lengths, offsets, flags,
 * fragments), application framing (MLLP bytes, RPC record marks, CMS8000 block lengths, HL7 text),
 * and the file itself (caplen/origlen, pcapng block lengths in the header or the trailer, bit
 * flips, truncation, inserted and deleted bytes, gzip damage).
 *
 * Everything is drawn from one Prng seeded by (fuzz seed, input index), so an input can be
 * rebuilt from those two numbers alone, and every mutation is described in JSON for the note.
 */
import { gzipSync } from 'node:zlib';
import { Prng } from '../craft/prng.js';
import {
  PCAPNG_IDB,
  PCAPNG_SHB,
  cloneModel,
  interfaceBody,
  toPcapng,
  packetFor,
  writeCapture,
  type CaptureModel,
  type Field,
  type Item,
  type PacketItem,
} from './capture-model.js';
import type { Seed } from './corpus.js';
import { locate, type Layers } from './packet-layers.js';
import type { RunOptions } from './run-input.js';

export type Mutation = { op: string } & Record<string, unknown>;

export interface FuzzInput {
  index: number;
  seed: string;
  format: 'pcap' | 'pcapng';
  gzip: boolean;
  bytes: Buffer;
  mutations: Mutation[];
  run: RunOptions;
}

/** Inputs stay below this, so each runs in milliseconds. */
const MAX_INPUT_BYTES = 2 * 1024 * 1024;

const U32_VALUES = [
  0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 16, 20, 24, 28, 31, 32, 0x7f, 0x80, 0xff, 0x100, 0x3fff, 0x4000, 0x4001, 0x7fff, 0x8000, 0xfffe,
  0xffff, 0x10000, 0x40000, 0x40001, 0xffffff, 0x1000000, 0x1000001, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffff0, 0xfffffffc, 0xffffffff,
];
const U16_VALUES = [0, 1, 2, 4, 7, 8, 19, 20, 21, 39, 40, 41, 0xad, 0x3fff, 0x4000, 0x4001, 0x7fff, 0x8000, 0xfffe, 0xffff];
const BYTE_VALUES = [0x00, 0x01, 0x05, 0x0a, 0x0b, 0x0d, 0x1c, 0x20, 0x3e, 0x46, 0x7c, 0x7f, 0x80, 0xfe, 0xff];
const PORTS = [0, 53, 111, 511, 514, 515, 517, 2049, 2575, 4789, 20048, 65535];
const ADDRESSES_V4 = [
  [202, 114, 4, 119],
  [202, 114, 4, 77],
  [10, 20, 30, 40],
  [0, 0, 0, 0],
  [255, 255, 255, 255],
  [127, 0, 0, 1],
  [224, 0, 0, 1],
];
const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147, 0xffff];

const xdrPadded = (n: number): number => n + ((4 - (n % 4)) % 4);

/** A seed for input `index` of the run seeded `seed`; distinct indexes give unrelated streams. */
export function inputSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function generateInput(corpus: readonly Seed[], seed: number, index: number): FuzzInput {
  const rng = new Prng(inputSeed(seed, index));
  const source = rng.pick(corpus);
  let model = cloneModel(source.model);
  // Most seeds are pcap: a share of them is read as pcapng, in either byte order and time resolution.
  if (model.format === 'pcap' && rng.next() < 0.3) model = toPcapng(model, rng.next() < 0.7, rng.pick([6, 6, 9, 3, 0]));
  const m = new Mutator(rng, corpus, model);
  const run: RunOptions = {
    evidence: rng.pick(['redacted', 'redacted', 'full', 'none'] as const),
    chunkSize: rng.pick([undefined, undefined, 64, 1000, 65536]),
    tightCaps: rng.next() < 0.3,
  };
  // One mutation, then each further one with half the chance of the one before.
  const count = 1 + Math.min(7, Math.floor(-Math.log2(1 - rng.next())));
  let fileOps = 0;
  for (let i = 0; i < count; i++) {
    const roll = rng.next();
    if (roll < 0.22) m.recordMutation();
    else if (roll < 0.55) m.packetMutation();
    else if (roll < 0.72) m.appMutation();
    else fileOps++;
  }
  const written = writeCapture(m.model);
  let bytes = written.bytes;
  // Field offsets are those of the written file: after an insertion or deletion they aim a little off, which is fine.
  for (let i = 0; i < fileOps; i++) bytes = m.fileMutation(bytes, written.fields, written.starts);
  const gzip = m.model.gzip || rng.next() < 0.03;
  if (gzip) {
    bytes = gzipSync(bytes, { level: 1 });
    if (rng.next() < 0.3) bytes = m.gzipDamage(bytes);
  }
  if (bytes.length > MAX_INPUT_BYTES) bytes = bytes.subarray(0, MAX_INPUT_BYTES);
  return { index, seed: source.name, format: m.model.format, gzip, bytes, mutations: m.log, run };
}

interface Picked {
  p: PacketItem;
  layers: Layers | null;
  /** Index of the item in the model. */
  at: number;
}

class Mutator {
  readonly log: Mutation[] = [];

  constructor(
    private readonly rng: Prng,
    private readonly corpus: readonly Seed[],
    readonly model: CaptureModel,
  ) {}

  private get items(): Item[] {
    return this.model.items;
  }

  private note(op: string, details: Record<string, unknown> = {}): void {
    this.log.push({ op, ...details });
  }

  private chance(p: number): boolean {
    return this.rng.next() < p;
  }

  private u32Value(original?: number): number {
    if (original !== undefined && this.chance(0.3)) return (original + this.rng.int(-16, 16)) >>> 0;
    if (this.chance(0.1)) return this.rng.int(0, 0xffffffff);
    return this.rng.pick(U32_VALUES);
  }

  private u16Value(original?: number): number {
    if (original !== undefined && this.chance(0.3)) return (original + this.rng.int(-8, 8)) & 0xffff;
    if (this.chance(0.1)) return this.rng.int(0, 0xffff);
    return this.rng.pick(U16_VALUES);
  }

  private packets(): number[] {
    const out: number[] = [];
    this.items.forEach((item, i) => {
      if (item.kind === 'packet') out.push(i);
    });
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Records

  recordMutation(): void {
    const items = this.items;
    if (items.length === 0) return;
    const rng = this.rng;
    const i = rng.int(0, items.length - 1);
    switch (rng.int(0, 8)) {
      case 8:
        return this.fanOut();
      case 0: {
        const copies = this.chance(0.1) ? rng.int(10, 200) : rng.int(1, 3);
        const copy = items[i];
        items.splice(i + 1, 0, ...Array.from({ length: copies }, () => copy));
        return this.note('record.duplicate', { record: i, copies });
      }
      case 1:
        items.splice(i, 1);
        return this.note('record.drop', { record: i });
      case 2: {
        const j = rng.int(0, items.length - 1);
        [items[i], items[j]] = [items[j], items[i]];
        return this.note('record.swap', { record: i, with: j });
      }
      case 3: {
        const j = rng.int(i, Math.min(items.length - 1, i + 16));
        items.splice(i, j - i + 1, ...items.slice(i, j + 1).reverse());
        return this.note('record.reverse', { from: i, to: j });
      }
      case 4:
      case 5: {
        const other = rng.pick(this.corpus);
        const from = other.model.items;
        const j = rng.int(0, from.length - 1);
        const count = Math.min(from.length - j, this.chance(0.2) ? rng.int(2, 20) : 1);
        const taken: Item[] = [];
        for (const item of from.slice(j, j + count)) {
          if (item.kind === 'packet') taken.push(packetFor(this.model.format, { ...item, data: Buffer.from(item.data) }));
          else if (this.model.format === 'pcapng') taken.push({ ...item, body: Buffer.from(item.body) });
        }
        items.splice(i, 0, ...taken);
        return this.note('record.splice', { from: other.name, records: [j, j + count], at: i });
      }
      case 6: {
        const p = this.pickPacket()?.p;
        if (p === undefined) return;
        const choice = rng.int(0, 4);
        if (choice === 0) p.tsHigh = rng.pick([0, 0x7fffffff, 0xffffffff, 0x80000000]);
        else if (choice === 1) p.tsLow = rng.pick([0, 999_999, 1_000_000, 999_999_999, 1_000_000_000, 0xffffffff]);
        else if (choice === 2) p.tsHigh = (p.tsHigh - rng.int(1, 100_000)) >>> 0; // back in time
        else if (choice === 3) p.tsHigh = (p.tsHigh + rng.int(60, 100_000)) >>> 0; // past every time-out
        else {
          p.tsHigh = 0xffffffff;
          p.tsLow = 0xffffffff;
        }
        return this.note('record.timestamp', { choice, tsHigh: p.tsHigh, tsLow: p.tsLow });
      }
      default: {
        if (this.model.format !== 'pcapng') return this.recordMutation();
        // A new interface description: link type, snap length, time resolution and offset.
        const idbs = items.map((it, k) => (it.kind === 'block' && it.type === PCAPNG_IDB ? k : -1)).filter((k) => k >= 0);
        const options: Array<[number, Buffer]> = [];
        if (this.chance(0.6)) options.push([9, Buffer.from([rng.pick([0, 3, 6, 9, 19, 63, 0x7f, 0x80, 0x8a, 0x9e, 0xbf, 0xff])])]);
        if (this.chance(0.4)) {
          const offset = Buffer.alloc(8);
          offset.writeBigUInt64LE(rng.pick([0n, 1n, 0x7fffffffn, 0xffffffffn, 0x1_0000_0000n, 0x7fffffffffffffffn, 0xffffffffffffffffn]));
          options.push([14, offset]);
        }
        const body = interfaceBody(rng.pick(LINK_TYPES), rng.pick([0, 1, 14, 40, 64, 65535, 262144, 0xffffffff]), options, this.model.le);
        if (idbs.length > 0 && this.chance(0.7)) {
          const k = rng.pick(idbs);
          items[k] = { kind: 'block', type: PCAPNG_IDB, body };
          return this.note('pcapng.interface', { replaced: k, body: body.toString('hex') });
        }
        items.splice(i, 0, { kind: 'block', type: this.chance(0.2) ? PCAPNG_SHB : PCAPNG_IDB, body });
        return this.note('pcapng.block', { at: i, body: body.toString('hex') });
      }
    }
  }

  /** One packet sent from many source ports: many flows, so the flow table must evict. */
  private fanOut(): void {
    const picked = this.pickPacket((l) => (l.proto === 6 || l.proto === 17) && !l.fragment && l.transport + 4 <= l.end);
    if (picked === null || picked.layers === null) return;
    const count = this.rng.int(20, 300);
    const port = picked.layers.transport;
    const copies: PacketItem[] = [];
    for (let k = 0; k < count; k++) {
      const data = Buffer.from(picked.p.data);
      data.writeUInt16BE((data.readUInt16BE(port) + 1 + k) & 0xffff, port);
      copies.push({ ...picked.p, data });
    }
    this.items.splice(picked.at + 1, 0, ...copies);
    this.note('record.fan_out', { record: picked.at, count });
  }

  // -------------------------------------------------------------------------------------------
  // Packet headers

  private pickPacket(want?: (l: Layers) => boolean): Picked | null {
    const packets = this.packets();
    if (packets.length === 0) return null;
    for (let tries = 0; tries < 12; tries++) {
      const at = this.rng.pick(packets);
      const p = this.items[at] as PacketItem;
      const layers = locate(p.linkType, p.data);
      if (want === undefined || (layers !== null && want(layers))) {
        // Items may be shared after a duplication: give this one its own bytes.
        const own: PacketItem = { ...p, data: Buffer.from(p.data) };
        this.items[at] = own;
        return { p: own, layers, at };
      }
    }
    return null;
  }

  packetMutation(): void {
    const rng = this.rng;
    const choice = rng.int(0, 14);
    if (choice === 14) return this.resegment();
    if (choice === 0) {
      const picked = this.pickPacket();
      if (picked === null) return;
      const p = picked.p;
      const keepOriglen = this.chance(0.5);
      const cut = rng.int(0, p.data.length);
      p.data = p.data.subarray(0, cut);
      if (!keepOriglen) p.origlen = cut;
      return this.note('packet.truncate', { record: picked.at, length: cut, origlen: p.origlen });
    }
    if (choice === 1) {
      const picked = this.pickPacket();
      if (picked === null) return;
      const p = picked.p;
      const extra = this.chance(0.5) ? rng.bytes(rng.int(1, 64)) : Buffer.from(p.data.subarray(rng.int(0, p.data.length)));
      p.data = Buffer.concat([p.data, extra]);
      if (this.chance(0.5)) p.origlen = p.data.length;
      return this.note('packet.extend', { record: picked.at, added: extra.length });
    }
    if (choice === 2) return this.chance(0.85) ? this.fragment() : this.fragmentFlood();
    const p = this.pickPacket((l) => l !== null);
    if (p === null || p.layers === null) return;
    const l = p.layers;
    const d = p.p.data;
    const ip = l.ip;
    switch (choice) {
      case 3:
        if (l.version === 4) {
          const v = this.u16Value(d.readUInt16BE(ip + 2));
          d.writeUInt16BE(v, ip + 2);
          return this.note('ipv4.total_length', { record: p.at, value: v });
        } else {
          const v = this.u16Value(d.readUInt16BE(ip + 4));
          d.writeUInt16BE(v, ip + 4);
          return this.note('ipv6.payload_length', { record: p.at, value: v });
        }
      case 4:
        if (l.version === 4) {
          const v = rng.int(0, 15);
          d[ip] = 0x40 | v;
          return this.note('ipv4.ihl', { record: p.at, value: v });
        } else {
          const v = rng.pick([0, 6, 17, 43, 44, 50, 51, 58, 59, 60, 135, 139, 140, 255]);
          d[ip + 6] = v;
          return this.note('ipv6.next_header', { record: p.at, value: v });
        }
      case 5: {
        if (l.version !== 4) return;
        const id = this.chance(0.5) ? d.readUInt16BE(ip + 4) : rng.int(0, 0xffff);
        const flags = rng.pick([0x2000, 0x2000, 0x0000, 0x4000, 0x6000]) | rng.pick([0, 1, 2, 8, 0x1fff, rng.int(0, 0x1fff)]);
        d.writeUInt16BE(id, ip + 4);
        d.writeUInt16BE(flags, ip + 6);
        return this.note('ipv4.fragment_field', { record: p.at, id, value: flags });
      }
      case 6: {
        const v = rng.pick([1, 6, 17, 47, 58, 0, 4, 41, 50, 132, 255]);
        d[l.version === 4 ? ip + 9 : ip + 6] = v;
        return this.note('ip.protocol', { record: p.at, value: v });
      }
      case 7: {
        if (l.version !== 4) return;
        const which = rng.int(0, 1);
        const addr = rng.pick(ADDRESSES_V4);
        d.set(addr, ip + 12 + 4 * which);
        return this.note('ipv4.address', { record: p.at, side: which === 0 ? 'src' : 'dst', value: addr.join('.') });
      }
      case 8: {
        if (l.transport + 4 > l.end || (l.proto !== 6 && l.proto !== 17)) return;
        const side = rng.int(0, 1);
        const v = rng.pick(PORTS);
        d.writeUInt16BE(v, l.transport + 2 * side);
        return this.note('port', { record: p.at, side: side === 0 ? 'src' : 'dst', value: v });
      }
      case 9: {
        if (l.proto !== 6 || l.transport + 20 > l.end) return;
        const v = rng.int(0, 15);
        d[l.transport + 12] = (v << 4) | (d[l.transport + 12] & 0x0f);
        return this.note('tcp.data_offset', { record: p.at, value: v });
      }
      case 10: {
        if (l.proto !== 6 || l.transport + 20 > l.end) return;
        const field = rng.pick(['seq', 'ack'] as const);
        const at = l.transport + (field === 'seq' ? 4 : 8);
        const old = d.readUInt32BE(at);
        const delta = rng.pick([1, -1, 1460, -1460, 0x10000, 0x1000000, 0x7fffffff, 0x80000000, 0xc0000000, rng.int(0, 0xffffffff)]);
        d.writeUInt32BE((old + delta) >>> 0, at);
        return this.note('tcp.sequence', { record: p.at, field, delta });
      }
      case 11: {
        if (l.proto !== 6 || l.transport + 20 > l.end) return;
        const v = rng.pick([0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x10, 0x11, 0x12, 0x14, 0x18, 0x29, 0xff, rng.int(0, 255)]);
        d[l.transport + 13] = v;
        return this.note('tcp.flags', { record: p.at, value: v });
      }
      case 12: {
        if (l.proto !== 17 || l.transport + 8 > l.end) return;
        const v = this.u16Value(d.readUInt16BE(l.transport + 4));
        d.writeUInt16BE(v, l.transport + 4);
        return this.note('udp.length', { record: p.at, value: v });
      }
      default: {
        // Header bytes anywhere from the link layer to the end of the transport header.
        const end = Math.max(1, Math.min(d.length, l.payload));
        const n = rng.int(1, 4);
        const at: number[] = [];
        for (let k = 0; k < n; k++) {
          const o = rng.int(0, end - 1);
          d[o] ^= 1 << rng.int(0, 7);
          at.push(o);
        }
        return this.note('header.flip', { record: p.at, offsets: at });
      }
    }
  }

  /** Splits a TCP segment into tiny ones: reordered, overlapping with other bytes, or one missing. */
  private resegment(): void {
    const rng = this.rng;
    const picked = this.pickPacket((l) => l.proto === 6 && !l.fragment && l.end - l.payload >= 2 && l.payload - l.transport >= 20);
    if (picked === null || picked.layers === null) return;
    const l = picked.layers;
    const d = picked.p.data;
    const size = rng.int(1, 16);
    const seq = d.readUInt32BE(l.transport + 4);
    const pieces: Array<{ offset: number; data: Buffer }> = [];
    for (let off = l.payload; off < l.end; off += size) pieces.push({ offset: off - l.payload, data: d.subarray(off, Math.min(l.end, off + size)) });
    const how = rng.pick(['reverse', 'shuffle', 'overlap', 'drop', 'in-order'] as const);
    if (how === 'reverse') pieces.reverse();
    else if (how === 'shuffle') {
      for (let k = pieces.length - 1; k > 0; k--) {
        const j = rng.int(0, k);
        [pieces[k], pieces[j]] = [pieces[j], pieces[k]];
      }
    } else if (how === 'overlap') pieces.splice(rng.int(0, pieces.length), 0, { offset: rng.int(0, l.end - l.payload - 1), data: rng.bytes(rng.int(1, 2 * size)) });
    else if (how === 'drop' && pieces.length > 1) pieces.splice(rng.int(0, pieces.length - 2), 1);
    const frames = pieces.map((piece) => {
      const data = Buffer.concat([d.subarray(0, l.payload), piece.data]);
      data.writeUInt32BE((seq + piece.offset) >>> 0, l.transport + 4);
      const ipLength = data.length - l.ip;
      if (l.version === 4) data.writeUInt16BE(Math.min(0xffff, ipLength), l.ip + 2);
      else data.writeUInt16BE(Math.min(0xffff, ipLength - 40), l.ip + 4);
      const frame: PacketItem = { ...picked.p, data, origlen: data.length };
      return frame;
    });
    this.items.splice(picked.at, 1, ...frames);
    this.note('tcp.resegment', { record: picked.at, size, how, pieces: pieces.length });
  }

  /**
   * One IPv4 datagram that never completes: its last piece, then the same middle piece over and
   * over (the first 8 bytes never come), up to the per-datagram fragment limit.
   */
  private fragmentFlood(): void {
    const rng = this.rng;
    const p = this.pickPacket((l) => l.version === 4 && !l.fragment && l.end - l.transport >= 64);
    if (p === null || p.layers === null) return;
    const l = p.layers;
    const d = p.p.data;
    const link = d.subarray(0, l.ip);
    const head = Buffer.from(d.subarray(l.ip, l.transport));
    // The datagram's own bytes, repeated up to a full Ethernet MTU's worth when asked.
    const own = d.subarray(l.transport, l.end);
    const middle = this.chance(0.5) ? Math.max(8, (own.length - 16) & ~7) : 8 * rng.int(16, 185);
    const body = Buffer.alloc(middle + 16);
    for (let k = 0; k < body.length; k += own.length) own.copy(body, k);
    const copies = rng.int(64, 1200);
    const frame = (offset: number, data: Buffer, more: boolean): PacketItem => {
      const ipPart = Buffer.concat([head, data]);
      ipPart.writeUInt16BE(ipPart.length, 2);
      ipPart.writeUInt16BE((more ? 0x2000 : 0) | (offset >> 3), 6);
      const frameData = Buffer.concat([link, ipPart]);
      return { ...p.p, data: frameData, origlen: frameData.length };
    };
    const tail = frame(8 + middle, Buffer.from(body.subarray(8 + middle)), false);
    const piece = frame(8, Buffer.from(body.subarray(8, 8 + middle)), true);
    this.items.splice(p.at, 1, tail, ...Array.from({ length: copies }, () => piece));
    this.note('ip.fragment_flood', { record: p.at, middle, copies });
  }

  /** Splits an IP packet into fragments: out of order, overlapping with other bytes, or one missing. */
  private fragment(): void {
    const rng = this.rng;
    const p = this.pickPacket((l) => !l.fragment && l.end - l.transport >= 16);
    if (p === null || p.layers === null) return;
    const l = p.layers;
    const d = p.p.data;
    const link = d.subarray(0, l.ip);
    const head = Buffer.from(d.subarray(l.ip, l.transport));
    const body = d.subarray(l.transport, l.end);
    const size = 8 * rng.int(1, Math.max(1, Math.floor(body.length / 16)));
    const pieces: Array<{ offset: number; data: Buffer; more: boolean }> = [];
    for (let off = 0; off < body.length; off += size) {
      const data = body.subarray(off, Math.min(body.length, off + size));
      pieces.push({ offset: off, data, more: off + data.length < body.length });
    }
    const how = rng.pick(['reverse', 'shuffle', 'overlap', 'drop', 'duplicate', 'in-order'] as const);
    if (how === 'reverse') pieces.reverse();
    else if (how === 'shuffle') {
      for (let k = pieces.length - 1; k > 0; k--) {
        const j = rng.int(0, k);
        [pieces[k], pieces[j]] = [pieces[j], pieces[k]];
      }
    } else if (how === 'overlap') {
      const at = 8 * rng.int(0, Math.floor((body.length - 1) / 8));
      pieces.splice(rng.int(0, pieces.length), 0, { offset: at, data: rng.bytes(rng.int(1, size + 16)), more: true });
    } else if (how === 'drop' && pieces.length > 1) pieces.splice(rng.int(0, pieces.length - 1), 1);
    else if (how === 'duplicate') pieces.push(rng.pick(pieces));
    const id = rng.int(0, 0xffff);
    const frames = pieces.map((piece) => {
      let ipPart: Buffer;
      if (l.version === 4) {
        ipPart = Buffer.concat([head, piece.data]);
        ipPart.writeUInt16BE(ipPart.length, 2);
        ipPart.writeUInt16BE(id, 4);
        ipPart.writeUInt16BE((piece.more ? 0x2000 : 0) | (piece.offset >> 3), 6);
      } else {
        const fixed = Buffer.from(head.subarray(0, 40));
        const fragHeader = Buffer.alloc(8);
        fragHeader[0] = fixed[6];
        fixed[6] = 44;
        fragHeader.writeUInt16BE(piece.offset | (piece.more ? 1 : 0), 2);
        fragHeader.writeUInt32BE(id, 4);
        // Extension headers between the fixed header and the transport stay in the fragmentable part.
        const rest = Buffer.concat([head.subarray(40), piece.data]);
        ipPart = Buffer.concat([fixed, fragHeader, rest]);
        ipPart.writeUInt16BE(ipPart.length - 40, 4);
      }
      const data = Buffer.concat([link, ipPart]);
      const frame: PacketItem = { ...p.p, data, origlen: data.length };
      return frame;
    });
    this.items.splice(p.at, 1, ...frames);
    this.note('ip.fragment', { record: p.at, version: l.version, size, how, pieces: pieces.map((x) => [x.offset, x.data.length]) });
  }

  // -------------------------------------------------------------------------------------------
  // Application framing

  appMutation(): void {
    const rng = this.rng;
    const p = this.pickPacket((l) => l.end - l.payload >= 4);
    if (p === null || p.layers === null) return;
    const l = p.layers;
    const d = p.p.data;
    const payload = d.subarray(l.payload, l.end);
    const choice = rng.int(0, 7);
    if (choice === 7) return this.partialView(p);
    if (choice === 0) {
      // MLLP framing: a start or end byte removed, doubled, moved or made up.
      const marks: number[] = [];
      payload.forEach((b, k) => {
        if (b === 0x0b || b === 0x1c) marks.push(k);
      });
      const how = marks.length === 0 ? 'insert' : rng.pick(['delete', 'double', 'swap', 'insert', 'strip-ends'] as const);
      const at = marks.length === 0 ? rng.int(0, payload.length) : rng.pick(marks);
      let next: Buffer;
      if (how === 'delete') next = Buffer.concat([payload.subarray(0, at), payload.subarray(at + 1)]);
      else if (how === 'double') next = Buffer.concat([payload.subarray(0, at + 1), payload.subarray(at)]);
      else if (how === 'swap') {
        next = Buffer.from(payload);
        next[at] = next[at] === 0x0b ? 0x1c : 0x0b;
      } else if (how === 'insert') next = Buffer.concat([payload.subarray(0, at), Buffer.from([rng.pick([0x0b, 0x1c, 0x0d])]), payload.subarray(at)]);
      else next = Buffer.from(payload.filter((b) => b !== 0x1c));
      this.replacePayload(p, next);
      return this.note('mllp', { record: p.at, how, at });
    }
    if (choice === 1) {
      if (this.chance(0.5)) return this.rpcMutation(p, payload);
      // ONC RPC record mark at the start of the payload (TCP), or an XDR length inside it.
      const at = this.chance(0.6) ? 0 : 4 * rng.int(0, Math.floor(payload.length / 4) - 1);
      const old = payload.readUInt32BE(at);
      const v = rng.pick([0x80000000, 0xffffffff, 0x7fffffff, 0, 4, 0x80000004, 0x80000028, (old ^ 0x80000000) >>> 0, (old + 1) >>> 0, (old - 1) >>> 0, this.u32Value(old)]);
      payload.writeUInt32BE(v >>> 0, at);
      return this.note('rpc.u32', { record: p.at, offset: at, value: v >>> 0 });
    }
    if (choice === 2) {
      // CMS8000 block header: length (u16le), marker 0x05, type.
      const heads: number[] = [];
      for (let k = 0; k + 4 <= payload.length; k++) {
        if (payload[k + 2] === 0x05 && [0x3e, 0x43, 0x45, 0x46, 0x47, 0x49].includes(payload[k + 3])) heads.push(k);
      }
      const at = heads.length > 0 ? rng.pick(heads) : rng.int(0, payload.length - 4);
      const what = rng.pick(['length', 'length', 'length', 'marker', 'type'] as const);
      if (what === 'length') {
        const v = rng.pick([0, 1, 2, 3, 5, 6, 0xaf, 0xb0, 0x3fff, 0x4000, 0x4001, 0xffff, (payload.readUInt16LE(at) + rng.int(-3, 3)) & 0xffff]);
        payload.writeUInt16LE(v, at);
        return this.note('cms8000.length', { record: p.at, offset: at, value: v });
      }
      const v = what === 'marker' ? rng.pick([0x00, 0x04, 0x06, 0xff]) : rng.pick([0x3e, 0x43, 0x45, 0x46, 0x47, 0x49, 0x00, 0x48, 0xff]);
      payload[at + (what === 'marker' ? 2 : 3)] = v;
      return this.note(`cms8000.${what}`, { record: p.at, offset: at, value: v });
    }
    if (choice === 3) {
      // HL7 text: separators, segment ends and header fields.
      const text = payload.toString('latin1');
      const msh = text.indexOf('MSH');
      const how = rng.pick(['separator', 'cr-to-lf', 'cut-header', 'long-segment', 'encoding', 'msh-again'] as const);
      let next: Buffer;
      if (how === 'separator' && msh >= 0 && msh + 3 < payload.length) {
        next = Buffer.from(payload);
        next[msh + 3] = rng.pick([0x41, 0x20, 0x00, 0x0d, 0x7c, 0x5e]);
      } else if (how === 'cr-to-lf') next = Buffer.from(text.replace(/\r/g, rng.pick(['\n', '\r\n', '', '\r\r'])), 'latin1');
      else if (how === 'cut-header' && msh >= 0) next = Buffer.from(payload.subarray(0, msh + rng.int(3, 40)));
      else if (how === 'long-segment') {
        const at = rng.int(0, payload.length);
        next = Buffer.concat([payload.subarray(0, at), Buffer.from('OBX|' + 'A'.repeat(rng.int(100, 8000))), payload.subarray(at)]);
      } else if (how === 'encoding' && msh >= 0 && msh + 8 < payload.length) {
        next = Buffer.from(payload);
        for (let k = 4; k < 8; k++) next[msh + k] = rng.pick([0x7c, 0x5e, 0x41, 0x00, 0x0d]);
      } else {
        const at = rng.int(0, payload.length);
        next = Buffer.concat([payload.subarray(0, at), Buffer.from('\rMSH|^~\\&|A|B|C|D|20250130||ORU^R01|X|P|2.3\r'), payload.subarray(at)]);
      }
      this.replacePayload(p, next);
      return this.note('hl7', { record: p.at, how });
    }
    if (choice === 4) {
      // Payload bytes: flips and interesting values.
      const n = rng.int(1, 8);
      for (let k = 0; k < n; k++) {
        const at = rng.int(0, payload.length - 1);
        if (this.chance(0.5)) payload[at] ^= 1 << rng.int(0, 7);
        else payload[at] = rng.pick(BYTE_VALUES);
      }
      return this.note('payload.bytes', { record: p.at, count: n });
    }
    if (choice === 5) {
      // Payload cut or grown, with the IP/UDP lengths following (or not).
      const fix = this.chance(0.7);
      const next = this.chance(0.5) ? payload.subarray(0, rng.int(0, payload.length)) : Buffer.concat([payload, payload.subarray(0, rng.int(1, payload.length))]);
      this.replacePayload(p, next, fix);
      return this.note('payload.resize', { record: p.at, length: next.length, lengthsFixed: fix });
    }
    // Several payload segments repeated: retransmissions that disagree.
    const at = rng.int(0, payload.length - 1);
    payload[at] = (payload[at] + 1) & 0xff;
    const copies = rng.int(1, 3);
    this.items.splice(p.at + 1, 0, ...Array.from({ length: copies }, () => ({ ...(this.items[p.at] as PacketItem), data: Buffer.from(d) })));
    payload[at] = (payload[at] - 1) & 0xff;
    return this.note('payload.conflicting_copy', { record: p.at, offset: at, copies });
  }

  /**
   * What a sensor that does not see everything gets, for the analyzers' resynchronisation: the
   * capture starting at this packet (a mid-stream pickup), this packet lost (a gap the peer's ACK
   * covers), or every packet from here cut by a snap length.
   */
  private partialView(p: Picked): void {
    const rng = this.rng;
    const how = rng.pick(['midstream', 'lose', 'snap'] as const);
    if (how === 'midstream') {
      const before = this.packets().filter((i) => i < p.at);
      const drop = new Set(before.slice(0, rng.int(1, Math.max(1, before.length))));
      this.model.items = this.items.filter((_item, i) => !drop.has(i));
      return this.note('stream.midstream', { record: p.at, dropped: drop.size });
    }
    if (how === 'lose') {
      this.items.splice(p.at, 1);
      return this.note('stream.lose', { record: p.at });
    }
    const snap = rng.pick([60, 96, 128, 200, rng.int(40, 300)]);
    let cut = 0;
    for (const i of this.packets()) {
      const item = this.items[i] as PacketItem;
      if (i < p.at || item.data.length <= snap) continue;
      item.data = item.data.subarray(0, snap);
      cut++;
    }
    return this.note('stream.snap', { record: p.at, snap, cut });
  }

  /**
   * ONC RPC beyond the standard: credentials or a verifier over RFC 5531's 400 bytes (grown in
   * place, lengths and record mark kept consistent), auth lengths that lie, and TCP flows picked
   * up mid-stream (every SYN dropped, and perhaps a flow's first data segment with it).
   */
  private rpcMutation(p: Picked, payload: Buffer): void {
    const rng = this.rng;
    const how = rng.pick(['auth-grow', 'auth-grow', 'auth-length', 'midstream'] as const);
    if (how === 'midstream') {
      const dropFirstData = this.chance(0.5);
      const before = this.items.length;
      const seen = new Set<string>();
      this.model.items = this.items.filter((item) => {
        if (item.kind !== 'packet') return true;
        const l = locate(item.linkType, item.data);
        if (l === null || l.proto !== 6 || l.fragment || l.transport + 14 > item.data.length) return true;
        if ((item.data[l.transport + 13] & 0x02) !== 0) return false;
        if (!dropFirstData || l.end <= l.payload) return true;
        const addresses = l.version === 4 ? item.data.subarray(l.ip + 12, l.ip + 20) : item.data.subarray(l.ip + 8, l.ip + 40);
        const key = addresses.toString('hex') + item.data.subarray(l.transport, l.transport + 4).toString('hex');
        if (seen.has(key)) return true;
        seen.add(key);
        return false;
      });
      return this.note('rpc.midstream', { dropped: before - this.items.length, dropFirstData });
    }
    // A packet holding a call header: msg_type 0 and rpcvers 2, 4-aligned in the payload.
    const callsIn = (data: Uint8Array, l: Layers): number[] => {
      const found: number[] = [];
      const b = Buffer.from(data.buffer, data.byteOffset + l.payload, l.end - l.payload);
      for (let k = 0; k + 36 <= b.length; k += 4) if (b.readUInt32BE(k + 4) === 0 && b.readUInt32BE(k + 8) === 2) found.push(k);
      return found;
    };
    const withCalls = this.packets().filter((i) => {
      const item = this.items[i] as PacketItem;
      const l = locate(item.linkType, item.data);
      return l !== null && (l.proto === 6 || l.proto === 17) && !l.fragment && callsIn(item.data, l).length > 0;
    });
    if (withCalls.length === 0) return this.note('rpc.no_call', { record: p.at });
    const at = rng.pick(withCalls);
    const own: PacketItem = { ...(this.items[at] as PacketItem) };
    own.data = Buffer.from(own.data);
    this.items[at] = own;
    p = { p: own, layers: locate(own.linkType, own.data), at };
    payload = own.data.subarray(p.layers!.payload, p.layers!.end);
    const calls = callsIn(own.data, p.layers!);
    const k = rng.pick(calls);
    const lengthAt = this.chance(0.7) ? k + 28 : k + 32 + xdrPadded(payload.readUInt32BE(k + 28)) + 4; // credentials or verifier
    if (lengthAt + 4 > payload.length) return this.note('rpc.no_call', { record: p.at });
    const length = payload.readUInt32BE(lengthAt);
    if (how === 'auth-length') {
      const v = rng.pick([397, 400, 401, 404, 0x1000, 0x7ffffffc, 0xfffffffc, 0xffffffff, (length + 4) >>> 0, (length - 4) >>> 0]);
      payload.writeUInt32BE(v >>> 0, lengthAt);
      return this.note('rpc.auth_length', { record: p.at, offset: lengthAt, value: v >>> 0 });
    }
    const grow = 4 * rng.int(1, rng.pick([2, 110, 800]));
    const next = Buffer.concat([payload.subarray(0, lengthAt + 4), rng.bytes(grow), payload.subarray(lengthAt + 4)]);
    next.writeUInt32BE((length + grow) >>> 0, lengthAt);
    if (k === 4) next.writeUInt32BE((next.readUInt32BE(0) + grow) >>> 0, 0); // the record mark in front
    this.replacePayload(p, next);
    return this.note('rpc.auth_grow', { record: p.at, offset: lengthAt, grow });
  }

  /** Replaces a packet's payload; `fix` updates the IP and UDP length fields to match. */
  private replacePayload(picked: Picked, payload: Buffer, fix = true): void {
    const l = picked.layers!;
    const p = picked.p;
    const d = Buffer.concat([p.data.subarray(0, l.payload), payload]);
    if (fix) {
      const delta = payload.length - (l.end - l.payload);
      if (l.version === 4) d.writeUInt16BE(Math.max(0, Math.min(0xffff, d.readUInt16BE(l.ip + 2) + delta)), l.ip + 2);
      else d.writeUInt16BE(Math.max(0, Math.min(0xffff, d.readUInt16BE(l.ip + 4) + delta)), l.ip + 4);
      if (l.proto === 17 && l.transport + 8 <= d.length) d.writeUInt16BE(Math.max(0, Math.min(0xffff, d.readUInt16BE(l.transport + 4) + delta)), l.transport + 4);
    }
    const wasWhole = p.origlen === p.data.length;
    p.data = d;
    if (wasWhole) p.origlen = d.length;
  }

  // -------------------------------------------------------------------------------------------
  // The file

  fileMutation(bytes: Buffer, fields: readonly Field[], starts: readonly number[]): Buffer {
    const rng = this.rng;
    if (bytes.length === 0) return bytes;
    const choice = rng.int(0, 7);
    if (choice <= 1 && fields.length > 0) {
      // A length or header field that lies, in either byte order.
      const f = rng.pick(fields);
      if (f.at + f.width > bytes.length) return bytes;
      const out = Buffer.from(bytes);
      const le = this.chance(0.85) ? f.le : !f.le;
      const old = f.width === 4 ? (f.le ? out.readUInt32LE(f.at) : out.readUInt32BE(f.at)) : f.le ? out.readUInt16LE(f.at) : out.readUInt16BE(f.at);
      if (f.width === 4) {
        const v = this.u32Value(old);
        if (le) out.writeUInt32LE(v >>> 0, f.at);
        else out.writeUInt32BE(v >>> 0, f.at);
        this.note('file.field', { field: f.kind, offset: f.at, value: v >>> 0, le });
      } else {
        const v = this.u16Value(old);
        if (le) out.writeUInt16LE(v, f.at);
        else out.writeUInt16BE(v, f.at);
        this.note('file.field', { field: f.kind, offset: f.at, value: v, le });
      }
      return out;
    }
    if (choice === 2) {
      const out = Buffer.from(bytes);
      const n = rng.int(1, 8);
      const offsets: number[] = [];
      for (let k = 0; k < n; k++) {
        const at = rng.int(0, out.length - 1);
        out[at] ^= 1 << rng.int(0, 7);
        offsets.push(at);
      }
      this.note('file.flip', { offsets });
      return out;
    }
    if (choice === 3) {
      const out = Buffer.from(bytes);
      const at = rng.int(0, out.length - 1);
      const n = Math.min(out.length - at, rng.int(1, 4));
      for (let k = 0; k < n; k++) out[at + k] = rng.pick(BYTE_VALUES);
      this.note('file.bytes', { offset: at, count: n });
      return out;
    }
    if (choice === 4) {
      // Cut at, or a few bytes around, a record boundary, or anywhere.
      const at = starts.length > 0 && this.chance(0.7) ? Math.max(0, rng.pick(starts) + rng.int(-4, 20)) : rng.int(0, bytes.length);
      this.note('file.truncate', { length: Math.min(at, bytes.length) });
      return bytes.subarray(0, at);
    }
    if (choice === 5) {
      const at = starts.length > 0 && this.chance(0.5) ? rng.pick(starts) : rng.int(0, bytes.length);
      const extra = this.chance(0.5) ? rng.bytes(rng.int(1, 64)) : bytes.subarray(rng.int(0, bytes.length - 1)).subarray(0, rng.int(1, 512));
      this.note('file.insert', { offset: at, count: extra.length });
      return Buffer.concat([bytes.subarray(0, at), extra, bytes.subarray(at)]);
    }
    if (choice === 6) {
      const at = rng.int(0, bytes.length - 1);
      const n = rng.int(1, Math.min(512, bytes.length - at));
      this.note('file.delete', { offset: at, count: n });
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + n)]);
    }
    // A whole record (or block) written again further on.
    if (starts.length < 2) return bytes;
    const k = rng.int(0, starts.length - 2);
    const record = bytes.subarray(starts[k], starts[k + 1]);
    const at = rng.pick(starts);
    this.note('file.duplicate_record', { record: k, at });
    return Buffer.concat([bytes.subarray(0, at), record, bytes.subarray(at)]);
  }

  gzipDamage(gz: Buffer): Buffer {
    const rng = this.rng;
    const out = Buffer.from(gz);
    const how = rng.pick(['flip', 'truncate', 'trailer'] as const);
    if (how === 'truncate') {
      const n = rng.int(2, out.length);
      this.note('gzip.truncate', { length: n });
      return out.subarray(0, n);
    }
    if (how === 'trailer') {
      for (let k = Math.max(2, out.length - 8); k < out.length; k++) out[k] ^= 0xff;
      this.note('gzip.trailer');
      return out;
    }
    const at = rng.int(2, out.length - 1);
    out[at] ^= 1 << rng.int(0, 7);
    this.note('gzip.flip', { offset: at });
    return out;
  }
}
