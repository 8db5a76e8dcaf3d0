/**
 * Link-layer builders: Ethernet II with 802.1Q / 802.1ad / 0x9100 tags, 802.3 with LLC and SNAP,
 * ARP, Linux cooked headers (SLL, SLL2) and the BSD null / loopback header.
 */
import { concat, ipv4Address, mac, tagged, toBuffer, type Layer, type Payload } from './bytes.js';

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export const ETHERTYPE = {
  IPV4: 0x0800,
  ARP: 0x0806,
  TEB: 0x6558, // transparent Ethernet bridging: an Ethernet frame inside GRE
  VLAN: 0x8100,
  IPV6: 0x86dd,
  QINQ: 0x88a8,
  ERSPAN_II: 0x88be,
  ERSPAN_III: 0x22eb,
  VLAN_9100: 0x9100,
} as const;

/** Address families of the null / loopback header. AF_INET6 differs between systems. */
export const AF = {
  INET: 2,
  INET6_LINUX: 10,
  INET6_BSD: 24, // NetBSD, OpenBSD, BSD/OS
  INET6_FREEBSD: 28,
  INET6_DARWIN: 30,
} as const;

export interface VlanTag {
  vid: number;
  /** Priority code point, 0-7. */
  pcp?: number;
  dei?: boolean;
  /** 0x8100 (802.1Q, the default), 0x88a8 (802.1ad) or 0x9100. */
  tpid?: number;
}

export interface EthernetOptions {
  dst: string;
  src: string;
  /** Defaults to the payload's own EtherType. */
  etherType?: number;
  /** Tags outermost first. */
  vlans?: VlanTag[];
  /** Pads the frame with zero bytes up to this length (60 for the Ethernet minimum, FCS excluded). */
  padTo?: number;
}

function etherTypeOf(payload: Payload, given: number | undefined, who: string): number {
  const type = given ?? (typeof payload === 'string' ? undefined : (payload as Layer).etherType);
  if (type === undefined) throw new Error(`${who}: etherType not given and the payload does not name one`);
  return type;
}

function padded(frame: Buffer, padTo: number | undefined): Buffer {
  return padTo !== undefined && frame.length < padTo ? concat(frame, Buffer.alloc(padTo - frame.length)) : frame;
}

/** TPID and TCI of one tag; the EtherType after the last tag names the payload. */
export function vlanTagBytes(tag: VlanTag): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(tag.tpid ?? ETHERTYPE.VLAN, 0);
  b.writeUInt16BE((((tag.pcp ?? 0) & 7) << 13) | (tag.dei ? 0x1000 : 0) | (tag.vid & 0xfff), 2);
  return b;
}

/** Ethernet II frame, optionally VLAN tagged. The result can itself be carried in GRE (0x6558). */
export function ethernet(opts: EthernetOptions, payload: Payload): Layer {
  const type = etherTypeOf(payload, opts.etherType, 'ethernet');
  const tags = (opts.vlans ?? []).map(vlanTagBytes);
  const frame = concat(mac(opts.dst), mac(opts.src), ...tags, Buffer.from([type >> 8, type & 0xff]), payload);
  return tagged(padded(frame, opts.padTo), { etherType: ETHERTYPE.TEB });
}

export interface Ieee8023Options {
  dst: string;
  src: string;
  padTo?: number;
}

/** 802.3 frame: the type field holds the length of the LLC payload that follows. */
export function ieee8023(opts: Ieee8023Options, llcPayload: Payload): Layer {
  const body = toBuffer(llcPayload);
  if (body.length > 1500) throw new Error(`ieee8023: payload of ${body.length} bytes does not fit a length field`);
  const frame = concat(mac(opts.dst), mac(opts.src), Buffer.from([body.length >> 8, body.length & 0xff]), body);
  return tagged(padded(frame, opts.padTo), { etherType: ETHERTYPE.TEB });
}

export interface LlcOptions {
  dsap: number;
  ssap: number;
  /** 0x03 (unnumbered information) unless given. */
  control?: number;
}

export function llc(opts: LlcOptions, payload: Payload): Layer {
  return concat(Buffer.from([opts.dsap, opts.ssap, opts.control ?? 0x03]), payload);
}

export interface SnapOptions {
  /** Organisation code; 0 means the protocol id is an EtherType. */
  oui?: number;
  etherType?: number;
}

