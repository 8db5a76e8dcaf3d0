/**
 * A capture file as a list of records the fuzzer can reorder, duplicate and rewrite, then write
 * back to bytes. Parsed here, independently of the product's readers, from well-formed seeds.
 * Writing records where each length field sits, so mutations can make those fields lie.
 */

export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 1;
export const PCAPNG_PB = 2;
export const PCAPNG_SPB = 3;
export const PCAPNG_EPB = 6;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** One captured frame. `tsHigh`/`tsLow` are (sec, fraction) in pcap and the 64-bit timestamp words in pcapng. */
export interface PacketItem {
  kind: 'packet';
  block: 'pcap' | 'epb' | 'spb' | 'pb';
  linkType: number;
  iface: number;
  tsHigh: number;
  tsLow: number;
  data: Buffer;
  origlen: number;
  /** Option bytes after the data of an enhanced or obsolete packet block. */
  options: Buffer;
}

/** Any other pcapng block, kept as its body (the bytes between the leading and trailing length). */
export interface BlockItem {
  kind: 'block';
  type: number;
  body: Buffer;
}

export type Item = PacketItem | BlockItem;

export interface CaptureModel {
  format: 'pcap' | 'pcapng';
  /** pcap: the 24-byte file header. */
  header: Buffer;
  /** pcap: byte order of the file; pcapng: of the first section. */
  le: boolean;
  items: Item[];
  gzip: boolean;
}

export type FieldKind =
  | 'pcap.magic'
  | 'pcap.snaplen'
  | 'pcap.linktype'
  | 'pcap.ts'
  | 'pcap.caplen'
  | 'pcap.origlen'
  | 'block.length'
  | 'block.trailer'
  | 'shb.bom'
  | 'idb.linktype'
  | 'idb.snaplen'
  | 'idb.option'
  | 'packet.iface'
  | 'packet.ts'
  | 'packet.caplen'
  | 'packet.origlen';

/** Where a header field sits in the written file. */
export interface Field {
  kind: FieldKind;
  at: number;
  width: 2 | 4;
  le: boolean;
}

export interface Written {
  bytes: Buffer;
  fields: Field[];
  /** Offset of every record (pcap) or block (pcapng). */
  starts: number[];
}

function u32(b: Buffer, at: number, le: boolean): number {
  return le ? b.readUInt32LE(at) : b.readUInt32BE(at);
}

function u16(b: Buffer, at: number, le: boolean): number {
  return le ? b.readUInt16LE(at) : b.readUInt16BE(at);
}

/** Parses a well-formed pcap or pcapng capture; null for anything else. */
export function parseCapture(bytes: Buffer, gzip = false): CaptureModel | null {
  if (bytes.length < 12) return null;
  if (bytes.readUInt32BE(0) === PCAPNG_SHB) return parsePcapng(bytes, gzip);
  const magicLe = bytes.readUInt32LE(0);
  const magicBe = bytes.readUInt32BE(0);
  const magics = [0xa1b2c3d4, 0xa1b23c4d];
  if (!magics.includes(magicLe) && !magics.includes(magicBe)) return null;
  return parsePcap(bytes, magics.includes(magicLe), gzip);
}

function parsePcap(bytes: Buffer, le: boolean, gzip: boolean): CaptureModel | null {
  if (bytes.length < 24) return null;
  const linkType = u32(bytes, 20, le) & 0xffff;
  const items: Item[] = [];
  let at = 24;
  while (at + 16 <= bytes.length) {
    const caplen = u32(bytes, at + 8, le);
    if (at + 16 + caplen > bytes.length) break;
    items.push({
      kind: 'packet',
      block: 'pcap',
      linkType,
      iface: 0,
      tsHigh: u32(bytes, at, le),
      tsLow: u32(bytes, at + 4, le),
      data: Buffer.from(bytes.subarray(at + 16, at + 16 + caplen)),
      origlen: u32(bytes, at + 12, le),
      options: Buffer.alloc(0),
    });
    at += 16 + caplen;
  }
  return { format: 'pcap', header: Buffer.from(bytes.subarray(0, 24)), le, items, gzip };
}

