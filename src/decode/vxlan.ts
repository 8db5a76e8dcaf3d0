import type { PacketDecoder } from './decoder.js';
import type { PacketView } from './packet-view.js';
import type { DecodeResult } from './result.js';

export const VXLAN_PORT = 4789;
const VXLAN_HEADER = 8;
const FLAG_VNI_VALID = 0x08;

/**
 * VXLAN (RFC 7348). Returns null when the UDP payload does not look like VXLAN, so the datagram
 * is analysed as plain UDP instead.
 */
export function decodeVxlan(dec: PacketDecoder, view: PacketView, buf: Uint8Array, off: number, end: number): DecodeResult | null {
  if (end - off < VXLAN_HEADER + 14) return null;
  if (buf[off] !== FLAG_VNI_VALID || buf[off + 7] !== 0) return null;
  dec.stats.vxlan++;
  view.tunnelDepth++;
  return dec.innerEthernet(view, buf, off + VXLAN_HEADER, end);
}
