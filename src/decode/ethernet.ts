import type { PacketDecoder } from './decoder.js';
import { MAX_VLAN_LAYERS, type PacketView } from './packet-view.js';
import { DECODE_NON_IP, type DecodeResult } from './result.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_QINQ_OLD = 0x9100;
export const ETHERTYPE_TEB = 0x6558;

const ETHERNET_HEADER = 14;
/** Values up to 1500 in the type field are an 802.3 length, followed by an LLC header. */
const MAX_8023_LENGTH = 0x05dc;

/** Ethernet II and 802.3/LLC(/SNAP) frames. */
export function decodeEthernet(dec: PacketDecoder, view: PacketView, buf: Uint8Array, off: number, end: number): DecodeResult {
  if (end - off < ETHERNET_HEADER) return dec.invalid('ethernet.pkt_too_small');
  // The innermost header wins: inside a mirror tunnel it is the monitored device's frame.
  view.dstMac = mac48(buf, off);
  view.srcMac = mac48(buf, off + 6);
  const type = (buf[off + 12] << 8) | buf[off + 13];
  if (type <= MAX_8023_LENGTH) return decodeLlc(dec, view, buf, off + ETHERNET_HEADER, end);
  return dec.ethertype(view, type, buf, off + ETHERNET_HEADER, end);
}

function mac48(buf: Uint8Array, at: number): number {
  return (((buf[at] << 8) | buf[at + 1]) * 0x100000000) + (((buf[at + 2] << 24) | (buf[at + 3] << 16) | (buf[at + 4] << 8) | buf[at + 5]) >>> 0);
}

/** 802.2 LLC; only SNAP with an ethertype leads on to IP. */
export function decodeLlc(dec: PacketDecoder, view: PacketView, buf: Uint8Array, off: number, end: number): DecodeResult {
  if (end - off < 3) return dec.invalid('llc.pkt_too_small');
  const isSnap = buf[off] === 0xaa && buf[off + 1] === 0xaa && buf[off + 2] === 0x03;
  if (!isSnap) {
    dec.stats.nonIp++; // STP, NetBIOS, IPX over LLC...
    return DECODE_NON_IP;
  }
  if (end - off < 8) return dec.invalid('llc.pkt_too_small');
  const type = (buf[off + 6] << 8) | buf[off + 7];
  return dec.ethertype(view, type, buf, off + 8, end);
}

/** 802.1Q / 802.1ad tags, stacked up to MAX_VLAN_LAYERS deep. */
export function decodeVlan(dec: PacketDecoder, view: PacketView, buf: Uint8Array, off: number, end: number): DecodeResult {
  if (end - off < 4) return dec.invalid('vlan.header_too_small');
  if (view.vlanCount >= MAX_VLAN_LAYERS) return dec.invalid('vlan.too_many_layers');
  if (view.vlanCount === 0) dec.stats.vlan++;
  view.vlanIds[view.vlanCount++] = ((buf[off] << 8) | buf[off + 1]) & 0x0fff;
  const type = (buf[off + 2] << 8) | buf[off + 3];
  if (type <= MAX_8023_LENGTH) return decodeLlc(dec, view, buf, off + 4, end);
  return dec.ethertype(view, type, buf, off + 4, end);
}

