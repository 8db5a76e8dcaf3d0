import type { PacketDecoder } from './decoder.js';
import { decodeLlc } from './ethernet.js';
import type { PacketView } from './packet-view.js';
import type { DecodeResult } from './result.js';

const SLL_HEADER = 16;
const SLL2_HEADER = 20;
/** Protocol field value meaning "an 802.2 LLC frame follows" in cooked headers. */
const SLL_PROTO_8022 = 0x0004;

/** Linux cooked capture v1 (LINKTYPE_LINUX_SLL), as `tcpdump -i any` writes. */
export function decodeSll(dec: PacketDecoder, view: PacketView, buf: Uint8Array, off: number, end: number): DecodeResult {
  if (end - off < SLL_HEADER) return dec.invalid('sll.pkt_too_small');
  const proto = (buf[off + 14] << 8) | buf[off + 15];
  if (proto === SLL_PROTO_8022) return decodeLlc(dec, view, buf, off + SLL_HEADER, end);
  return dec.ethertype(view, proto, buf, off + SLL_HEADER, end);
}

/** Linux cooked capture v2 (LINKTYPE_LINUX_SLL2): protocol first, then interface index. */
export function decodeSll2(dec: PacketDecoder, view: PacketView, buf: Uint8Array, off: number, end: number): DecodeResult {
  if (end - off < SLL2_HEADER) return dec.invalid('sll2.pkt_too_small');
  const proto = (buf[off] << 8) | buf[off + 1];
  if (proto === SLL_PROTO_8022) return decodeLlc(dec, view, buf, off + SLL2_HEADER, end);
  return dec.ethertype(view, proto, buf, off + SLL2_HEADER, end);
}
