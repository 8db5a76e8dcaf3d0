import type { ByteWindow } from './byte-window.js';
import { u16, u32 } from './byte-order.js';
import { MAX_RECORD_BYTES, WindowedReader } from './capture-reader.js';
import { CaptureError } from './errors.js';
import { setPacketTime, type CapturedPacket } from './packet.js';

export const PCAPNG_SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const SUPPORTED_MAJOR_VERSION = 1;

const BLOCK_IDB = 0x00000001;
const BLOCK_PB = 0x00000002; // obsolete Packet Block
const BLOCK_SPB = 0x00000003;
const BLOCK_EPB = 0x00000006;

const OPT_END = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

interface Interface {
  linkType: number;
  snapLen: number;
  /** Timestamp units per second (if_tsresol); 1e6 unless the IDB says otherwise. */
  unitsPerSec: number;
  /** if_tsoffset: seconds added to every timestamp. */
  offsetSec: number;
}

/**
 * Reads pcapng: any number of sections in either byte order, interfaces with their own link type,
 * snap length, if_tsresol and if_tsoffset, enhanced, simple and obsolete packet blocks. Every other
 * block is skipped by its length.
 */
export class PcapngReader extends WindowedReader {
  readonly format = 'pcapng';
  private le = true;
  private interfaces: Interface[] = [];
  private sectionSeen = false;
  /** In a section of a major version this reader does not know: its blocks are passed over. */
  private skippingSection = false;
  /** Simple packet blocks carry no timestamp: they get the last one seen. */
  private lastSec = 0;
  private lastNsec = 0;
  /** Link types of every interface seen, for reporting. */
  readonly linkTypes = new Set<number>();

  constructor(name: string, window: ByteWindow) {
    super(name, window);
    this.need = 12;
  }

  protected override recordName(): string {
    return 'block';
  }

  next(pkt: CapturedPacket): boolean {
    const w = this.window;
    while (!this.done) {
      if (w.end - w.start < 12) {
        this.need = 12;
        return false;
      }
      const buf = w.buf;
      const at = w.start;
      const offset = w.base + at;
      let type = u32(buf, at, this.le);
      if (type === PCAPNG_SHB) {
        // The section header decides the byte order of everything up to the next one.
        const bom = buf.readUInt32LE(at + 8);
        if (bom === BYTE_ORDER_MAGIC) this.le = true;
        else if (buf.readUInt32BE(at + 8) === BYTE_ORDER_MAGIC) this.le = false;
        else return this.fail(offset, `section header with unknown byte-order magic 0x${bom.toString(16)}`);
        type = PCAPNG_SHB;
      } else if (!this.sectionSeen) {
        return this.fail(offset, 'not a pcapng file (no section header block)');
      }
      const le = this.le;
      const length = u32(buf, at + 4, le);
      if (length < 12 || length % 4 !== 0 || length > MAX_RECORD_BYTES) {
        return this.fail(offset, `bad block length ${length} in block type 0x${type.toString(16)}`);
      }
      if (w.end - at < length) {
        this.need = length;
        return false;
      }
      const trailer = u32(buf, at + length - 4, le);
      if (this.skippingSection && type !== PCAPNG_SHB) {
        // Only the type and length framing is common to every version: nothing else is checked.
        w.start = at + length;
        continue;
      }
      if (trailer !== length) {
        return this.fail(offset, `block length ${length} does not match its trailing copy ${trailer}`);
      }
      w.start = at + length;
      switch (type) {
        case PCAPNG_SHB:
          if (length < 28) return this.fail(offset, `section header block too short (${length} bytes)`);
          this.sectionSeen = true;
          this.interfaces = [];
          this.skippingSection = this.u16(at + 12) !== SUPPORTED_MAJOR_VERSION;
          if (this.skippingSection) {
            // The specification: a reader that cannot read a section's version skips to the next section header.
            const version = `${this.u16(at + 12)}.${this.u16(at + 14)}`;
            this.warnings.push(new CaptureError(this.name, offset, `pcapng section of version ${version} skipped (only version ${SUPPORTED_MAJOR_VERSION} is read)`));
          }
          break;
        case BLOCK_IDB:
          if (!this.readInterface(at, length, offset)) return false;
          break;
        case BLOCK_EPB:
          if (this.readEnhanced(pkt, at, length, offset)) return true;
          if (this.done) return false;
          break;
        case BLOCK_SPB:
          if (this.readSimple(pkt, at, length, offset)) return true;
          if (this.done) return false;
          break;
        case BLOCK_PB:
          if (this.readObsolete(pkt, at, length, offset)) return true;
          if (this.done) return false;
          break;
        default:
          break; // name resolution, statistics, custom, decryption secrets...: not needed
      }
    }
    return false;
  }

  private u32(at: number): number {
    return u32(this.window.buf, at, this.le);
  }

  private u16(at: number): number {
    return u16(this.window.buf, at, this.le);
  }

