/**
 * In-memory writers for classic pcap and pcapng captures. `add`/`enhanced`/... return the byte
 * offset of the record they wrote, so tests can damage a chosen record and know where it starts.
 */
import { gzipSync } from 'node:zlib';
import { concat, toBuffer } from './bytes.js';

export interface CaptureRecord {
  sec: number;
  /** Nanoseconds within the second; a microsecond pcap keeps whole microseconds. */
  nsec: number;
  data: Uint8Array;
  /** Length on the wire; defaults to data.length (the writer cuts data to the snap length). */
  origlen?: number;
}

export type ByteOrder = 'le' | 'be';

export interface PcapOptions {
  linkType: number;
  byteOrder?: ByteOrder;
  nanosecond?: boolean;
  snapLen?: number;
}

export const PCAP_DEFAULT_SNAPLEN = 262144;

function writer(order: ByteOrder) {
  return {
    u16(b: Buffer, v: number, at: number): void {
      if (order === 'le') b.writeUInt16LE(v, at);
      else b.writeUInt16BE(v, at);
    },
    u32(b: Buffer, v: number, at: number): void {
      if (order === 'le') b.writeUInt32LE(v >>> 0, at);
      else b.writeUInt32BE(v >>> 0, at);
    },
    u64(b: Buffer, v: bigint, at: number): void {
      if (order === 'le') b.writeBigUInt64LE(BigInt.asUintN(64, v), at);
      else b.writeBigUInt64BE(BigInt.asUintN(64, v), at);
    },
  };
}

/** Classic libpcap file (version 2.4). */
export class PcapWriter {
  private readonly parts: Buffer[] = [];
  private size = 0;
  readonly snapLen: number;
  private readonly w;
  private readonly nanosecond: boolean;

  constructor(options: PcapOptions) {
    this.snapLen = options.snapLen ?? PCAP_DEFAULT_SNAPLEN;
    this.nanosecond = options.nanosecond ?? false;
    this.w = writer(options.byteOrder ?? 'le');
    const h = Buffer.alloc(24);
    this.w.u32(h, this.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, 0);
    this.w.u16(h, 2, 4);
    this.w.u16(h, 4, 6);
    this.w.u32(h, this.snapLen, 16);
    this.w.u32(h, options.linkType, 20);
    this.push(h);
  }

  /** Appends a record, cut to the snap length; returns its byte offset in the file. */
  add(record: CaptureRecord): number {
    const offset = this.size;
    const data = toBuffer(record.data);
    const caplen = Math.min(data.length, this.snapLen);
    const h = Buffer.alloc(16);
    this.w.u32(h, record.sec, 0);
    this.w.u32(h, this.nanosecond ? record.nsec : Math.floor(record.nsec / 1000), 4);
    this.w.u32(h, caplen, 8);
    this.w.u32(h, record.origlen ?? data.length, 12);
    this.push(h);
    this.push(data.subarray(0, caplen));
    return offset;
  }

  addAll(records: Iterable<CaptureRecord>): this {
    for (const r of records) this.add(r);
    return this;
  }

  get length(): number {
    return this.size;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }

  private push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
  }
}

export function pcapFile(options: PcapOptions, records: Iterable<CaptureRecord>): Buffer {
  return new PcapWriter(options).addAll(records).toBuffer();
}

/** Gzip with fixed settings, so the same input gives the same bytes. */
export function gzip(data: Uint8Array): Buffer {
  return gzipSync(data, { level: 9 });
}

export const PCAPNG_BLOCK = {
  IDB: 0x00000001,
  PB: 0x00000002,
  SPB: 0x00000003,
  NRB: 0x00000004,
  ISB: 0x00000005,
  EPB: 0x00000006,
  SHB: 0x0a0d0d0a,
} as const;

export interface SectionOptions {
  byteOrder?: ByteOrder;
  /** shb_userappl */
  application?: string;
  /** The format's major version (1 unless a test needs another). */
  majorVersion?: number;
}

export interface InterfaceOptions {
  linkType: number;
  /** 0 means no limit. */
  snapLen?: number;
  /** if_name */
  name?: string;
  /** if_tsresol: timestamp units are base^-exponent seconds; 10^-6 unless given. */
  tsresol?: { base: 10 | 2; exponent: number };
  /** if_tsoffset: seconds added to every timestamp of the interface. */
  tsoffset?: number;
}

export interface EnhancedRecord extends CaptureRecord {
  /** Writes this raw timestamp (in interface units) instead of converting sec/nsec. */
  rawTimestamp?: bigint;
  /** opt_comment */
  comment?: string;
}

interface WrittenInterface {
  snapLen: number;
  unitsPerSec: bigint;
  offsetSec: number;
}

/** pcapng: sections in either byte order, interfaces with their own link type and clock. */
export class PcapngWriter {
  private readonly parts: Buffer[] = [];
  private size = 0;
  private order: ByteOrder = 'le';
  private w = writer('le');
  private interfaces: WrittenInterface[] = [];

  /** Starts a section (SHB); interface ids start again at 0. Returns the block's offset. */
  section(options: SectionOptions = {}): number {
    this.order = options.byteOrder ?? 'le';
    this.w = writer(this.order);
    this.interfaces = [];
    const fixed = Buffer.alloc(16);
    this.w.u32(fixed, 0x1a2b3c4d, 0);
    this.w.u16(fixed, options.majorVersion ?? 1, 4);
    this.w.u16(fixed, 0, 6);
    this.w.u64(fixed, -1n, 8); // section length not given
    const opts: Array<[number, Buffer]> = [];
    if (options.application !== undefined) opts.push([4, Buffer.from(options.application)]);
    return this.block(PCAPNG_BLOCK.SHB, concat(fixed, this.options(opts)));
  }

