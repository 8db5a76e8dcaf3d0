import type { CapturedPacket } from '../capture/packet.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_QINQ_OLD, ETHERTYPE_VLAN } from './ethernet.js';
import * as link from './link-types.js';

/**
 * The symmetric hash of a packet's outermost IP address pair, which decides the analysis thread
 * a packet belongs to. Both directions of a conversation, every conversation between the same two
 * hosts, and every fragment of a tunnelled datagram (whose fragments only show the tunnel's
 * addresses) hash alike. The decoder records the same value in PacketView.outerPairHash.
 */
export function ipv4PairHash(buf: Uint8Array, ipOffset: number): number {
  return (read32(buf, ipOffset + 12) ^ read32(buf, ipOffset + 16)) >>> 0;
}

export function ipv6PairHash(buf: Uint8Array, ipOffset: number): number {
  const src = ipOffset + 8;
  const dst = ipOffset + 24;
  const x0 = read32(buf, src) ^ read32(buf, dst);
  const x1 = read32(buf, src + 4) ^ read32(buf, dst + 4);
  const x2 = read32(buf, src + 8) ^ read32(buf, dst + 8);
  const x3 = read32(buf, src + 12) ^ read32(buf, dst + 12);
  return (Math.imul(x0, 0x9e3779b1) ^ x1 ^ Math.imul(x2, 0x85ebca6b) ^ x3) >>> 0;
}

/** The thread, of `count`, that analyses packets with this outer pair hash. */
export function shardOf(hash: number, count: number): number {
  return (Math.imul(hash ^ (hash >>> 16), 0x45d9f3b) >>> 0) % count;
}

/**
 * Finds the outermost IP header without decoding or counting anything, so that each thread can
 * skip the packets of the others cheaply. Packets with no readable IP header hash to 0: they all
 * go to one thread, which decodes and counts them.
 */
export function outerPairHashOf(pkt: CapturedPacket): number {
  const buf = pkt.data;
  const off = pkt.offset;
  const end = off + pkt.caplen;
  switch (pkt.linkType) {
    case link.LINKTYPE_ETHERNET:
      return end - off < 14 ? 0 : afterEthertype(buf, ethertypeAt(buf, off + 12), off + 14, end);
    case link.LINKTYPE_RAW:
    case link.DLT_RAW_12:
    case link.DLT_RAW_14:
    case link.LINKTYPE_IPV4:
    case link.LINKTYPE_IPV6:
    case link.LINKTYPE_NULL:
    case link.LINKTYPE_LOOP: {
      const ip = pkt.linkType === link.LINKTYPE_NULL || pkt.linkType === link.LINKTYPE_LOOP ? off + 4 : off;
      return ipPairHash(buf, ip, end);
    }
    case link.LINKTYPE_LINUX_SLL:
      return end - off < 16 ? 0 : afterEthertype(buf, cookedProto(ethertypeAt(buf, off + 14)), off + 16, end);
    case link.LINKTYPE_LINUX_SLL2:
      return end - off < 20 ? 0 : afterEthertype(buf, cookedProto(ethertypeAt(buf, off)), off + 20, end);
    default:
      return 0;
  }
}

/** Cooked captures say 0x0004 for "802.2 LLC follows"; as an 802.3 length it leads to the same place. */
function cookedProto(proto: number): number {
  return proto === 0x0004 ? 0 : proto;
}

function afterEthertype(buf: Uint8Array, type: number, off: number, end: number): number {
  for (;;) {
    if (type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6) return ipPairHash(buf, off, end);
    if (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) {
      if (end - off < 4) return 0;
      type = ethertypeAt(buf, off + 2);
      off += 4;
    } else if (type <= 0x05dc) {
      // 802.3 length: only LLC/SNAP carries an ethertype on.
      if (end - off < 8 || buf[off] !== 0xaa || buf[off + 1] !== 0xaa || buf[off + 2] !== 0x03) return 0;
      type = ethertypeAt(buf, off + 6);
      off += 8;
    } else {
      return 0;
    }
  }
}

function ipPairHash(buf: Uint8Array, off: number, end: number): number {
  if (end - off < 1) return 0;
  const version = buf[off] >> 4;
  if (version === 4) return end - off < 20 ? 0 : ipv4PairHash(buf, off);
  if (version === 6) return end - off < 40 ? 0 : ipv6PairHash(buf, off);
  return 0;
}

function ethertypeAt(buf: Uint8Array, at: number): number {
  return (buf[at] << 8) | buf[at + 1];
}

function read32(buf: Uint8Array, at: number): number {
  return (buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3];
}
