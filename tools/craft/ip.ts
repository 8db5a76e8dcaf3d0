/**
 * IPv4 (options, flags, fragment offset, header checksum) and IPv6 (extension header chains).
 * Both fill the pseudo-header checksum of a TCP, UDP or ICMPv6 payload, in a copy of it.
 */
import { concat, internetChecksum, ipv4Address, ipv6Address, onesComplementSum, tagged, toBuffer, type Layer, type Payload } from './bytes.js';
import { ETHERTYPE } from './link.js';

export const IPPROTO = {
  HOPOPTS: 0,
  ICMP: 1,
  IPIP: 4,
  TCP: 6,
  UDP: 17,
  IPV6: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NONE: 59,
  DSTOPTS: 60,
} as const;

export interface Ipv4Options {
  src: string;
  dst: string;
  id?: number;
  ttl?: number;
  /** The whole DSCP/ECN byte. */
  tos?: number;
  df?: boolean;
  mf?: boolean;
  /** In bytes; a multiple of 8. */
  fragmentOffset?: number;
  /** Defaults to the payload's IP protocol. */
  protocol?: number;
  /** Raw option bytes (see ipv4Option); padded with end-of-list bytes to a multiple of 4. */
  options?: Uint8Array;
  /** Writes this header checksum instead of the correct one. */
  checksum?: number;
  /** Writes this total length instead of the real one. */
  totalLength?: number;
}

function protocolOf(payload: Payload, given: number | undefined, who: string): number {
  const proto = given ?? (typeof payload === 'string' ? undefined : (payload as Layer).ipProtocol);
  if (proto === undefined) throw new Error(`${who}: protocol not given and the payload does not name one`);
  return proto;
}

/** Copies the payload and fills its pseudo-header checksum, when it has one left to fill. */
function withPseudoChecksum(payload: Payload, pseudo: Buffer): Buffer {
  const body = Buffer.from(toBuffer(payload));
  const at = typeof payload === 'string' ? undefined : (payload as Layer).pseudoChecksumAt;
  if (at === undefined) return body;
  body.writeUInt16BE(0, at);
  if ((payload as Layer).checksumLeftToNic === true) {
    body.writeUInt16BE(onesComplementSum(pseudo), at);
    return body;
  }
  let sum = ~onesComplementSum(body, onesComplementSum(pseudo)) & 0xffff;
  if (sum === 0) sum = 0xffff; // UDP sends a computed zero as all ones; TCP and ICMPv6 accept either
  body.writeUInt16BE(sum, at);
  return body;
}

export function ipv4(opts: Ipv4Options, payload: Payload): Layer {
  const proto = protocolOf(payload, opts.protocol, 'ipv4');
  const src = ipv4Address(opts.src);
  const dst = ipv4Address(opts.dst);
  const raw = toBuffer(payload);
  // A non-first fragment carries no transport header of its own to fill.
  const body =
    (opts.fragmentOffset ?? 0) === 0
      ? withPseudoChecksum(payload, concat(src, dst, Buffer.from([0, proto, raw.length >> 8, raw.length & 0xff])))
      : Buffer.from(raw);
  const options = toBuffer(opts.options);
  const optionsLength = (options.length + 3) & ~3;
  if (optionsLength > 40) throw new Error(`ipv4: ${options.length} bytes of options do not fit`);
  const header = Buffer.alloc(20 + optionsLength);
  header[0] = 0x40 | (header.length >> 2);
  header[1] = opts.tos ?? 0;
  header.writeUInt16BE(opts.totalLength ?? header.length + body.length, 2);
  header.writeUInt16BE((opts.id ?? 0) & 0xffff, 4);
  const offset = opts.fragmentOffset ?? 0;
  if (offset % 8 !== 0) throw new Error(`ipv4: fragment offset ${offset} is not a multiple of 8`);
  header.writeUInt16BE((opts.df ? 0x4000 : 0) | (opts.mf ? 0x2000 : 0) | (offset >> 3), 6);
  header[8] = opts.ttl ?? 64;
  header[9] = proto;
  src.copy(header, 12);
  dst.copy(header, 16);
  options.copy(header, 20);
  header.writeUInt16BE(opts.checksum ?? internetChecksum(header), 10);
  return tagged(concat(header, body), { etherType: ETHERTYPE.IPV4, ipProtocol: IPPROTO.IPIP });
}

/** IPv4 option builders; concatenate several and pass them as `options`. */
export const ipv4Option = {
  nop: (): Buffer => Buffer.from([1]),
  /** RFC 2113 router alert (copied on fragmentation). */
  routerAlert: (value = 0): Buffer => Buffer.from([0x94, 4, value >> 8, value & 0xff]),
  /** Record route with room for `slots` addresses, the first `recorded` of them filled. */
  recordRoute: (slots: number, recorded: string[] = []): Buffer => {
    const b = Buffer.alloc(3 + 4 * slots);
    b[0] = 7;
    b[1] = b.length;
    b[2] = 4 + 4 * recorded.length;
    recorded.forEach((a, i) => ipv4Address(a).copy(b, 3 + 4 * i));
    return b;
  },
};

/** One IPv6 extension header; the builder chains next-header values. */
export interface Ipv6Extension {
  readonly protocol: number;
  encode(nextHeader: number): Buffer;
  /** Set by routing headers that still have segments left: the destination the transport checksum uses. */
  readonly finalDestination?: string;
}

/** IPv6 option TLV builders for hop-by-hop and destination options headers. */
export const ipv6Option = {
  pad1: (): Buffer => Buffer.from([0]),
  padN: (total: number): Buffer => (total === 1 ? Buffer.from([0]) : concat(Buffer.from([1, total - 2]), Buffer.alloc(total - 2))),
  routerAlert: (value = 0): Buffer => Buffer.from([5, 2, value >> 8, value & 0xff]),
};