function parsePcapng(bytes: Buffer, gzip: boolean): CaptureModel | null {
  const items: Item[] = [];
  let le = true;
  let firstLe: boolean | null = null;
  let linkTypes: number[] = [];
  let at = 0;
  while (at + 12 <= bytes.length) {
    let type = u32(bytes, at, le);
    if (bytes.readUInt32BE(at) === PCAPNG_SHB) {
      type = PCAPNG_SHB;
      le = bytes.readUInt32LE(at + 8) === BYTE_ORDER_MAGIC;
      firstLe ??= le;
      linkTypes = [];
    }
    const length = u32(bytes, at + 4, le);
    if (length < 12 || at + length > bytes.length) return null;
    const body = bytes.subarray(at + 8, at + length - 4);
    if (type === PCAPNG_IDB) linkTypes.push(u16(body, 0, le));
    if (type === PCAPNG_EPB || type === PCAPNG_PB) {
      const iface = type === PCAPNG_EPB ? u32(body, 0, le) : u16(body, 0, le);
      const caplen = u32(body, 12, le);
      const padded = (caplen + 3) & ~3;
      items.push({
        kind: 'packet',
        block: type === PCAPNG_EPB ? 'epb' : 'pb',
        linkType: linkTypes[iface] ?? 1,
        iface,
        tsHigh: u32(body, 4, le),
        tsLow: u32(body, 8, le),
        data: Buffer.from(body.subarray(20, 20 + caplen)),
        origlen: u32(body, 16, le),
        options: Buffer.from(body.subarray(20 + padded)),
      });
    } else if (type === PCAPNG_SPB) {
      const origlen = u32(body, 0, le);
      items.push({
        kind: 'packet',
        block: 'spb',
        linkType: linkTypes[0] ?? 1,
        iface: 0,
        tsHigh: 0,
        tsLow: 0,
        data: Buffer.from(body.subarray(4, 4 + Math.min(origlen, body.length - 4))),
        origlen,
        options: Buffer.alloc(0),
      });
    } else {
      items.push({ kind: 'block', type, body: Buffer.from(body) });
    }
    at += length;
  }
  return { format: 'pcapng', header: Buffer.alloc(0), le: firstLe ?? true, items, gzip };
}

export function cloneModel(m: CaptureModel): CaptureModel {
  return {
    ...m,
    header: Buffer.from(m.header),
    items: m.items.map((i) => (i.kind === 'packet' ? { ...i, data: Buffer.from(i.data), options: Buffer.from(i.options) } : { ...i, body: Buffer.from(i.body) })),
  };
}

/** A packet item re-expressed for a capture of the given format (for splicing across captures). */
export function packetFor(format: 'pcap' | 'pcapng', p: PacketItem): PacketItem {
  if (format === 'pcap' && p.block !== 'pcap') {
    const micros = BigInt(p.tsHigh) * 4294967296n + BigInt(p.tsLow);
    return { ...p, block: 'pcap', iface: 0, tsHigh: Number((micros / 1_000_000n) & 0xffffffffn), tsLow: Number(micros % 1_000_000n), options: Buffer.alloc(0) };
  }
  if (format === 'pcapng' && p.block === 'pcap') {
    const micros = BigInt(p.tsHigh) * 1_000_000n + BigInt(p.tsLow);
    return { ...p, block: 'epb', iface: 0, tsHigh: Number(micros >> 32n), tsLow: Number(micros & 0xffffffffn) };
  }
  return p;
}

class Out {
  private readonly parts: Buffer[] = [];
  size = 0;
  readonly fields: Field[] = [];