  private readInterface(at: number, length: number, offset: number): boolean {
    if (length < 20) return this.fail(offset, `interface description block too short (${length} bytes)`);
    const iface: Interface = {
      linkType: this.u16(at + 8),
      snapLen: this.u32(at + 12),
      unitsPerSec: 1e6,
      offsetSec: 0,
    };
    const buf = this.window.buf;
    const end = at + length - 4;
    let o = at + 16;
    while (o + 4 <= end) {
      const code = this.u16(o);
      const len = this.u16(o + 2);
      if (code === OPT_END) break;
      if (o + 4 + len > end) break; // a lying option length: keep what was read
      if (code === OPT_IF_TSRESOL && len >= 1) {
        const v = buf[o + 4];
        const exp = v & 0x7f;
        iface.unitsPerSec = v & 0x80 ? 2 ** exp : 10 ** exp;
      } else if (code === OPT_IF_TSOFFSET && len >= 8) {
        const hi = this.le ? buf.readInt32LE(o + 8) : buf.readInt32BE(o + 4);
        const lo = this.le ? buf.readUInt32LE(o + 4) : buf.readUInt32BE(o + 8);
        iface.offsetSec = hi * 4294967296 + lo;
      }
      o += 4 + ((len + 3) & ~3);
    }
    this.interfaces.push(iface);
    this.linkTypes.add(iface.linkType);
    return true;
  }

  private interfaceAt(id: number, offset: number): Interface | null {
    const iface = this.interfaces[id];
    if (iface === undefined) {
      this.fail(offset, `packet block names interface ${id}, but the section has ${this.interfaces.length}`);
      return null;
    }
    return iface;
  }

  private readEnhanced(pkt: CapturedPacket, at: number, length: number, offset: number): boolean {
    if (length < 32) return this.fail(offset, `enhanced packet block too short (${length} bytes)`);
    const iface = this.interfaceAt(this.u32(at + 8), offset);
    if (iface === null) return false;
    const caplen = this.u32(at + 20);
    if (28 + caplen + 4 > length) {
      return this.fail(offset, `enhanced packet block caplen ${caplen} exceeds its block length ${length}`);
    }
    this.setTime(pkt, iface, this.u32(at + 12), this.u32(at + 16));
    this.emit(pkt, iface, at + 28, caplen, this.u32(at + 24), offset);
    pkt.interfaceId = this.u32(at + 8);
    return true;
  }

  private readObsolete(pkt: CapturedPacket, at: number, length: number, offset: number): boolean {
    if (length < 32) return this.fail(offset, `packet block too short (${length} bytes)`);
    const id = this.u16(at + 8);
    const iface = this.interfaceAt(id, offset);
    if (iface === null) return false;
    const caplen = this.u32(at + 20);
    if (28 + caplen + 4 > length) {
      return this.fail(offset, `packet block caplen ${caplen} exceeds its block length ${length}`);
    }
    this.setTime(pkt, iface, this.u32(at + 12), this.u32(at + 16));
    this.emit(pkt, iface, at + 28, caplen, this.u32(at + 24), offset);
    pkt.interfaceId = id;
    return true;
  }

  private readSimple(pkt: CapturedPacket, at: number, length: number, offset: number): boolean {
    if (length < 16) return this.fail(offset, `simple packet block too short (${length} bytes)`);
    const iface = this.interfaceAt(0, offset);
    if (iface === null) return false;
    const origlen = this.u32(at + 8);
    // The captured length is implied: the original length, cut by the snap length and the block.
    let caplen = Math.min(origlen, length - 16);
    if (iface.snapLen > 0) caplen = Math.min(caplen, iface.snapLen);
    pkt.tsSec = this.lastSec;
    pkt.tsNsec = this.lastNsec;
    pkt.timestampWasCarried = false;
    this.emit(pkt, iface, at + 12, caplen, origlen, offset);
    pkt.interfaceId = 0;
    return true;
  }

  private emit(pkt: CapturedPacket, iface: Interface, dataAt: number, caplen: number, origlen: number, offset: number): void {
    pkt.data = this.window.buf;
    pkt.offset = dataAt;
    pkt.caplen = caplen;
    pkt.origlen = origlen;
    pkt.linkType = iface.linkType;
    pkt.index = ++this.count;
    pkt.recordOffset = offset;
  }

  private setTime(pkt: CapturedPacket, iface: Interface, hi: number, lo: number): void {
    const units = iface.unitsPerSec;
    const value = hi * 4294967296 + lo;
    let sec: number;
    let nsec: number;
    if (value <= Number.MAX_SAFE_INTEGER) {
      sec = Math.floor(value / units);
      nsec = Math.floor(((value - sec * units) * 1e9) / units);
    } else {
      // Nanosecond (or finer) clocks overflow a double's integer range: divide exactly.
      const big = (BigInt(hi) << 32n) | BigInt(lo);
      const bigUnits = BigInt(units);
      sec = Number(big / bigUnits);
      nsec = Number(((big % bigUnits) * 1000000000n) / bigUnits);
    }
    setPacketTime(pkt, sec + iface.offsetSec, nsec);
    this.lastSec = pkt.tsSec;
    this.lastNsec = pkt.tsNsec;
  }
}
