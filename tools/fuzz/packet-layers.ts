/**
 * Finds the layers of a captured frame (link, IP, transport, payload) so mutations can aim at
 * header fields. Deliberately simple and independent of the product's decoder: it only has to
 * be right for the well-formed seeds, and it never throws.
 */

export interface Layers {
  /** Offset of the IP header, its version, the transport protocol and the transport header. */
  ip: number;
  version: 4 | 6;
  proto: number;
  transport: number;
  /** Transport payload: [payload, end). */
  payload: number;
  end: number;
  /** IPv4: this is a fragment (no transport header at `transport` unless it is the first). */
  fragment: boolean;
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const VLAN_TYPES = new Set([0x8100, 0x88a8, 0x9100]);

/** Offset of the IP header in a frame of the given link type, or -1. */
export function ipOffset(linkType: number, d: Buffer): number {
  switch (linkType) {
    case 1: {
      let at = 12;
      while (at + 2 <= d.length) {
        const type = d.readUInt16BE(at);
        if (VLAN_TYPES.has(type)) {
          at += 4;
          continue;
        }
        if (type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6) return at + 2;
        // 802.3 length with LLC/SNAP carrying IP.
        if (type < 0x600 && at + 10 <= d.length && d[at + 2] === 0xaa && d[at + 3] === 0xaa) {
          const inner = d.readUInt16BE(at + 8);
          if (inner === ETHERTYPE_IPV4 || inner === ETHERTYPE_IPV6) return at + 10;
        }
        return -1;
      }
      return -1;
    }
    case 113:
      return 16;
    case 276:
      return 20;
    case 0:
    case 108:
      return 4;
    case 12:
    case 14:
    case 101:
    case 228:
    case 229:
      return 0;
    default:
      return -1;
  }
}

export function locate(linkType: number, d: Buffer): Layers | null {
  const ip = ipOffset(linkType, d);
  if (ip < 0 || ip >= d.length) return null;
  const version = d[ip] >> 4;
  if (version === 4) {
    if (ip + 20 > d.length) return null;
    const hlen = (d[ip] & 15) * 4;
    const total = d.readUInt16BE(ip + 2);
    const end = Math.min(d.length, ip + Math.max(total, hlen));
    const transport = ip + hlen;
    const frag = d.readUInt16BE(ip + 6);
    const fragment = (frag & 0x3fff) !== 0;
    const proto = d[ip + 9];
    const first = (frag & 0x1fff) === 0;
    return finish({ ip, version: 4, proto, transport: Math.min(transport, end), payload: 0, end, fragment }, d, first);
  }
  if (version === 6) {
    if (ip + 40 > d.length) return null;
    const end = Math.min(d.length, ip + 40 + d.readUInt16BE(ip + 4));
    let next = d[ip + 6];
    let at = ip + 40;
    let fragment = false;
    for (let n = 0; n < 8 && at + 8 <= end; n++) {
      if (next === 0 || next === 43 || next === 60) {
        const len = (d[at + 1] + 1) * 8;
        next = d[at];
        at += len;
      } else if (next === 51) {
        const len = (d[at + 1] + 2) * 4;
        next = d[at];
        at += len;
      } else if (next === 44) {
        fragment = true;
        const first = (d.readUInt16BE(at + 2) & 0xfff8) === 0;
        next = d[at];
        at += 8;
        if (!first) return { ip, version: 6, proto: next, transport: Math.min(at, end), payload: Math.min(at, end), end, fragment };
      } else {
        break;
      }
    }
    return finish({ ip, version: 6, proto: next, transport: Math.min(at, end), payload: 0, end, fragment }, d, true);
  }
  return null;
}

function finish(l: Layers, d: Buffer, hasTransportHeader: boolean): Layers {
  let payload = l.transport;
  if (hasTransportHeader) {
    if (l.proto === 6 && l.transport + 20 <= l.end) payload = l.transport + (d[l.transport + 12] >> 4) * 4;
    else if (l.proto === 17 && l.transport + 8 <= l.end) payload = l.transport + 8;
    else if ((l.proto === 1 || l.proto === 58) && l.transport + 8 <= l.end) payload = l.transport + 8;
  }
  l.payload = Math.min(payload, l.end);
  return l;
}
