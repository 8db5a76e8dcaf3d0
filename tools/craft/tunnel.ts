/**
 * Tunnel builders: GRE (RFC 2784/2890), ERSPAN type II and III carried in GRE, and VXLAN
 * (RFC 7348, carried in UDP port 4789).
 */
import { concat, internetChecksum, tagged, toBuffer, type Layer, type Payload } from './bytes.js';
import { IPPROTO } from './ip.js';
import { ETHERTYPE } from './link.js';

export const VXLAN_PORT = 4789;

export interface GreOptions {
  /** Adds the checksum field (C bit) and fills it. */
  checksum?: boolean;
  /** Adds the key field (K bit). */
  key?: number;
  /** Adds the sequence number field (S bit); ERSPAN type II needs it. */
  sequence?: number;
  /** Protocol type; defaults to the payload's EtherType (0x0800, 0x86dd, 0x6558, 0x88be...). */
  protocol?: number;
}

export function gre(opts: GreOptions, payload: Payload): Layer {
  const protocol = opts.protocol ?? (typeof payload === 'string' ? undefined : (payload as Layer).etherType);
  if (protocol === undefined) throw new Error('gre: protocol not given and the payload does not name one');
  const flags = (opts.checksum ? 0x8000 : 0) | (opts.key !== undefined ? 0x2000 : 0) | (opts.sequence !== undefined ? 0x1000 : 0);
  const header = Buffer.alloc(4 + (opts.checksum ? 4 : 0) + (opts.key !== undefined ? 4 : 0) + (opts.sequence !== undefined ? 4 : 0));
  header.writeUInt16BE(flags, 0);
  header.writeUInt16BE(protocol, 2);
  let at = 4;
  const checksumAt = opts.checksum ? at : -1;
  if (opts.checksum) at += 4;
  if (opts.key !== undefined) {
    header.writeUInt32BE(opts.key >>> 0, at);
    at += 4;
  }
  if (opts.sequence !== undefined) header.writeUInt32BE(opts.sequence >>> 0, at);
  const packet = concat(header, payload);
  if (checksumAt >= 0) packet.writeUInt16BE(internetChecksum(packet), checksumAt);
  return tagged(packet, { ipProtocol: IPPROTO.GRE });
}

export interface ErspanIIOptions {
  sessionId: number;
  /** VLAN of the mirrored frame. */
  vlan?: number;
  cos?: number;
  /** Encapsulation type of the original frame (En): 0 untagged, 1 ISL, 2 802.1Q kept, 3 VLAN. */
  encapsulation?: number;
  truncated?: boolean;
  /** Port index of the mirrored port. */
  index?: number;
}

/** ERSPAN type II header (8 bytes); carry it in gre({ sequence }) so it is not read as type I. */
export function erspanII(opts: ErspanIIOptions, frame: Payload): Layer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE((1 << 12) | ((opts.vlan ?? 0) & 0xfff), 0);
  h.writeUInt16BE((((opts.cos ?? 0) & 7) << 13) | (((opts.encapsulation ?? 0) & 3) << 11) | (opts.truncated ? 0x400 : 0) | (opts.sessionId & 0x3ff), 2);
  h.writeUInt32BE((opts.index ?? 0) & 0xfffff, 4);
  return tagged(concat(h, toBuffer(frame)), { etherType: ETHERTYPE.ERSPAN_II });
}

export interface ErspanIIIOptions {
  sessionId: number;
  vlan?: number;
  cos?: number;
  /** Bad/short/oversized frame bits (BSO). */
  bso?: number;
  truncated?: boolean;
  /** 32-bit timestamp in units set by `granularity`. */
  timestamp?: number;
  /** Security group tag. */
  sgt?: number;
  /** Hardware id of the ERSPAN engine. */
  hardwareId?: number;
  /** Direction: false ingress, true egress. */
  egress?: boolean;
  /** Timestamp granularity (Gra): 0 100 µs, 1 100 ns, 2 IEEE 1588, 3 user defined. */
  granularity?: number;
}

/** ERSPAN type III header (12 bytes, no platform-specific subheader), GRE protocol 0x22eb. */
export function erspanIII(opts: ErspanIIIOptions, frame: Payload): Layer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE((2 << 12) | ((opts.vlan ?? 0) & 0xfff), 0);
  h.writeUInt16BE((((opts.cos ?? 0) & 7) << 13) | (((opts.bso ?? 0) & 3) << 11) | (opts.truncated ? 0x400 : 0) | (opts.sessionId & 0x3ff), 2);
  h.writeUInt32BE((opts.timestamp ?? 0) >>> 0, 4);
  h.writeUInt16BE((opts.sgt ?? 0) & 0xffff, 8);
  // P(1) FT(5)=0 for Ethernet frames, HW ID(6), D(1), Gra(2), O(1)=0
  h.writeUInt16BE((((opts.hardwareId ?? 0) & 0x3f) << 4) | (opts.egress ? 0x8 : 0) | (((opts.granularity ?? 0) & 3) << 1), 10);
  return tagged(concat(h, toBuffer(frame)), { etherType: ETHERTYPE.ERSPAN_III });
}

export interface VxlanOptions {
  vni: number;
}

/** VXLAN header (I flag set) around an Ethernet frame; carry it in udp({ dport: VXLAN_PORT }). */
export function vxlan(opts: VxlanOptions, frame: Payload): Layer {
  const h = Buffer.alloc(8);
  h[0] = 0x08;
  h.writeUInt32BE(((opts.vni & 0xffffff) << 8) >>> 0, 4);
  return concat(h, frame);
}
