/**
 * Transport builders: TCP (flags, options), UDP, ICMP and ICMPv6. TCP, UDP and ICMPv6 checksums
 * cover the IP pseudo-header, so the enclosing ipv4()/ipv6() fills them.
 */
import { concat, internetChecksum, tagged, toBuffer, type Layer, type Payload } from './bytes.js';
import { IPPROTO } from './ip.js';

const TCP_FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80 };

/** "SA", "PA", "FA", "R"...: F S R P A U, E for ECE, C for CWR. */
export function tcpFlags(letters: string): number {
  let bits = 0;
  for (const ch of letters.toUpperCase()) {
    const bit = TCP_FLAG_BITS[ch];
    if (bit === undefined) throw new Error(`tcp: unknown flag letter ${ch} in ${letters}`);
    bits |= bit;
  }
  return bits;
}

/** TCP option builders; pass several as `options`, they are padded with end-of-list to 4 bytes. */
export const tcpOption = {
  eol: (): Buffer => Buffer.from([0]),
  nop: (): Buffer => Buffer.from([1]),
  mss: (value: number): Buffer => Buffer.from([2, 4, value >> 8, value & 0xff]),
  windowScale: (shift: number): Buffer => Buffer.from([3, 3, shift]),
  sackPermitted: (): Buffer => Buffer.from([4, 2]),
  sack: (blocks: Array<[left: number, right: number]>): Buffer => {
    const b = Buffer.alloc(2 + 8 * blocks.length);
    b[0] = 5;
    b[1] = b.length;
    blocks.forEach(([l, r], i) => {
      b.writeUInt32BE(l >>> 0, 2 + 8 * i);
      b.writeUInt32BE(r >>> 0, 6 + 8 * i);
    });
    return b;
  },
  timestamps: (value: number, echo: number): Buffer => {
    const b = Buffer.alloc(10);
    b[0] = 8;
    b[1] = 10;
    b.writeUInt32BE(value >>> 0, 2);
    b.writeUInt32BE(echo >>> 0, 6);
    return b;
  },
};

export interface TcpOptions {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** Flag letters, e.g. 'S', 'SA', 'A', 'PA', 'FA', 'R'. */
  flags: string;
  window?: number;
  urgent?: number;
  options?: Uint8Array[];
  /** Writes this checksum instead of the correct one; `left-to-nic`: the pseudo-header's sum (offload). */
  checksum?: number | 'left-to-nic';
}

export function tcp(opts: TcpOptions, payload?: Payload): Layer {
  const options = concat(...(opts.options ?? []));
  const optionsLength = (options.length + 3) & ~3;
  if (optionsLength > 40) throw new Error(`tcp: ${options.length} bytes of options do not fit`);
  const header = Buffer.alloc(20 + optionsLength);
  header.writeUInt16BE(opts.sport, 0);
  header.writeUInt16BE(opts.dport, 2);
  header.writeUInt32BE((opts.seq ?? 0) >>> 0, 4);
  header.writeUInt32BE((opts.ack ?? 0) >>> 0, 8);
  header[12] = (header.length >> 2) << 4;
  header[13] = tcpFlags(opts.flags);
  header.writeUInt16BE(opts.window ?? 64240, 14);
  header.writeUInt16BE(typeof opts.checksum === 'number' ? opts.checksum : 0, 16);
  header.writeUInt16BE(opts.urgent ?? 0, 18);
  options.copy(header, 20);
  return tagged(concat(header, toBuffer(payload)), {
    ipProtocol: IPPROTO.TCP,
    pseudoChecksumAt: typeof opts.checksum === 'number' ? undefined : 16,
    checksumLeftToNic: opts.checksum === 'left-to-nic',
  });
}

export interface UdpOptions {
  sport: number;
  dport: number;
  /** Writes this checksum instead of the correct one; 0 means "no checksum" (IPv4 only); `left-to-nic`: the pseudo-header's sum (offload). */
  checksum?: number | 'left-to-nic';
  /** Writes this length instead of the real one. */
  length?: number;
}

export function udp(opts: UdpOptions, payload?: Payload): Layer {
  const body = toBuffer(payload);
  const header = Buffer.alloc(8);
  header.writeUInt16BE(opts.sport, 0);
  header.writeUInt16BE(opts.dport, 2);
  header.writeUInt16BE(opts.length ?? 8 + body.length, 4);
  header.writeUInt16BE(typeof opts.checksum === 'number' ? opts.checksum : 0, 6);
  return tagged(concat(header, body), {
    ipProtocol: IPPROTO.UDP,
    pseudoChecksumAt: typeof opts.checksum === 'number' ? undefined : 6,
    checksumLeftToNic: opts.checksum === 'left-to-nic',
  });
}

export interface IcmpOptions {
  type: number;
  code?: number;
  /** The 4 bytes after the checksum (identifier and sequence, unused, MTU...). */
  rest?: Uint8Array;
}

/** ICMP for IPv4: the checksum covers the message only. */
export function icmp(opts: IcmpOptions, payload?: Payload): Layer {
  const header = Buffer.alloc(8);
  header[0] = opts.type;
  header[1] = opts.code ?? 0;
  if (opts.rest) toBuffer(opts.rest).copy(header, 4, 0, 4);
  const message = concat(header, toBuffer(payload));
  message.writeUInt16BE(internetChecksum(message), 2);
  return tagged(message, { ipProtocol: IPPROTO.ICMP });
}

/** ICMPv6: the enclosing ipv6() fills the pseudo-header checksum. */
export function icmpv6(opts: IcmpOptions, payload?: Payload): Layer {
  const header = Buffer.alloc(8);
  header[0] = opts.type;
  header[1] = opts.code ?? 0;
  if (opts.rest) toBuffer(opts.rest).copy(header, 4, 0, 4);
  return tagged(concat(header, toBuffer(payload)), { ipProtocol: IPPROTO.ICMPV6, pseudoChecksumAt: 2 });
}

export interface EchoOptions {
  reply?: boolean;
  id: number;
  seq: number;
}

function idSeq(opts: EchoOptions): Buffer {
  return Buffer.from([opts.id >> 8, opts.id & 0xff, opts.seq >> 8, opts.seq & 0xff]);
}

/** ICMP echo request (type 8) or reply (type 0). */
export function icmpEcho(opts: EchoOptions, payload?: Payload): Layer {
  return icmp({ type: opts.reply ? 0 : 8, rest: idSeq(opts) }, payload);
}

/** ICMPv6 echo request (type 128) or reply (type 129). */
export function icmpv6Echo(opts: EchoOptions, payload?: Payload): Layer {
  return icmpv6({ type: opts.reply ? 129 : 128, rest: idSeq(opts) }, payload);
}