  push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
  }

  /** Records a field at `offset` bytes into the next pushed part. */
  field(kind: FieldKind, offset: number, width: 2 | 4, le: boolean): void {
    this.fields.push({ kind, at: this.size + offset, width, le });
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Writes the model as capture bytes with correct lengths (before any gzip). */
export function writeCapture(m: CaptureModel): Written {
  const out = new Out();
  const starts: number[] = [];
  if (m.format === 'pcap') {
    const le = m.le;
    out.field('pcap.magic', 0, 4, le);
    out.field('pcap.snaplen', 16, 4, le);
    out.field('pcap.linktype', 20, 4, le);
    out.push(m.header);
    for (const item of m.items) {
      if (item.kind !== 'packet') continue;
      starts.push(out.size);
      const h = Buffer.alloc(16);
      const w = (v: number, at: number) => (le ? h.writeUInt32LE(v >>> 0, at) : h.writeUInt32BE(v >>> 0, at));
      w(item.tsHigh, 0);
      w(item.tsLow, 4);
      w(item.data.length, 8);
      w(item.origlen, 12);
      out.field('pcap.ts', 0, 4, le);
      out.field('pcap.caplen', 8, 4, le);
      out.field('pcap.origlen', 12, 4, le);
      out.push(h);
      out.push(item.data);
    }
    return { bytes: out.bytes(), fields: out.fields, starts };
  }
  let le = m.le;
  for (const item of m.items) {
    starts.push(out.size);
    let type: number;
    let body: Buffer;
    if (item.kind === 'block') {
      type = item.type;
      body = item.body;
      if (type === PCAPNG_SHB && body.length >= 4) le = body.readUInt32LE(0) === BYTE_ORDER_MAGIC;
    } else {
      ({ type, body } = packetBody(item, le));
    }
    const total = 12 + pad4(body.length);
    const block = Buffer.alloc(total);
    const w = (v: number, at: number) => (le ? block.writeUInt32LE(v >>> 0, at) : block.writeUInt32BE(v >>> 0, at));
    w(type, 0); // the section header's type reads the same in both byte orders
    w(total, 4);
    body.copy(block, 8);
    w(total, total - 4);
    out.field('block.length', 4, 4, le);
    out.field('block.trailer', total - 4, 4, le);
    if (type === PCAPNG_SHB) out.field('shb.bom', 8, 4, le);
    if (type === PCAPNG_IDB) {
      out.field('idb.linktype', 8, 2, le);
      out.field('idb.snaplen', 12, 4, le);
      for (let o = 16; o + 4 <= total - 4; ) {
        out.field('idb.option', o + 2, 2, le);
        const len = le ? block.readUInt16LE(o + 2) : block.readUInt16BE(o + 2);
        if ((le ? block.readUInt16LE(o) : block.readUInt16BE(o)) === 0) break;
        o += 4 + pad4(len);
      }
    }
    if (type === PCAPNG_EPB || type === PCAPNG_PB) {
      out.field('packet.iface', 8, type === PCAPNG_EPB ? 4 : 2, le);
      out.field('packet.ts', 12, 4, le);
      out.field('packet.ts', 16, 4, le);
      out.field('packet.caplen', 20, 4, le);
      out.field('packet.origlen', 24, 4, le);
    }
    if (type === PCAPNG_SPB) out.field('packet.origlen', 8, 4, le);
    out.push(block);
  }
  return { bytes: out.bytes(), fields: out.fields, starts };
}

function packetBody(p: PacketItem, le: boolean): { type: number; body: Buffer } {
  const w32 = (b: Buffer, v: number, at: number) => (le ? b.writeUInt32LE(v >>> 0, at) : b.writeUInt32BE(v >>> 0, at));
  if (p.block === 'spb') {
    const body = Buffer.alloc(4 + pad4(p.data.length));
    w32(body, p.origlen, 0);
    p.data.copy(body, 4);
    return { type: PCAPNG_SPB, body };
  }
  const padded = pad4(p.data.length);
  const body = Buffer.alloc(20 + padded + p.options.length);
  if (p.block === 'pb') {
    if (le) body.writeUInt16LE(p.iface & 0xffff, 0);
    else body.writeUInt16BE(p.iface & 0xffff, 0);
  } else {
    w32(body, p.iface, 0);
  }
  w32(body, p.tsHigh, 4);
  w32(body, p.tsLow, 8);
  w32(body, p.data.length, 12);
  w32(body, p.origlen, 16);
  p.data.copy(body, 20);
  p.options.copy(body, 20 + padded);
  return { type: p.block === 'pb' ? PCAPNG_PB : PCAPNG_EPB, body };
}

/** A section header block body: byte-order magic, version 1.0, unknown section length, no options. */
export function sectionBody(le: boolean): Buffer {
  const body = Buffer.alloc(20);
  if (le) {
    body.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
    body.writeUInt16LE(1, 4);
  } else {
    body.writeUInt32BE(BYTE_ORDER_MAGIC, 0);
    body.writeUInt16BE(1, 4);
  }
  body.fill(0xff, 8, 16);
  return body;
}

/**
 * The same packets as a pcapng capture: one section, one interface per link type (with the given
 * if_tsresol exponent of 10), enhanced packet blocks with timestamps in that resolution.
 */
export function toPcapng(m: CaptureModel, le: boolean, tsresolExponent: number): CaptureModel {
  const items: Item[] = [{ kind: 'block', type: PCAPNG_SHB, body: sectionBody(le) }];
  const ifaces = new Map<number, number>();
  const unitsPerSec = 10n ** BigInt(tsresolExponent);
  for (const item of m.items) {
    if (item.kind !== 'packet') continue;
    let iface = ifaces.get(item.linkType);
    if (iface === undefined) {
      iface = ifaces.size;
      ifaces.set(item.linkType, iface);
      const options: Array<[number, Buffer]> = tsresolExponent === 6 ? [] : [[9, Buffer.from([tsresolExponent])]];
      items.push({ kind: 'block', type: PCAPNG_IDB, body: interfaceBody(item.linkType, 262144, options, le) });
    }
    // pcap seeds carry microseconds, or nanoseconds with the nanosecond magic: close enough here.
    const ts = BigInt(item.tsHigh) * unitsPerSec + (BigInt(item.tsLow) * unitsPerSec) / 1_000_000n;
    items.push({ ...item, block: 'epb', iface, tsHigh: Number((ts >> 32n) & 0xffffffffn), tsLow: Number(ts & 0xffffffffn), options: Buffer.alloc(0) });
  }
  return { format: 'pcapng', header: Buffer.alloc(0), le, items, gzip: m.gzip };
}

/** An interface description block body: link type, snap length and the given raw options. */
export function interfaceBody(linkType: number, snapLen: number, options: Array<[number, Buffer]>, le: boolean): Buffer {
  const parts: Buffer[] = [];
  const fixed = Buffer.alloc(8);
  if (le) {
    fixed.writeUInt16LE(linkType & 0xffff, 0);
    fixed.writeUInt32LE(snapLen >>> 0, 4);
  } else {
    fixed.writeUInt16BE(linkType & 0xffff, 0);
    fixed.writeUInt32BE(snapLen >>> 0, 4);
  }
  parts.push(fixed);
  for (const [code, value] of options) {
    const h = Buffer.alloc(4);
    if (le) {
      h.writeUInt16LE(code, 0);
      h.writeUInt16LE(value.length, 2);
    } else {
      h.writeUInt16BE(code, 0);
      h.writeUInt16BE(value.length, 2);
    }
    parts.push(h, value, Buffer.alloc(pad4(value.length) - value.length));
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}