/** LLC header AA-AA-03 followed by the SNAP OUI and protocol id. */
export function snap(opts: SnapOptions, payload: Payload): Layer {
  const type = etherTypeOf(payload, opts.etherType, 'snap');
  const oui = opts.oui ?? 0;
  return concat(Buffer.from([0xaa, 0xaa, 0x03, (oui >> 16) & 0xff, (oui >> 8) & 0xff, oui & 0xff, type >> 8, type & 0xff]), payload);
}

export interface ArpOptions {
  /** 1 request, 2 reply. */
  op: 1 | 2;
  senderMac: string;
  senderIp: string;
  targetMac?: string;
  targetIp: string;
}

export function arp(opts: ArpOptions): Layer {
  const head = Buffer.from([0, 1, 0x08, 0x00, 6, 4, 0, opts.op]);
  const body = concat(
    head,
    mac(opts.senderMac),
    ipv4Address(opts.senderIp),
    mac(opts.targetMac ?? '00:00:00:00:00:00'),
    ipv4Address(opts.targetIp),
  );
  return tagged(body, { etherType: ETHERTYPE.ARP });
}

/** SLL packet types: who the frame was addressed to, as the capturing host saw it. */
export const SLL_PACKET_TYPE = { HOST: 0, BROADCAST: 1, MULTICAST: 2, OTHERHOST: 3, OUTGOING: 4 } as const;

export interface SllOptions {
  packetType?: number;
  /** ARPHRD_* link type of the device; 1 (Ethernet) unless given. */
  hardwareType?: number;
  /** Link-layer source address (a MAC), up to 8 bytes. */
  address?: string;
  /** Defaults to the payload's EtherType. */
  protocol?: number;
}

function sllAddress(address: string | undefined): { bytes: Buffer; length: number } {
  const bytes = Buffer.alloc(8);
  if (address === undefined) return { bytes, length: 0 };
  const m = mac(address);
  m.copy(bytes);
  return { bytes, length: m.length };
}

/** Linux cooked capture header v1 (LINKTYPE_LINUX_SLL, 16 bytes). */
export function sll(opts: SllOptions, payload: Payload): Layer {
  const protocol = etherTypeOf(payload, opts.protocol, 'sll');
  const addr = sllAddress(opts.address);
  const head = Buffer.alloc(16);
  head.writeUInt16BE(opts.packetType ?? SLL_PACKET_TYPE.HOST, 0);
  head.writeUInt16BE(opts.hardwareType ?? 1, 2);
  head.writeUInt16BE(addr.length, 4);
  addr.bytes.copy(head, 6);
  head.writeUInt16BE(protocol, 14);
  return concat(head, payload);
}

export interface Sll2Options extends SllOptions {
  interfaceIndex?: number;
}

/** Linux cooked capture header v2 (LINKTYPE_LINUX_SLL2, 20 bytes). */
export function sll2(opts: Sll2Options, payload: Payload): Layer {
  const protocol = etherTypeOf(payload, opts.protocol, 'sll2');
  const addr = sllAddress(opts.address);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(protocol, 0);
  head.writeUInt32BE(opts.interfaceIndex ?? 1, 4);
  head.writeUInt16BE(opts.hardwareType ?? 1, 8);
  head.writeUInt8(opts.packetType ?? SLL_PACKET_TYPE.HOST, 10);
  head.writeUInt8(addr.length, 11);
  addr.bytes.copy(head, 12);
  return concat(head, payload);
}

export interface NullOptions {
  /** Address family; AF_INET for IPv4 payloads and AF_INET6 as on macOS for IPv6 unless given. */
  family?: number;
  /** LINKTYPE_NULL writes the family in the capturing host's order, LINKTYPE_LOOP in network order. */
  byteOrder: 'le' | 'be';
}

/** BSD null / loopback header: a 4-byte address family. */
export function nullHeader(opts: NullOptions, payload: Payload): Layer {
  let family = opts.family;
  if (family === undefined) {
    const type = etherTypeOf(payload, undefined, 'nullHeader');
    family = type === 0x86dd ? AF.INET6_DARWIN : AF.INET;
  }
  const head = Buffer.alloc(4);
  if (opts.byteOrder === 'le') head.writeUInt32LE(family);
  else head.writeUInt32BE(family);
  return concat(head, payload);
}
