/**
 * Splits whole IPv4 / IPv6 packets (as built by ipv4()/ipv6()) into fragments. Pieces can be
 * chosen freely, so tests can send fragments out of order, leave one out, or overlap them with
 * bytes that disagree.
 */
import { concat, tagged, toBuffer, type Layer } from './bytes.js';
import { IPPROTO, ipv4 } from './ip.js';
import { ETHERTYPE } from './link.js';

export interface FragmentPiece {
  /** Where the piece starts in the fragmentable payload, in bytes (a multiple of 8). */
  offset: number;
  /** How many bytes of the original payload it carries; ignored when `data` is given. */
  length?: number;
  /** Bytes to carry instead of the original ones (overlapping fragments that disagree). */
  data?: Uint8Array;
  /** More-fragments flag; set unless the piece reaches the end of the payload. */
  more?: boolean;
}

function pieceBytes(payload: Buffer, piece: FragmentPiece): Buffer {
  if (piece.offset % 8 !== 0) throw new Error(`fragment offset ${piece.offset} is not a multiple of 8`);
  if (piece.data !== undefined) return toBuffer(piece.data);
  return payload.subarray(piece.offset, piece.offset + (piece.length ?? payload.length - piece.offset));
}

function evenPieces(total: number, size: number): FragmentPiece[] {
  if (size <= 0 || size % 8 !== 0) throw new Error(`fragment size ${size} is not a positive multiple of 8`);
  const pieces: FragmentPiece[] = [];
  for (let offset = 0; offset < total; offset += size) pieces.push({ offset, length: Math.min(size, total - offset) });
  return pieces;
}

function dotted(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** Options a non-first fragment keeps: those with the "copied" bit. */
function copiedOptions(options: Buffer): Buffer {
  const kept: Buffer[] = [];
  let i = 0;
  while (i < options.length) {
    const type = options[i];
    if (type === 0) break;
    if (type === 1) {
      i++;
      continue;
    }
    const len = Math.max(2, options[i + 1] ?? 2);
    if (type & 0x80) kept.push(options.subarray(i, i + len));
    i += len;
  }
  return concat(...kept);
}

/** One fragment of an IPv4 packet carrying the given piece of its payload. */
export function ipv4Fragment(packet: Uint8Array, piece: FragmentPiece): Layer {
  const p = toBuffer(packet);
  const ihl = (p[0] & 0x0f) * 4;
  const payload = p.subarray(ihl, p.readUInt16BE(2));
  const flags = p.readUInt16BE(6);
  const baseOffset = (flags & 0x1fff) * 8;
  const data = pieceBytes(payload, piece);
  const absolute = baseOffset + piece.offset;
  const options = p.subarray(20, ihl);
  return ipv4(
    {
      src: dotted(p, 12),
      dst: dotted(p, 16),
      id: p.readUInt16BE(4),
      ttl: p[8],
      tos: p[1],
      df: (flags & 0x4000) !== 0,
      mf: piece.more ?? ((flags & 0x2000) !== 0 || piece.offset + data.length < payload.length),
      fragmentOffset: absolute,
      protocol: p[9],
      options: absolute === 0 ? options : copiedOptions(options),
    },
    data,
  );
}

/** Splits an IPv4 packet into fragments of `size` payload bytes (a multiple of 8), in order. */
export function fragmentIPv4(packet: Uint8Array, size: number): Layer[] {
  const p = toBuffer(packet);
  const total = p.readUInt16BE(2) - (p[0] & 0x0f) * 4;
  return evenPieces(total, size).map((piece) => ipv4Fragment(p, piece));
}

/** Where the unfragmentable part (IPv6 header, hop-by-hop, routing and the options before it) ends. */
function unfragmentableEnd(p: Buffer): { end: number; nextAt: number } {
  let next = p[6];
  let nextAt = 6;
  let at = 40;
  let end = 40;
  let endNextAt = 6;
  while (next === IPPROTO.HOPOPTS || next === IPPROTO.ROUTING || next === IPPROTO.DSTOPTS) {
    const len = (p[at + 1] + 1) * 8;
    const type = next;
    next = p[at];
    nextAt = at;
    at += len;
    if (type !== IPPROTO.DSTOPTS) {
      end = at;
      endNextAt = nextAt;
    }
  }
  return { end, nextAt: endNextAt };
}

/** One fragment of an IPv6 packet: a fragment header goes after the unfragmentable part. */
export function ipv6Fragment(packet: Uint8Array, piece: FragmentPiece, id: number): Layer {
  const p = toBuffer(packet);
  const { end, nextAt } = unfragmentableEnd(p);
  const payload = p.subarray(end, 40 + p.readUInt16BE(4));
  const data = pieceBytes(payload, piece);
  const head = Buffer.from(p.subarray(0, end));
  const fragment = Buffer.alloc(8);
  fragment[0] = head[nextAt];
  head[nextAt] = IPPROTO.FRAGMENT;
  const more = piece.more ?? piece.offset + data.length < payload.length;
  fragment.writeUInt16BE(piece.offset | (more ? 1 : 0), 2);
  fragment.writeUInt32BE(id >>> 0, 4);
  head.writeUInt16BE(end - 40 + 8 + data.length, 4);
  return tagged(concat(head, fragment, data), { etherType: ETHERTYPE.IPV6, ipProtocol: IPPROTO.IPV6 });
}

/** Splits an IPv6 packet into fragments of `size` fragmentable bytes (a multiple of 8), in order. */
export function fragmentIPv6(packet: Uint8Array, size: number, id: number): Layer[] {
  const p = toBuffer(packet);
  const { end } = unfragmentableEnd(p);
  const total = 40 + p.readUInt16BE(4) - end;
  return evenPieces(total, size).map((piece) => ipv6Fragment(p, piece, id));
}
