import type { PacketDecoder } from './decoder.js';
import type { PacketView } from './packet-view.js';
import { DECODE_OK, type DecodeResult } from './result.js';

const ICMP_HEADER = 8;

/** ICMP and ICMPv6 share the type/code layout that flows and rules need. */
export function decodeIcmp(dec: PacketDecoder, view: PacketView, buf: Uint8Array, off: number, end: number, wireLength: number, v6: boolean): DecodeResult {
  if (end - off < ICMP_HEADER) return dec.noTransport(view, v6 ? 'icmpv6.pkt_too_small' : 'icmpv4.pkt_too_small');
  if (v6) dec.stats.icmpv6++;
  else dec.stats.icmpv4++;
  view.icmpType = buf[off];
  view.icmpCode = buf[off + 1];
  view.payloadOffset = off + ICMP_HEADER;
  view.payloadLength = end - off - ICMP_HEADER;
  view.payloadWireLength = Math.max(wireLength - ICMP_HEADER, view.payloadLength);
  return DECODE_OK;
}