/** Options header (hop-by-hop or destination): options padded with PadN to a multiple of 8. */
function optionsHeader(protocol: number, options: Uint8Array | undefined): Ipv6Extension {
  return {
    protocol,
    encode(next: number): Buffer {
      const opts = toBuffer(options);
      const length = (2 + opts.length + 7) & ~7;
      const pad = length - 2 - opts.length;
      return concat(Buffer.from([next, length / 8 - 1]), opts, pad > 0 ? ipv6Option.padN(pad) : Buffer.alloc(0));
    },
  };
}

export function hopByHop(options?: Uint8Array): Ipv6Extension {
  return optionsHeader(IPPROTO.HOPOPTS, options);
}

export function destinationOptions(options?: Uint8Array): Ipv6Extension {
  return optionsHeader(IPPROTO.DSTOPTS, options);
}

export interface RoutingOptions {
  /** 0 (deprecated source route) or 2 (Mobile IPv6 home address); both list addresses. */
  type?: number;
  segmentsLeft?: number;
  addresses: string[];
}

export function routingHeader(opts: RoutingOptions): Ipv6Extension {
  const segmentsLeft = opts.segmentsLeft ?? opts.addresses.length;
  return {
    protocol: IPPROTO.ROUTING,
    finalDestination: segmentsLeft > 0 ? opts.addresses[opts.addresses.length - 1] : undefined,
    encode(next: number): Buffer {
      const head = Buffer.from([next, opts.addresses.length * 2, opts.type ?? 0, segmentsLeft, 0, 0, 0, 0]);
      return concat(head, ...opts.addresses.map(ipv6Address));
    },
  };
}

export interface FragmentHeaderOptions {
  /** In bytes; a multiple of 8. */
  offset?: number;
  more?: boolean;
  id: number;
}

export function fragmentHeader(opts: FragmentHeaderOptions): Ipv6Extension {
  return {
    protocol: IPPROTO.FRAGMENT,
    encode(next: number): Buffer {
      const b = Buffer.alloc(8);
      b[0] = next;
      const offset = opts.offset ?? 0;
      if (offset % 8 !== 0) throw new Error(`fragmentHeader: offset ${offset} is not a multiple of 8`);
      b.writeUInt16BE(offset | (opts.more ? 1 : 0), 2);
      b.writeUInt32BE(opts.id >>> 0, 4);
      return b;
    },
  };
}

export interface AuthHeaderOptions {
  spi: number;
  seq: number;
  /** Integrity check value; 12 zero bytes (HMAC-SHA1-96 size) unless given. */
  icv?: Uint8Array;
}

/** IPsec authentication header (RFC 4302); its length counts 4-byte words minus 2. */
export function authHeader(opts: AuthHeaderOptions): Ipv6Extension {
  return {
    protocol: IPPROTO.AH,
    encode(next: number): Buffer {
      const icv = toBuffer(opts.icv ?? Buffer.alloc(12));
      const total = 12 + icv.length;
      if (total % 8 !== 0) throw new Error(`authHeader: ${total} bytes is not a multiple of 8 as IPv6 needs`);
      const b = Buffer.alloc(12);
      b[0] = next;
      b[1] = total / 4 - 2;
      b.writeUInt32BE(opts.spi >>> 0, 4);
      b.writeUInt32BE(opts.seq >>> 0, 8);
      return concat(b, icv);
    },
  };
}

export interface Ipv6Options {
  src: string;
  dst: string;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  /** Protocol of the payload after the last extension header; defaults to the payload's. */
  protocol?: number;
  extensions?: Ipv6Extension[];
  /** Writes this payload length instead of the real one. */
  payloadLength?: number;
}

export function ipv6(opts: Ipv6Options, payload: Payload): Layer {
  const proto = protocolOf(payload, opts.protocol, 'ipv6');
  const extensions = opts.extensions ?? [];
  const src = ipv6Address(opts.src);
  const dst = ipv6Address(opts.dst);
  let finalDst = dst;
  for (const ext of extensions) if (ext.finalDestination !== undefined) finalDst = ipv6Address(ext.finalDestination);
  const raw = toBuffer(payload);
  const pseudo = Buffer.alloc(40);
  src.copy(pseudo, 0);
  finalDst.copy(pseudo, 16);
  pseudo.writeUInt32BE(raw.length, 32);
  pseudo[39] = proto;
  // A payload after a non-first fragment header is the middle of a datagram: nothing to fill.
  const nonFirstFragment = extensions.some((e) => e.protocol === IPPROTO.FRAGMENT && fragmentOffsetOf(e) !== 0);
  const body = nonFirstFragment ? Buffer.from(raw) : withPseudoChecksum(payload, pseudo);
  const encoded = extensions.map((ext, i) => ext.encode(i + 1 < extensions.length ? extensions[i + 1].protocol : proto));
  const rest = concat(...encoded, body);
  const header = Buffer.alloc(40);
  const tc = opts.trafficClass ?? 0;
  header.writeUInt32BE(((6 << 28) | (tc << 20) | ((opts.flowLabel ?? 0) & 0xfffff)) >>> 0, 0);
  header.writeUInt16BE(opts.payloadLength ?? rest.length, 4);
  header[6] = extensions.length > 0 ? extensions[0].protocol : proto;
  header[7] = opts.hopLimit ?? 64;
  src.copy(header, 8);
  dst.copy(header, 24);
  return tagged(concat(header, rest), { etherType: ETHERTYPE.IPV6, ipProtocol: IPPROTO.IPV6 });
}

function fragmentOffsetOf(ext: Ipv6Extension): number {
  return ext.encode(0).readUInt16BE(2) & ~7;
}
