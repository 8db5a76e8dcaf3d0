import type { ByteWindow } from './byte-window.js';
import { u32 } from './byte-order.js';
import { MAX_RECORD_BYTES, WindowedReader } from './capture-reader.js';
import { setPacketTime, type CapturedPacket } from './packet.js';

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;

const FILE_HEADER = 24;
const RECORD_HEADER = 16;

/** Reads classic libpcap files: either byte order, microsecond or nanosecond timestamps. */
export class PcapReader extends WindowedReader {
  readonly format = 'pcap';
  private le = true;
  private nanos = false;
  linkType = 0;
  snapLen = 0;
  private headerRead = false;

  constructor(name: string, window: ByteWindow) {
    super(name, window);
    this.need = FILE_HEADER;
  }

  next(pkt: CapturedPacket): boolean {
    if (this.done) return false;
    const w = this.window;
    if (!this.headerRead && !this.readFileHeader()) return false;
    if (w.end - w.start < RECORD_HEADER) {
      this.need = RECORD_HEADER;
      return false;
    }
    const buf = w.buf;
    const at = w.start;
    const le = this.le;
    const caplen = u32(buf, at + 8, le);
    if (caplen > MAX_RECORD_BYTES || caplen > Math.max(this.snapLen, 262144)) {
      return this.fail(w.base + at, `impossible caplen ${caplen} (snap length ${this.snapLen})`);
    }
    const total = RECORD_HEADER + caplen;
    if (w.end - at < total) {
      this.need = total;
      return false;
    }
    const sec = u32(buf, at, le);
    const frac = u32(buf, at + 4, le);
    pkt.origlen = u32(buf, at + 12, le);
    setPacketTime(pkt, sec, this.nanos ? frac : frac * 1000);
    pkt.data = buf;
    pkt.offset = at + RECORD_HEADER;
    pkt.caplen = caplen;
    pkt.linkType = this.linkType;
    pkt.interfaceId = 0;
    pkt.index = ++this.count;
    pkt.recordOffset = w.base + at;
    w.start = at + total;
    return true;
  }

  private readFileHeader(): boolean {
    const w = this.window;
    if (w.end - w.start < FILE_HEADER) {
      this.need = FILE_HEADER;
      return false;
    }
    const magicLE = w.buf.readUInt32LE(w.start);
    const magicBE = w.buf.readUInt32BE(w.start);
    if (magicLE === PCAP_MAGIC_USEC || magicLE === PCAP_MAGIC_NSEC) {
      this.le = true;
      this.nanos = magicLE === PCAP_MAGIC_NSEC;
    } else if (magicBE === PCAP_MAGIC_USEC || magicBE === PCAP_MAGIC_NSEC) {
      this.le = false;
      this.nanos = magicBE === PCAP_MAGIC_NSEC;
    } else {
      return this.fail(w.position, `not a pcap file (magic 0x${magicBE.toString(16).padStart(8, '0')})`);
    }
    const read32 = (o: number) => u32(w.buf, w.start + o, this.le);
    this.snapLen = read32(16);
    // The upper bits of the link type field carry FCS information, not the link type.
    this.linkType = read32(20) & 0xffff;
    w.start += FILE_HEADER;
    this.headerRead = true;
    return true;
  }
}
