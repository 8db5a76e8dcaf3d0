import type { PacketDecoder } from './decoder.js';
import { ipv4PairHash } from './outer-pair.js';
import type { PacketView } from './packet-view.js';
import { DECODE_HELD, type DecodeResult } from './result.js';

const IPV4_MIN_HEADER = 20;

/** IPv4 with options; fragments go to the defragmenter and come back whole. */
export function decodeIpv4(dec: PacketDecoder, view: PacketView, buf: Uint8Array, off: number, end: number): DecodeResult {
  const avail = end - off;
  if (avail < IPV4_MIN_HEADER) return dec.invalid('ipv4.pkt_too_small');
  const vihl = buf[off];
  if (vihl >> 4 !== 4) return dec.invalid('ipv4.wrong_ip_version');
  const hlen = (vihl & 0x0f) * 4;
  if (hlen < IPV4_MIN_HEADER) return dec.invalid('ipv4.hlen_too_small');
  if (avail < hlen) return dec.invalid('ipv4.pkt_too_small');
  let totalLength = (buf[off + 2] << 8) | buf[off + 3];
  if (totalLength === 0) {
    // A TSO/GRO record: the host captured a segment before the NIC split it (or after it merged
    // several), and such records carry no length. The record's own length is the packet's, as
    // tshark takes it; its checksums were left to the NIC, so they cannot be checked.
    totalLength = end - off + (view.wireLength - view.capturedLength);
    view.checksumsUncheckable = true;
    dec.stats.countAnomaly('ipv4.total_length_zero');
  }
  if (totalLength < hlen) return dec.invalid('ipv4.iplen_smaller_than_hlen');
  // Bytes past the total length are link padding; fewer bytes than it are only legal when the
  // snap length cut the frame.
  let ipEnd = off + totalLength;
  if (ipEnd > end) {
    if (!view.cutBySnaplen) return dec.invalid('ipv4.trunc_pkt');
    ipEnd = end;
  }
  dec.stats.ipv4++;
  view.ipVersion = 4;
  const a = view.addr;
  a[0] = ((buf[off + 12] << 24) | (buf[off + 13] << 16) | (buf[off + 14] << 8) | buf[off + 15]) >>> 0;
  a[1] = 0;
  a[2] = 0;
  a[3] = 0;
  a[4] = ((buf[off + 16] << 24) | (buf[off + 17] << 16) | (buf[off + 18] << 8) | buf[off + 19]) >>> 0;
  a[5] = 0;
  a[6] = 0;
  a[7] = 0;
  if (view.tunnelDepth === 0) view.outerPairHash = ipv4PairHash(buf, off);
  view.ttl = buf[off + 8];
  const proto = buf[off + 9];
  view.ipProto = proto;
  view.ipBuf = buf;
  view.ipOffset = off;
  view.ipCapturedLength = ipEnd - off;

  const flagsFrag = (buf[off + 6] << 8) | buf[off + 7];
  const moreFragments = (flagsFrag & 0x2000) !== 0;
  const fragOffset = (flagsFrag & 0x1fff) * 8;
  if (moreFragments || fragOffset > 0) {
    const id = (buf[off + 4] << 8) | buf[off + 5];
    const whole = dec.defrag.addIpv4(view, id, proto, fragOffset, moreFragments, buf, off, hlen, off + hlen, ipEnd);
    if (whole === null) return DECODE_HELD;
    view.reassembled = true;
    view.ipBuf = whole;
    view.ipOffset = 0;
    view.ipCapturedLength = whole.length;
    // The datagram's header is the first fragment's, whose options may differ from this one's.
    const wholeHlen = (whole[0] & 0x0f) * 4;
    return dec.transport(view, proto, whole, wholeHlen, whole.length, whole.length - wholeHlen);
  }
  return dec.transport(view, proto, buf, off + hlen, ipEnd, totalLength - hlen);
}
