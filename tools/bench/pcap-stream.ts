/**
 * Writes a classic pcap (microseconds, Ethernet) straight to a file descriptor through one
 * reused buffer, encoding Ethernet / 802.1Q / IPv4 / TCP or UDP in place with correct checksums.
 * Memory stays flat whatever the capture size.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

const BUFFER_SIZE = 8 << 20;
const MAX_RECORD = 16 + 1518 + 64;
const ETHERNET_MIN = 60;

/** One direction of a conversation: link and IP addresses, VLAN, TTL and the IP id counter. */
export interface Path {
  srcMac: Buffer;
  dstMac: Buffer;
  /** 0: untagged. */
  vlan: number;
  srcIp: number;
  dstIp: number;
  ttl: number;
  ipId: number;
}

export const TCP_FLAG = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export class PcapStream {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(BUFFER_SIZE);
  private pos = 0;
  /** Bytes written to the file so far, header included. */
  fileBytes = 0;
  /** Sum of the frames' lengths on the wire. */
  wireBytes = 0;
  packets = 0;
  /** Timestamp of the next record. */
  sec = 0;
  usec = 0;
  private nsecRemainder = 0;
  private recordStart = 0;

  constructor(file: string) {
    this.fd = openSync(file, 'w');
    const h = this.buf;
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
    this.pos = 24;
    this.fileBytes = 24;
  }

  /** A TCP segment carrying payload[from, to). */
  tcp(path: Path, sport: number, dport: number, seq: number, ack: number, flags: number, window: number, options: Buffer | null, payload: Buffer | null, from = 0, to = payload?.length ?? 0): void {
    const optLen = options?.length ?? 0;
    const tcpLen = 20 + optLen + (to - from);
    const b = this.buf;
    const l4 = this.beginIPv4(path, 6, tcpLen);
    b.writeUInt16BE(sport, l4);
    b.writeUInt16BE(dport, l4 + 2);
    b.writeUInt32BE(seq >>> 0, l4 + 4);
    b.writeUInt32BE(ack >>> 0, l4 + 8);
    b[l4 + 12] = ((20 + optLen) >> 2) << 4;
    b[l4 + 13] = flags;
    b.writeUInt16BE(window, l4 + 14);
    b.writeUInt32BE(0, l4 + 16); // checksum, urgent pointer
    if (options !== null) options.copy(b, l4 + 20);
    if (payload !== null && to > from) payload.copy(b, l4 + 20 + optLen, from, to);
    b.writeUInt16BE(transportChecksum(b, l4, tcpLen, path, 6), l4 + 16);
    this.endFrame(l4 + tcpLen);
  }

  /** A UDP datagram carrying payload[from, to). */
  udp(path: Path, sport: number, dport: number, payload: Buffer, from = 0, to = payload.length): void {
    const udpLen = 8 + (to - from);
    const b = this.buf;
    const l4 = this.beginIPv4(path, 17, udpLen);
    b.writeUInt16BE(sport, l4);
    b.writeUInt16BE(dport, l4 + 2);
    b.writeUInt16BE(udpLen, l4 + 4);
    b.writeUInt16BE(0, l4 + 6);
    payload.copy(b, l4 + 8, from, to);
    const sum = transportChecksum(b, l4, udpLen, path, 17);
    b.writeUInt16BE(sum === 0 ? 0xffff : sum, l4 + 6);
    this.endFrame(l4 + udpLen);
  }

  /** Moves the clock on by `nanos` nanoseconds. */
  advance(nanos: number): void {
    this.nsecRemainder += nanos;
    const micros = Math.floor(this.nsecRemainder / 1000);
    this.nsecRemainder -= micros * 1000;
    this.usec += micros;
    while (this.usec >= 1_000_000) {
      this.usec -= 1_000_000;
      this.sec++;
    }
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  /** Record header, Ethernet (and VLAN) and IPv4 headers; returns the transport header's offset. */
  private beginIPv4(path: Path, protocol: number, l4Length: number): number {
    if (this.pos + MAX_RECORD > BUFFER_SIZE) this.flush();
    const b = this.buf;
    this.recordStart = this.pos;
    let at = this.pos + 16;
    path.dstMac.copy(b, at);
    path.srcMac.copy(b, at + 6);
    at += 12;
    if (path.vlan !== 0) {
      b.writeUInt16BE(0x8100, at);
      b.writeUInt16BE(path.vlan & 0xfff, at + 2);
      at += 4;
    }
    b.writeUInt16BE(0x0800, at);
    const ip = at + 2;
    b[ip] = 0x45;
    b[ip + 1] = 0;
    b.writeUInt16BE(20 + l4Length, ip + 2);
    b.writeUInt16BE(path.ipId, ip + 4);
    path.ipId = (path.ipId + 1) & 0xffff;
    b.writeUInt16BE(0x4000, ip + 6); // don't fragment
    b[ip + 8] = path.ttl;
    b[ip + 9] = protocol;
    b.writeUInt16BE(0, ip + 10);
    b.writeUInt32BE(path.srcIp, ip + 12);
    b.writeUInt32BE(path.dstIp, ip + 16);
    b.writeUInt16BE(~fold(sum16(b, ip, ip + 20, 0)) & 0xffff, ip + 10);
    return ip + 20;
  }

  /** Pads to the Ethernet minimum and fills the record header. */
  private endFrame(end: number): void {
    const b = this.buf;
    const frameStart = this.recordStart + 16;
    let length = end - frameStart;
    if (length < ETHERNET_MIN) {
      b.fill(0, end, frameStart + ETHERNET_MIN);
      length = ETHERNET_MIN;
    }
    const r = this.recordStart;
    b.writeUInt32LE(this.sec, r);
    b.writeUInt32LE(this.usec, r + 4);
    b.writeUInt32LE(length, r + 8);
    b.writeUInt32LE(length, r + 12);
    this.pos = frameStart + length;
    this.fileBytes += 16 + length;
    this.wireBytes += length;
    this.packets++;
  }

  private flush(): void {
    let at = 0;
    while (at < this.pos) at += writeSync(this.fd, this.buf, at, this.pos - at);
    this.pos = 0;
  }
}

function sum16(b: Buffer, start: number, end: number, initial: number): number {
  let sum = initial;
  const even = start + ((end - start) & ~1);
  for (let i = start; i < even; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (even < end) sum += b[even] << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

function transportChecksum(b: Buffer, l4: number, length: number, path: Path, protocol: number): number {
  const pseudo = (path.srcIp >>> 16) + (path.srcIp & 0xffff) + (path.dstIp >>> 16) + (path.dstIp & 0xffff) + protocol + length;
  return ~fold(sum16(b, l4, l4 + length, pseudo)) & 0xffff;
}

/** "10.1.2.3" as an unsigned 32-bit number. */
export function ipv4Number(text: string): number {
  const p = text.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export function ipv4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}
