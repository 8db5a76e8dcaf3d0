import type { PacketDecoder } from './decoder.js';
import { ipv6PairHash } from './outer-pair.js';
import type { PacketView } from './packet-view.js';
import { DECODE_HELD, type DecodeResult } from './result.js';

const IPV6_HEADER = 40;
const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AH = 51;
const DEST_OPTS = 60;
const MOBILITY = 135;
const HIP = 139;
const SHIM6 = 140;

/** IPv6 and its extension header chain, down to the transport. */
export function decodeIpv6(dec: PacketDecoder, view: PacketView, buf: Uint8Array, off: number, end: number): DecodeResult {
  if (end - off < IPV6_HEADER) return dec.invalid('ipv6.pkt_too_small');
  if (buf[off] >> 4 !== 6) return dec.invalid('ipv6.wrong_ip_version');
  const payloadLength = (buf[off + 4] << 8) | buf[off + 5];
  let ipEnd = off + IPV6_HEADER + payloadLength;
  if (ipEnd > end) {
    if (!view.cutBySnaplen) return dec.invalid('ipv6.trunc_pkt');
    ipEnd = end;
  }
  dec.stats.ipv6++;
  view.ipVersion = 6;
  const a = view.addr;
  for (let i = 0; i < 8; i++) {
    const o = off + 8 + i * 4;
    a[i] = ((buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3]) >>> 0;
  }
  if (view.tunnelDepth === 0) view.outerPairHash = ipv6PairHash(buf, off);
  view.ttl = buf[off + 7];
  view.ipBuf = buf;
  view.ipOffset = off;
  view.ipCapturedLength = ipEnd - off;

  // The chain is walked as far as the packet's bytes go, as the hosts that answer such packets do:
  // a cap on the number of headers would let a long chain hide the transport. Each header takes
  // at least 8 bytes, so the walk ends.
  let next = buf[off + 6];
  let o = off + IPV6_HEADER;
  for (;;) {
    view.ipProto = next;
    if (next === HOP_BY_HOP || next === ROUTING || next === DEST_OPTS || next === MOBILITY || next === HIP || next === SHIM6) {
      if (ipEnd - o < 8) return dec.noTransport(view, 'ipv6.trunc_exthdr');
      const len = (buf[o + 1] + 1) * 8;
      if (ipEnd - o < len) return dec.noTransport(view, 'ipv6.trunc_exthdr');
      // Segments left: the pseudo-header's destination is the route's last address, not this one.
      if (next === ROUTING && buf[o + 3] !== 0) view.checksumsUncheckable = true;
      next = buf[o];
      o += len;
    } else if (next === AH) {
      if (ipEnd - o < 8) return dec.noTransport(view, 'ipv6.trunc_exthdr');
      const len = (buf[o + 1] + 2) * 4;
      if (ipEnd - o < len) return dec.noTransport(view, 'ipv6.trunc_exthdr');
      next = buf[o];
      o += len;
    } else if (next === FRAGMENT) {
      if (ipEnd - o < 8) return dec.noTransport(view, 'ipv6.trunc_exthdr');
      const proto = buf[o];
      const offsetFlags = (buf[o + 2] << 8) | buf[o + 3];
      const fragOffset = offsetFlags & 0xfff8;
      const moreFragments = (offsetFlags & 1) !== 0;
      if (fragOffset === 0 && !moreFragments) {
        // An atomic fragment (RFC 6946): a whole datagram that happens to carry the header.
        next = proto;
        o += 8;
        continue;
      }
      const id = ((buf[o + 4] << 24) | (buf[o + 5] << 16) | (buf[o + 6] << 8) | buf[o + 7]) >>> 0;
      view.ipProto = proto;
      const whole = dec.defrag.addIpv6(view, id, fragOffset, moreFragments, buf, off, o - off, o + 8, ipEnd);
      if (whole === null) return DECODE_HELD;
      view.reassembled = true;
      view.ipBuf = whole.buf;
      view.ipOffset = 0;
      view.ipCapturedLength = whole.buf.length;
      return dec.transport(view, proto, whole.buf, whole.payloadOffset, whole.buf.length, whole.buf.length - whole.payloadOffset);
    } else {
      break; // a transport, ESP, or no-next-header (59)
    }
  }
  view.ipProto = next;
  return dec.transport(view, next, buf, o, ipEnd, off + IPV6_HEADER + payloadLength - o);
}
