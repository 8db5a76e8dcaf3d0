import type { PacketDecoder } from './decoder.js';
import { ETHERTYPE_TEB } from './ethernet.js';
import type { PacketView } from './packet-view.js';
import type { DecodeResult } from './result.js';

const GRE_CHECKSUM = 0x8000;
const GRE_KEY = 0x2000;
const GRE_SEQUENCE = 0x1000;
const ERSPAN_TYPE_2 = 0x88be;
const ERSPAN_TYPE_3 = 0x22eb;
const ERSPAN_2_HEADER = 8;
const ERSPAN_3_HEADER = 12;
const ERSPAN_3_PLATFORM_SUBHEADER = 8;

/**
 * GRE (RFC 2784/2890) and the ERSPAN mirror sessions carried in it. What matters is the mirrored
 * frame inside, so the inner packet replaces the outer one in the view.
 */
export function decodeGre(dec: PacketDecoder, view: PacketView, buf: Uint8Array, off: number, end: number): DecodeResult {
  if (end - off < 4) return dec.invalid('gre.pkt_too_small');
  const flags = (buf[off] << 8) | buf[off + 1];
  if ((flags & 0x7) !== 0) return dec.invalid('gre.wrong_version'); // only version 0 carries packets
  const proto = (buf[off + 2] << 8) | buf[off + 3];
  let o = off + 4;
  if (flags & GRE_CHECKSUM) o += 4;
  if (flags & GRE_KEY) o += 4;
  if (flags & GRE_SEQUENCE) o += 4;
  if (o > end) return dec.invalid('gre.pkt_too_small');
  dec.stats.gre++;
  if (!dec.canDecapsulate(view)) return dec.invalid('tunnel.too_deep');
  view.tunnelDepth++;

  if (proto === ERSPAN_TYPE_2) {
    dec.stats.erspan++;
    // Type I has no sequence bit and no ERSPAN header: the frame follows the GRE header.
    if ((flags & GRE_SEQUENCE) === 0) return dec.innerEthernet(view, buf, o, end);
    if (end - o < ERSPAN_2_HEADER) return dec.invalid('erspan.header_too_small');
    if (buf[o] >> 4 !== 1) return dec.invalid('erspan.unsupported_version');
    return dec.innerEthernet(view, buf, o + ERSPAN_2_HEADER, end);
  }
  if (proto === ERSPAN_TYPE_3) {
    dec.stats.erspan++;
    if (end - o < ERSPAN_3_HEADER) return dec.invalid('erspan.header_too_small');
    if (buf[o] >> 4 !== 2) return dec.invalid('erspan.unsupported_version');
    let inner = o + ERSPAN_3_HEADER;
    if (buf[o + 11] & 0x01) inner += ERSPAN_3_PLATFORM_SUBHEADER; // O flag
    if (inner > end) return dec.invalid('erspan.header_too_small');
    return dec.innerEthernet(view, buf, inner, end);
  }
  if (proto === ETHERTYPE_TEB) return dec.innerEthernet(view, buf, o, end);
  return dec.ethertype(view, proto, buf, o, end);
}
