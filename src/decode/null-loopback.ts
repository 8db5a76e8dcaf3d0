import type { PacketDecoder } from './decoder.js';
import type { PacketView } from './packet-view.js';
import { DECODE_NON_IP, type DecodeResult } from './result.js';

const AF_INET = 2;
/** AF_INET6 differs by system: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30. */
const AF_INET6 = new Set([10, 24, 28, 30]);

/**
 * BSD loopback: a 4-byte address family. LINKTYPE_NULL stores it in the capturing host's byte
 * order (so either), LINKTYPE_LOOP in network order.
 */
export function decodeNull(dec: PacketDecoder, view: PacketView, buf: Uint8Array, off: number, end: number, networkOrder: boolean): DecodeResult {
  if (end - off < 4) return dec.invalid('null.pkt_too_small');
  const be = ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
  const le = ((buf[off + 3] << 24) | (buf[off + 2] << 16) | (buf[off + 1] << 8) | buf[off]) >>> 0;
  // In host order the family is small; whichever reading is small is the right one.
  const family = networkOrder ? be : be <= 0xffff ? be : le;
  if (family === AF_INET || AF_INET6.has(family)) return dec.ip(view, buf, off + 4, end);
  if (family > 0xffff) return dec.invalid('null.unsupported_family');
  dec.stats.nonIp++;
  return DECODE_NON_IP;
}