  /** Describes an interface (IDB); returns its id in the current section. */
  addInterface(options: InterfaceOptions): number {
    this.requireSection();
    const fixed = Buffer.alloc(8);
    this.w.u16(fixed, options.linkType, 0);
    const snapLen = options.snapLen ?? PCAP_DEFAULT_SNAPLEN;
    this.w.u32(fixed, snapLen, 4);
    const opts: Array<[number, Buffer]> = [];
    if (options.name !== undefined) opts.push([2, Buffer.from(options.name)]);
    let unitsPerSec = 1_000_000n;
    if (options.tsresol !== undefined) {
      const { base, exponent } = options.tsresol;
      opts.push([9, Buffer.from([(base === 2 ? 0x80 : 0) | exponent])]);
      unitsPerSec = BigInt(base) ** BigInt(exponent);
    }
    if (options.tsoffset !== undefined) {
      const b = Buffer.alloc(8);
      this.w.u64(b, BigInt(options.tsoffset), 0);
      opts.push([14, b]);
    }
    this.block(PCAPNG_BLOCK.IDB, concat(fixed, this.options(opts)));
    this.interfaces.push({ snapLen, unitsPerSec, offsetSec: options.tsoffset ?? 0 });
    return this.interfaces.length - 1;
  }

  /** Enhanced packet block; returns its offset. */
  enhanced(interfaceId: number, record: EnhancedRecord): number {
    const iface = this.interfaceFor(interfaceId);
    const data = this.cut(record.data, iface);
    const fixed = Buffer.alloc(20);
    this.w.u32(fixed, interfaceId, 0);
    this.writeTimestamp(fixed, 4, iface, record);
    this.w.u32(fixed, data.length, 12);
    this.w.u32(fixed, record.origlen ?? record.data.length, 16);
    const opts: Array<[number, Buffer]> = [];
    if (record.comment !== undefined) opts.push([1, Buffer.from(record.comment)]);
    return this.block(PCAPNG_BLOCK.EPB, concat(fixed, pad4(data), opts.length > 0 ? this.options(opts) : Buffer.alloc(0)));
  }

  /** Simple packet block (interface 0, no timestamp); returns its offset. */
  simple(record: Pick<CaptureRecord, 'data' | 'origlen'>): number {
    const iface = this.interfaceFor(0);
    const data = this.cut(record.data, iface);
    const fixed = Buffer.alloc(4);
    this.w.u32(fixed, record.origlen ?? record.data.length, 0);
    return this.block(PCAPNG_BLOCK.SPB, concat(fixed, pad4(data)));
  }

  /** Obsolete packet block (type 2) that old writers produced; returns its offset. */
  obsoletePacket(interfaceId: number, record: CaptureRecord): number {
    const iface = this.interfaceFor(interfaceId);
    const data = this.cut(record.data, iface);
    const fixed = Buffer.alloc(20);
    this.w.u16(fixed, interfaceId, 0);
    this.w.u16(fixed, 0, 2); // drops count
    this.writeTimestamp(fixed, 4, iface, record);
    this.w.u32(fixed, data.length, 12);
    this.w.u32(fixed, record.origlen ?? record.data.length, 16);
    return this.block(PCAPNG_BLOCK.PB, concat(fixed, pad4(data)));
  }

  /** Any block, its body padded to 4 bytes; returns its offset. */
  block(type: number, body: Uint8Array): number {
    const offset = this.size;
    const padded = pad4(toBuffer(body));
    const total = 12 + padded.length;
    const head = Buffer.alloc(8);
    this.w.u32(head, type, 0);
    this.w.u32(head, total, 4);
    const tail = Buffer.alloc(4);
    this.w.u32(tail, total, 0);
    this.push(concat(head, padded, tail));
    return offset;
  }

  /** Options list in the section's byte order, ended by opt_endofopt. */
  options(list: Array<[code: number, value: Uint8Array]>): Buffer {
    const parts = list.map(([code, value]) => {
      const h = Buffer.alloc(4);
      this.w.u16(h, code, 0);
      this.w.u16(h, value.length, 2);
      return concat(h, pad4(toBuffer(value)));
    });
    return concat(...parts, Buffer.alloc(4));
  }

  get length(): number {
    return this.size;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }

  private writeTimestamp(b: Buffer, at: number, iface: WrittenInterface, record: EnhancedRecord): void {
    const units = iface.unitsPerSec;
    const ts =
      record.rawTimestamp ??
      BigInt(record.sec - iface.offsetSec) * units + (BigInt(record.nsec) * units) / 1_000_000_000n;
    this.w.u32(b, Number((ts >> 32n) & 0xffffffffn), at);
    this.w.u32(b, Number(ts & 0xffffffffn), at + 4);
  }

  private cut(data: Uint8Array, iface: WrittenInterface): Buffer {
    const b = toBuffer(data);
    return iface.snapLen > 0 && b.length > iface.snapLen ? b.subarray(0, iface.snapLen) : b;
  }

  private interfaceFor(id: number): WrittenInterface {
    this.requireSection();
    const iface = this.interfaces[id];
    if (iface === undefined) throw new Error(`pcapng: interface ${id} not described in this section`);
    return iface;
  }

  private requireSection(): void {
    if (this.size === 0) throw new Error('pcapng: start a section first');
  }

  private push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
  }
}

function pad4(b: Buffer): Buffer {
  const extra = (4 - (b.length % 4)) % 4;
  return extra === 0 ? b : concat(b, Buffer.alloc(extra));
}
