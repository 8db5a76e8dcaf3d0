import type { PacketDecoder } from './decoder.js';
import type { PacketView } from './packet-view.js';
import { DECODE_OK, type DecodeResult } from './result.js';
import { VXLAN_PORT, decodeVxlan } from './vxlan.js';

const UDP_HEADER = 8;

/** UDP; VXLAN on its port is decapsulated when its header is well-formed. */
export function decodeUdp(dec: PacketDecoder, view: PacketView, buf: Uint8Array, off: number, end: number, wireLength: number): DecodeResult {
  if (end - off < UDP_HEADER) return dec.noTransport(view, 'udp.pkt_too_small');
  const length = (buf[off + 4] << 8) | buf[off + 5];
  if (length < UDP_HEADER || length > wireLength) return dec.noTransport(view, 'udp.hlen_invalid');
  dec.stats.udp++;
  view.srcPort = (buf[off] << 8) | buf[off + 1];
  view.dstPort = (buf[off + 2] << 8) | buf[off + 3];
  const payloadEnd = Math.min(end, off + length);
  if (view.dstPort === VXLAN_PORT && dec.canDecapsulate(view)) {
    const inner = decodeVxlan(dec, view, buf, off + UDP_HEADER, payloadEnd);
    if (inner !== null) return inner;
  }
  view.payloadOffset = off + UDP_HEADER;
  view.payloadLength = payloadEnd - off - UDP_HEADER;
  view.payloadWireLength = length - UDP_HEADER;
  return DECODE_OK;
}
