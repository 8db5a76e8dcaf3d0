import { IPPROTO_UDP, type PacketView } from './packet-view.js';

/**
 * Ones' complement sum of [start, end) of buf as big-endian 16-bit words, added to `sum` and not
 * yet folded: a plain number stays exact far beyond the largest packet.
 */
function sum16(buf: Uint8Array, start: number, end: number, sum: number): number {
  let i = start;
  // Four words a turn: on full-size segments the loop's own cost was a third of the sum's.
  for (const last = end - 7; i < last; i += 8) {
    sum += ((buf[i] << 8) | buf[i + 1]) + ((buf[i + 2] << 8) | buf[i + 3]) + ((buf[i + 4] << 8) | buf[i + 5]) + ((buf[i + 6] << 8) | buf[i + 7]);
  }
  for (const last = end - 1; i < last; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/** What a packet's TCP or UDP checksum says (see transportChecksum). */
export const CHECKSUM_UNKNOWN = -1;
export const CHECKSUM_BAD = 0;
export const CHECKSUM_GOOD = 1;
/**
 * Wrong, but exactly the pseudo-header's sum: what a sending host's stack writes for its NIC to
 * complete (checksum offload), so the packet was captured on its way out of that host.
 */
export const CHECKSUM_LEFT_TO_NIC = 2;

/**
 * The decoded TCP or UDP packet's checksum (RFC 1071 over the pseudo-header of RFC 793/768, or
 * RFC 8200's for IPv6, and the whole segment): good, bad, left to the NIC, or unknown when it
 * cannot be told (the snap length cut the segment, or the record says the NIC was to fill it in).
 * An IPv4 UDP checksum of zero means none was sent (good); over IPv6 it is required. No allocation.
 */
export function transportChecksum(view: PacketView): number {
  if (view.checksumsUncheckable || view.payloadLength !== view.payloadWireLength) return CHECKSUM_UNKNOWN;
  const buf = view.ipBuf;
  const start = view.transportOffset;
  const end = view.payloadOffset + view.payloadLength;
  const length = end - start;
  const udp = view.ipProto === IPPROTO_UDP;
  const field = udp ? start + 6 : start + 16;
  if (udp && buf[field] === 0 && buf[field + 1] === 0) return view.ipVersion === 4 ? CHECKSUM_GOOD : CHECKSUM_BAD;
  const ip = view.ipOffset;
  let pseudo = view.ipVersion === 4 ? sum16(buf, ip + 12, ip + 20, 0) : sum16(buf, ip + 8, ip + 40, 0);
  pseudo += view.ipProto + (length % 0x10000) + Math.floor(length / 0x10000);
  if (fold(sum16(buf, start, end, pseudo)) === 0xffff) return CHECKSUM_GOOD;
  return fold(pseudo) === ((buf[field] << 8) | buf[field + 1]) ? CHECKSUM_LEFT_TO_NIC : CHECKSUM_BAD;
}
