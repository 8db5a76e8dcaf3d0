/**
 * Byte helpers shared by the packet builders: address parsing, concatenation, the Internet
 * checksum, and the tags a layer carries so that the layer around it can name it.
 */

/** Numbers an enclosing layer needs to name this one; builders fill them, raw Buffers lack them. */
export interface LayerTags {
  /** EtherType naming this layer inside Ethernet, VLAN tags, SNAP, SLL and GRE. */
  etherType?: number;
  /** IP protocol number naming this layer inside IPv4 / IPv6. */
  ipProtocol?: number;
  /** Offset of a checksum covering the IP pseudo-header; the IP builder fills it in a copy. */
  pseudoChecksumAt?: number;
  /** The checksum is to be the pseudo-header's sum alone: what a host leaves for its NIC to finish. */
  checksumLeftToNic?: boolean;
}

/** The bytes of one layer and everything inside it. A plain Buffer is a Layer without tags. */
export type Layer = Buffer & LayerTags;

/** Payload accepted by every builder: bytes, or a string written as UTF-8. */
export type Payload = Uint8Array | string;

export function tagged(bytes: Buffer, tags: LayerTags): Layer {
  return Object.assign(bytes, tags);
}

export function toBuffer(payload: Payload | undefined): Buffer {
  if (payload === undefined) return Buffer.alloc(0);
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  return Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

export function concat(...parts: Payload[]): Buffer {
  return Buffer.concat(parts.map(toBuffer));
}

export function u16be(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value & 0xffff);
  return b;
}

export function u32be(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

/** "00:1b:21:0a:0b:0c" (or with dashes) to 6 bytes. */
export function mac(text: string): Buffer {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`not a MAC address: ${text}`);
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function ipv4Address(text: string): Buffer {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`not an IPv4 address: ${text}`);
  }
  return Buffer.from(parts.map(Number));
}

/** Full IPv6 text form: "::" compression and a trailing dotted IPv4 part are accepted. */
export function ipv6Address(text: string): Buffer {
  let groups: string[];
  let tail = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  const extra: number[] = [];
  if (v4) {
    const b = ipv4Address(v4[1]);
    extra.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
    tail = text.slice(0, -v4[1].length);
    if (tail.endsWith(':') && !tail.endsWith('::')) tail = tail.slice(0, -1);
  }
  const halves = tail.split('::');
  if (halves.length > 2) throw new Error(`not an IPv6 address: ${text}`);
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const rest = halves.length === 2 && halves[1] !== '' ? halves[1].split(':') : [];
  const explicit = head.length + rest.length + extra.length;
  if (halves.length === 2) {
    if (explicit > 7) throw new Error(`not an IPv6 address: ${text}`);
    groups = [...head, ...Array<string>(8 - explicit).fill('0'), ...rest];
  } else {
    groups = head;
  }
  const words = [...groups.map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)), ...extra];
  if (words.length !== 8 || words.some(Number.isNaN)) throw new Error(`not an IPv6 address: ${text}`);
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

export function isIPv6(text: string): boolean {
  return text.includes(':');
}

/** One's-complement sum of the bytes (odd length padded with a zero byte), not yet inverted. */
export function onesComplementSum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** RFC 1071 Internet checksum over the concatenation of the parts. */
export function internetChecksum(...parts: Uint8Array[]): number {
  return ~onesComplementSum(Buffer.concat(parts)) & 0xffff;
}
