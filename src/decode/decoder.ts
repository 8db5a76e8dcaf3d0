import type { CapturedPacket } from '../capture/packet.js';
import { DecodeStats, type InvalidReason } from './decode-stats.js';
import { DEFAULT_DEFRAG_OPTIONS, Defragmenter, type DefragOptions } from './defrag.js';
import {
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_QINQ,
  ETHERTYPE_QINQ_OLD,
  ETHERTYPE_VLAN,
  decodeEthernet,
  decodeVlan,
} from './ethernet.js';
import { decodeGre } from './gre.js';
import { decodeIcmp } from './icmp.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import * as link from './link-types.js';
import { decodeNull } from './null-loopback.js';
import { IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, type PacketView } from './packet-view.js';
import { DECODE_INVALID, DECODE_NON_IP, DECODE_OK, type DecodeResult } from './result.js';
import { decodeSll, decodeSll2 } from './sll.js';
import { decodeTcp } from './tcp.js';
import { decodeUdp } from './udp.js';

/** Tunnels inside tunnels beyond this are not followed. */
const MAX_TUNNEL_DEPTH = 3;

/**
 * Decodes captured frames into a PacketView, from the link layer down to TCP/UDP/ICMP, through
 * VLAN tags, GRE/ERSPAN/VXLAN mirror encapsulation and IP fragmentation. Never throws on bad
 * bytes: malformed packets are counted by reason in `stats` and reported as DECODE_INVALID.
 */
export class PacketDecoder {
  readonly stats = new DecodeStats();
  readonly defrag: Defragmenter;

  constructor(defragOptions: DefragOptions = DEFAULT_DEFRAG_OPTIONS) {
    this.defrag = new Defragmenter(this.stats, defragOptions);
  }

  decode(pkt: CapturedPacket, view: PacketView): DecodeResult {
    const stats = this.stats;
    stats.packets++;
    stats.bytes += pkt.origlen;
    stats.countLinkType(pkt.linkType);
    view.reset();
    view.tsSec = pkt.tsSec;
    view.tsNsec = pkt.tsNsec;
    view.linkType = pkt.linkType;
    view.wireLength = pkt.origlen;
    view.capturedLength = pkt.caplen;
    view.cutBySnaplen = pkt.caplen < pkt.origlen;
    if (view.cutBySnaplen) stats.truncatedBySnaplen++;
    if (pkt.timestampWasCarried) stats.timestampsCarried++;
    const buf = pkt.data;
    const off = pkt.offset;
    const end = off + pkt.caplen;
    switch (pkt.linkType) {
      case link.LINKTYPE_ETHERNET:
        return decodeEthernet(this, view, buf, off, end);
      case link.LINKTYPE_RAW:
      case link.DLT_RAW_12:
      case link.DLT_RAW_14:
        return this.ip(view, buf, off, end);
      case link.LINKTYPE_IPV4:
        return decodeIpv4(this, view, buf, off, end);
      case link.LINKTYPE_IPV6:
        return decodeIpv6(this, view, buf, off, end);
      case link.LINKTYPE_LINUX_SLL:
        return decodeSll(this, view, buf, off, end);
      case link.LINKTYPE_LINUX_SLL2:
        return decodeSll2(this, view, buf, off, end);
      case link.LINKTYPE_NULL:
        return decodeNull(this, view, buf, off, end, false);
      case link.LINKTYPE_LOOP:
        return decodeNull(this, view, buf, off, end, true);
      default:
        return this.invalid('link.unsupported');
    }
  }

  /** Counts an invalid packet; returns DECODE_INVALID so layers can `return dec.invalid(...)`. */
  invalid(reason: InvalidReason): DecodeResult {
    this.stats.countInvalid(reason);
    return DECODE_INVALID;
  }

  /**
   * Counts a packet whose IP header was decoded but whose transport cannot be reached (cut off,
   * or a malformed header): it is invalid, yet its addresses are known, and the flow layer still
   * hands them to the rule engine (see PacketView.transportMissing).
   */
  noTransport(view: PacketView, reason: InvalidReason): DecodeResult {
    view.transportMissing = true;
    view.srcPort = 0;
    view.dstPort = 0;
    view.payloadLength = 0;
    view.payloadWireLength = 0;
    return this.invalid(reason);
  }

  ethertype(view: PacketView, type: number, buf: Uint8Array, off: number, end: number): DecodeResult {
    switch (type) {
      case ETHERTYPE_IPV4:
        return decodeIpv4(this, view, buf, off, end);
      case ETHERTYPE_IPV6:
        return decodeIpv6(this, view, buf, off, end);
      case ETHERTYPE_VLAN:
      case ETHERTYPE_QINQ:
      case ETHERTYPE_QINQ_OLD:
        return decodeVlan(this, view, buf, off, end);
      default:
        this.stats.nonIp++;
        return DECODE_NON_IP;
    }
  }

  /** A raw IP packet of either version, told apart by its version nibble. */
  ip(view: PacketView, buf: Uint8Array, off: number, end: number): DecodeResult {
    if (end <= off) return this.invalid('ipraw.invalid_ip_version');
    const version = buf[off] >> 4;
    if (version === 4) return decodeIpv4(this, view, buf, off, end);
    if (version === 6) return decodeIpv6(this, view, buf, off, end);
    return this.invalid('ipraw.invalid_ip_version');
  }

  transport(view: PacketView, proto: number, buf: Uint8Array, off: number, end: number, wireLength: number): DecodeResult {
    view.transportOffset = off;
    switch (proto) {
      case IPPROTO_TCP:
        return decodeTcp(this, view, buf, off, end, wireLength);
      case IPPROTO_UDP:
        return decodeUdp(this, view, buf, off, end, wireLength);
      case IPPROTO_ICMP:
        return decodeIcmp(this, view, buf, off, end, wireLength, false);
      case IPPROTO_ICMPV6:
        return decodeIcmp(this, view, buf, off, end, wireLength, true);
      case IPPROTO_GRE:
        return decodeGre(this, view, buf, off, end);
      default:
        this.stats.otherIpProto++;
        view.payloadOffset = off;
        view.payloadLength = end - off;
        view.payloadWireLength = Math.max(wireLength, end - off);
        return DECODE_OK;
    }
  }

  canDecapsulate(view: PacketView): boolean {
    return view.tunnelDepth < MAX_TUNNEL_DEPTH;
  }

  /** The frame inside a tunnel: from here on, it is the packet. */
  innerEthernet(view: PacketView, buf: Uint8Array, off: number, end: number): DecodeResult {
    // Nothing of the outer packet may leak into the inner one (an inner ICMP has no ports).
    const depth = view.tunnelDepth;
    view.reset();
    view.tunnelDepth = depth;
    return decodeEthernet(this, view, buf, off, end);
  }
}

export { DECODE_HELD, DECODE_INVALID, DECODE_NON_IP, DECODE_OK } from './result.js';
