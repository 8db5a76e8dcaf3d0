/**
 * Builds decoded packets (PacketViews) and records what the flow layer hands on, for the flow
 * tests. Views are filled the way PacketDecoder fills them from a raw IP frame: the IP packet's
 * real bytes are in `ipBuf`, so the de-duplicator hashes genuine headers.
 */
import { CapturedPacket } from '../../src/capture/packet.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../src/decode/link-types.js';
import {
  IPPROTO_TCP,
  IPPROTO_UDP,
  PacketView,
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
} from '../../src/decode/packet-view.js';
import type { Direction } from '../../src/flow/direction.js';
import type { Flow, FlowEndReason } from '../../src/flow/flow.js';
import type { FlowConsumer } from '../../src/flow/flow-consumer.js';
import type { StreamSink } from '../../src/flow/tcp-stream.js';

// ---------------------------------------------------------------------------------------------
// Bytes

export const bytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
/** Bytes as Latin-1 text, one character per byte. */
export const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Deterministic filler so that every byte position of a stream is distinguishable. */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Deterministic Fisher-Yates shuffle. */
export function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = items.slice();
  let x = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Addresses

/** Parses dotted IPv4 or (possibly `::`-compressed) IPv6 into 32-bit words: 1 for v4, 4 for v6. */
export function addressWords(address: string): number[] {
  if (!address.includes(':')) {
    const parts = address.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 address ${address}`);
    return [((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0];
  }
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...new Array<string>(zeros).fill('0'), ...tailGroups].map((g) => parseInt(g, 16));
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) throw new Error(`bad IPv6 address ${address}`);
  const words: number[] = [];
  for (let i = 0; i < 8; i += 2) words.push(((groups[i] << 16) | groups[i + 1]) >>> 0);
  return words;
}

/** The address of one side of a flow (0: client, 1: server) in the notation the tests use. */
export function flowAddress(flow: Flow, side: 0 | 1): string {
  const w = flow.addr.slice(side * 4, side * 4 + 4);
  if (flow.ipVersion === 4) return [w[0] >>> 24, (w[0] >>> 16) & 0xff, (w[0] >>> 8) & 0xff, w[0] & 0xff].join('.');
  const groups: string[] = [];
  for (const word of w) groups.push((word >>> 16).toString(16), (word & 0xffff).toString(16));
  return groups.join(':');
}

export function flowEndpoints(flow: Flow): { client: string; server: string } {
  return { client: `${flowAddress(flow, 0)}:${flow.clientPort}`, server: `${flowAddress(flow, 1)}:${flow.serverPort}` };
}

// ---------------------------------------------------------------------------------------------
// Packets

const FLAG_BITS: Record<string, number> = { F: TCP_FIN, S: TCP_SYN, R: TCP_RST, P: TCP_PSH, A: TCP_ACK, U: TCP_URG, E: TCP_ECE, C: TCP_CWR };

/** 'SA', 'PA', 'FA', 'R'... (letters as tcpdump prints them), '' for none, or the raw flag byte. */
export function tcpFlagBits(flags: string | number): number {
  if (typeof flags === 'number') return flags & 0xff;
  let bits = 0;
  for (const letter of flags) {
    const bit = FLAG_BITS[letter];
    if (bit === undefined) throw new Error(`unknown TCP flag ${letter}`);
    bits |= bit;
  }
  return bits;
}

interface IpSpec {
  src: string;
  dst: string;
  /** Packet time in seconds (fractions allowed). */
  ts?: number;
  /** Outermost first; part of the flow key. */
  vlan?: number[];
  ipId?: number;
  ttl?: number;
}

export interface TcpSpec extends IpSpec {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags?: string | number;
  window?: number;
  payload?: Uint8Array | string;
  /** Payload bytes on the wire when more than `payload` were sent (the snap length cut the rest). */
  payloadWireLength?: number;
}

export interface UdpSpec extends IpSpec {
  sport: number;
  dport: number;
  payload?: Uint8Array | string;
}

const asBytes = (p: Uint8Array | string | undefined): Uint8Array => (p === undefined ? new Uint8Array(0) : typeof p === 'string' ? bytes(p) : p);

function sum16(buf: Uint8Array, from: number, to: number, initial = 0): number {
  let sum = initial;
  for (let i = from; i + 1 < to; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if ((to - from) % 2 === 1) sum += buf[to - 1] << 8;
  return sum;
}

function fold16(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

function put16(buf: Uint8Array, at: number, value: number): void {
  buf[at] = (value >>> 8) & 0xff;
  buf[at + 1] = value & 0xff;
}

function put32(buf: Uint8Array, at: number, value: number): void {
  put16(buf, at, value >>> 16);
  put16(buf, at + 2, value & 0xffff);
}

/**
 * The IP packet as captured (header, transport header, captured payload) and the view the decoder
 * makes of it. `transportWire` is the transport header plus the payload's wire length.
 */
function ipPacket(spec: IpSpec, proto: number, transport: Uint8Array, transportWire: number): { packet: Uint8Array; view: PacketView } {
  const srcWords = addressWords(spec.src);
  const dstWords = addressWords(spec.dst);
  if (srcWords.length !== dstWords.length) throw new Error('source and destination must be the same IP version');
  const v6 = srcWords.length === 4;
  const headerLength = v6 ? 40 : 20;
  const packet = new Uint8Array(headerLength + transport.length);
  if (v6) {
    packet[0] = 0x60;
    put16(packet, 4, transportWire);
    packet[6] = proto;
    packet[7] = spec.ttl ?? 64;
    srcWords.forEach((w, i) => put32(packet, 8 + i * 4, w));
    dstWords.forEach((w, i) => put32(packet, 24 + i * 4, w));
  } else {
    packet[0] = 0x45;
    put16(packet, 2, headerLength + transportWire);
    put16(packet, 4, spec.ipId ?? 0x1234);
    packet[6] = 0x40; // don't fragment
    packet[8] = spec.ttl ?? 64;
    packet[9] = proto;
    put32(packet, 12, srcWords[0]);
    put32(packet, 16, dstWords[0]);
    put16(packet, 10, fold16(sum16(packet, 0, 20)));
  }
  packet.set(transport, headerLength);

  // Transport checksum over the pseudo-header and the captured bytes.
  let pseudo = 0;
  for (const w of [...srcWords, ...dstWords]) pseudo += (w >>> 16) + (w & 0xffff);
  pseudo += proto + transportWire;
  const checksumAt = headerLength + (proto === IPPROTO_TCP ? 16 : 6);
  put16(packet, checksumAt, fold16(sum16(packet, headerLength, packet.length, pseudo)) || 0xffff);

  const view = new PacketView();
  const ts = spec.ts ?? 0;
  view.tsSec = Math.floor(ts);
  view.tsNsec = Math.round((ts - view.tsSec) * 1e9);
  view.linkType = LINKTYPE_RAW;
  view.wireLength = headerLength + transportWire;
  view.capturedLength = packet.length;
  view.cutBySnaplen = view.capturedLength < view.wireLength;
  const vlans = spec.vlan ?? [];
  vlans.forEach((id, i) => (view.vlanIds[i] = id));
  view.vlanCount = vlans.length;
  view.ipVersion = v6 ? 6 : 4;
  for (let i = 0; i < 4; i++) {
    view.addr[i] = srcWords[i] ?? 0;
    view.addr[i + 4] = dstWords[i] ?? 0;
  }
  view.ttl = spec.ttl ?? 64;
  view.ipProto = proto;
  view.ipBuf = packet;
  view.ipOffset = 0;
  view.transportOffset = headerLength;
  view.ipCapturedLength = packet.length;
  return { packet, view };
}

/** A TCP packet as the decoder would present it (20-byte TCP header, no options). */
export function tcpView(spec: TcpSpec): PacketView {
  return tcpPacket(spec).view;
}

export function tcpPacket(spec: TcpSpec): { packet: Uint8Array; view: PacketView } {
  const payload = asBytes(spec.payload);
  const payloadWire = Math.max(spec.payloadWireLength ?? payload.length, payload.length);
  const flags = tcpFlagBits(spec.flags ?? 'A');
  const segment = new Uint8Array(20 + payload.length);
  put16(segment, 0, spec.sport);
  put16(segment, 2, spec.dport);
  put32(segment, 4, (spec.seq ?? 0) >>> 0);
  put32(segment, 8, (spec.ack ?? 0) >>> 0);
  segment[12] = 5 << 4;
  segment[13] = flags;
  put16(segment, 14, spec.window ?? 65535);
  segment.set(payload, 20);
  const built = ipPacket(spec, IPPROTO_TCP, segment, 20 + payloadWire);
  const view = built.view;
  view.srcPort = spec.sport;
  view.dstPort = spec.dport;
  view.tcpFlags = flags;
  view.tcpSeq = (spec.seq ?? 0) >>> 0;
  view.tcpAck = (spec.ack ?? 0) >>> 0;
  view.tcpWindow = spec.window ?? 65535;
  view.payloadOffset = view.ipCapturedLength - payload.length;
  view.payloadLength = payload.length;
  view.payloadWireLength = payloadWire;
  return built;
}

export function udpView(spec: UdpSpec): PacketView {
  return udpPacket(spec).view;
}

export function udpPacket(spec: UdpSpec): { packet: Uint8Array; view: PacketView } {
  const payload = asBytes(spec.payload);
  const datagram = new Uint8Array(8 + payload.length);
  put16(datagram, 0, spec.sport);
  put16(datagram, 2, spec.dport);
  put16(datagram, 4, datagram.length);
  datagram.set(payload, 8);
  const built = ipPacket(spec, IPPROTO_UDP, datagram, datagram.length);
  const view = built.view;
  view.srcPort = spec.sport;
  view.dstPort = spec.dport;
  view.payloadOffset = view.ipCapturedLength - payload.length;
  view.payloadLength = payload.length;
  view.payloadWireLength = payload.length;
  return built;
}

/** The same view's IP packet inside an Ethernet frame with the given 802.1Q tags, as captured. */
export function ethernetCapture(ipPacketBytes: Uint8Array, vlans: number[], tsSec: number, tsNsec = 0): CapturedPacket {
  const header = 14 + vlans.length * 4;
  const frame = new Uint8Array(header + ipPacketBytes.length);
  frame.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02], 0);
  let at = 12;
  for (const id of vlans) {
    put16(frame, at, 0x8100);
    put16(frame, at + 2, id & 0x0fff);
    at += 4;
  }
  put16(frame, at, ipPacketBytes[0] >> 4 === 6 ? 0x86dd : 0x0800);
  frame.set(ipPacketBytes, header);
  const pkt = new CapturedPacket();
  pkt.data = frame;
  pkt.caplen = pkt.origlen = frame.length;
  pkt.tsSec = tsSec;
  pkt.tsNsec = tsNsec;
  pkt.linkType = LINKTYPE_ETHERNET;
  return pkt;
}

/** An independent copy of a view, with its own packet bytes (a retransmission or a mirror copy). */
export function copyView(view: PacketView): PacketView {
  const copy = new PacketView();
  const fields = copy as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(view)) {
    if (!ArrayBuffer.isView(value)) fields[name] = value;
  }
  copy.vlanIds.set(view.vlanIds);
  copy.addr.set(view.addr);
  copy.ipBuf = view.ipBuf.slice();
  return copy;
}

/** The IP packet alone, as a raw-IP capture record (LINKTYPE_RAW). */
export function rawCapture(packet: Uint8Array, view: PacketView): CapturedPacket {
  const pkt = new CapturedPacket();
  pkt.data = packet;
  pkt.caplen = packet.length;
  pkt.origlen = view.wireLength;
  pkt.tsSec = view.tsSec;
  pkt.tsNsec = view.tsNsec;
  pkt.linkType = LINKTYPE_RAW;
  return pkt;
}

/**
 * Feeds views to anything with `process(view)`, then overwrites each packet's bytes the way a
 * capture reader reuses its buffer: code that keeps a reference instead of a copy sees garbage.
 */
export function feed(target: { process(view: PacketView): void }, ...views: PacketView[]): void {
  for (const view of views) {
    target.process(view);
    view.ipBuf.fill(0xee);
  }
}

// ---------------------------------------------------------------------------------------------
// A TCP conversation

export interface ConversationSpec {
  client: string;
  server: string;
  cport: number;
  sport: number;
  /** Initial sequence numbers. */
  clientIsn?: number;
  serverIsn?: number;
  vlan?: number[];
  ts?: number;
}

/**
 * Makes views for one TCP connection, tracking sequence numbers so tests can write the exchange
 * and then deliver the packets in whatever order they want.
 */
export class Conversation {
  readonly clientIsn: number;
  readonly serverIsn: number;
  /** Next sequence number of each side. */
  clientSeq: number;
  serverSeq: number;
  ts: number;

  constructor(private readonly spec: ConversationSpec) {
    this.clientIsn = (spec.clientIsn ?? 1000) >>> 0;
    this.serverIsn = (spec.serverIsn ?? 5000) >>> 0;
    this.clientSeq = (this.clientIsn + 1) >>> 0;
    this.serverSeq = (this.serverIsn + 1) >>> 0;
    this.ts = spec.ts ?? 1000;
  }

  /** SYN, SYN-ACK, ACK. */
  handshake(): PacketView[] {
    return [
      this.raw('client', { flags: 'S', seq: this.clientIsn, ack: 0 }),
      this.raw('server', { flags: 'SA', seq: this.serverIsn, ack: this.clientSeq }),
      this.raw('client', { flags: 'A', seq: this.clientSeq, ack: this.serverSeq }),
    ];
  }

  /** Data from one side at its current sequence number, which then advances. */
  send(from: 'client' | 'server', payload: Uint8Array | string, extra: Partial<TcpSpec> = {}): PacketView {
    const data = asBytes(payload);
    const wire = Math.max(extra.payloadWireLength ?? data.length, data.length);
    const seq = from === 'client' ? this.clientSeq : this.serverSeq;
    const view = this.raw(from, { flags: 'PA', seq, ack: from === 'client' ? this.serverSeq : this.clientSeq, payload: data, ...extra });
    if (from === 'client') this.clientSeq = (this.clientSeq + wire) >>> 0;
    else this.serverSeq = (this.serverSeq + wire) >>> 0;
    return view;
  }

  /** A pure ACK of everything the other side sent so far. */
  ackFrom(from: 'client' | 'server'): PacketView {
    return this.raw(from, { flags: 'A', seq: from === 'client' ? this.clientSeq : this.serverSeq, ack: from === 'client' ? this.serverSeq : this.clientSeq });
  }

  /** A FIN (with ACK) from one side; the FIN takes one sequence number. */
  fin(from: 'client' | 'server'): PacketView {
    const view = this.raw(from, { flags: 'FA', seq: from === 'client' ? this.clientSeq : this.serverSeq, ack: from === 'client' ? this.serverSeq : this.clientSeq });
    if (from === 'client') this.clientSeq = (this.clientSeq + 1) >>> 0;
    else this.serverSeq = (this.serverSeq + 1) >>> 0;
    return view;
  }

  /** Any packet from one side; sequence numbers are not advanced. */
  raw(from: 'client' | 'server', fields: Partial<TcpSpec>): PacketView {
    const s = this.spec;
    this.ts += 0.001;
    const ends = from === 'client' ? { src: s.client, dst: s.server, sport: s.cport, dport: s.sport } : { src: s.server, dst: s.client, sport: s.sport, dport: s.cport };
    return tcpView({ ...ends, vlan: s.vlan, ts: this.ts, ...fields });
  }
}

// ---------------------------------------------------------------------------------------------
// Recording what comes out

/** Stream output as written: data chunks (adjacent ones merged) as text, gaps as byte counts. */
export type Piece = string | number;

function appendPiece(pieces: Piece[], piece: Piece): void {
  const last = pieces[pieces.length - 1];
  if (typeof piece === 'string' && typeof last === 'string') pieces[pieces.length - 1] = last + piece;
  else pieces.push(piece);
}

/** A StreamSink that keeps copies of everything it is handed. */
export class RecordingSink implements StreamSink {
  readonly chunks: Uint8Array[] = [];
  readonly gaps: number[] = [];
  readonly pieces: Piece[] = [];
  /** Called with each chunk, for tests that act from inside the callback. */
  onData: ((bytes: Uint8Array) => void) | null = null;

  data(b: Uint8Array): void {
    if (b.length === 0) throw new Error('empty data callback');
    const copy = b.slice();
    this.chunks.push(copy);
    appendPiece(this.pieces, text(copy));
    this.onData?.(b);
  }

  gap(length: number): void {
    if (!(length > 0)) throw new Error(`gap of ${length}`);
    this.gaps.push(length);
    this.pieces.push(length);
  }

  bytes(): Uint8Array {
    return concatBytes(this.chunks);
  }

  text(): string {
    return text(this.bytes());
  }

  get deliveredBytes(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }

  get gapBytes(): number {
    return this.gaps.reduce((n, g) => n + g, 0);
  }

  /**
   * Lays the output over the original stream: throws unless every delivered byte equals the
   * original byte at its position; returns how many stream bytes the output covered.
   */
  checkAgainst(original: Uint8Array): number {
    let at = 0;
    let chunk = 0;
    for (const piece of this.pieces) {
      if (typeof piece === 'number') {
        at += piece;
        continue;
      }
      for (let i = 0; i < piece.length; i++) {
        if (at + i >= original.length || piece.charCodeAt(i) !== original[at + i]) {
          throw new Error(`delivered byte at stream offset ${at + i} differs from the original (piece ${chunk})`);
        }
      }
      at += piece.length;
      chunk++;
    }
    return at;
  }
}

export type FlowEvent =
  | { kind: 'packet'; flow: number; dir: Direction; flags: number; seq: number }
  | { kind: 'data'; flow: number; dir: Direction; bytes: Uint8Array }
  | { kind: 'gap'; flow: number; dir: Direction; length: number }
  | { kind: 'end'; flow: number; reason: FlowEndReason };

/** A FlowConsumer that logs every call and keeps copies of the bytes, per flow and direction. */
export class RecordingConsumer implements FlowConsumer {
  readonly events: FlowEvent[] = [];
  /** Every flow seen, by id, in order of first appearance. */
  readonly flows = new Map<number, Flow>();
  readonly endReasons = new Map<number, FlowEndReason>();
  private readonly output = new Map<string, Piece[]>();
  /** Packet calls are counted always, logged only when this is true (floods keep it off). */
  logPackets = true;
  /** When false, ended flows leave `flows` (their end reason and bytes stay): floods keep it off. */
  keepEndedFlows = true;
  packetCount = 0;
  /** Hooks for tests that act from inside a callback. */
  onData: ((flow: Flow, dir: Direction, bytes: Uint8Array) => void) | null = null;
  onPacket: ((flow: Flow, dir: Direction, view: PacketView) => void) | null = null;

  packet(flow: Flow, dir: Direction, view: PacketView): void {
    if (this.endReasons.has(flow.id)) throw new Error(`packet for flow ${flow.id} after its end`);
    if (!this.flows.has(flow.id)) this.flows.set(flow.id, flow);
    this.packetCount++;
    if (this.logPackets) this.events.push({ kind: 'packet', flow: flow.id, dir, flags: view.tcpFlags, seq: view.tcpSeq });
    this.onPacket?.(flow, dir, view);
  }

  data(flow: Flow, dir: Direction, b: Uint8Array): void {
    if (this.endReasons.has(flow.id)) throw new Error(`data for flow ${flow.id} after its end`);
    if (b.length === 0) throw new Error('empty data callback');
    const copy = b.slice();
    this.events.push({ kind: 'data', flow: flow.id, dir, bytes: copy });
    appendPiece(this.piecesOf(flow.id, dir), text(copy));
    this.onData?.(flow, dir, b);
  }

  gap(flow: Flow, dir: Direction, length: number): void {
    if (this.endReasons.has(flow.id)) throw new Error(`gap for flow ${flow.id} after its end`);
    if (!(length > 0)) throw new Error(`gap of ${length}`);
    this.events.push({ kind: 'gap', flow: flow.id, dir, length });
    this.piecesOf(flow.id, dir).push(length);
  }

  flowEnd(flow: Flow, reason: FlowEndReason): void {
    if (this.endReasons.has(flow.id)) throw new Error(`flow ${flow.id} ended twice`);
    // The table reuses an ended flow's object for a later flow: keep a copy as it ended.
    this.flows.set(flow.id, flow.copy());
    this.endReasons.set(flow.id, reason);
    if (!this.keepEndedFlows) this.flows.delete(flow.id);
    this.events.push({ kind: 'end', flow: flow.id, reason });
  }

  /** Data and gaps of one direction, in delivery order (adjacent data merged). */
  pieces(flow: Flow | number, dir: Direction): Piece[] {
    return this.output.get(key(flow, dir))?.slice() ?? [];
  }

  /** The delivered bytes of one direction, concatenated (gaps left out). */
  stream(flow: Flow | number, dir: Direction): string {
    return this.pieces(flow, dir)
      .filter((p): p is string => typeof p === 'string')
      .join('');
  }

  /** The only flow seen; fails when there is not exactly one. */
  only(): Flow {
    if (this.flows.size !== 1) throw new Error(`expected one flow, saw ${this.flows.size}`);
    return [...this.flows.values()][0];
  }

  eventsOf(flow: Flow | number): FlowEvent[] {
    const id = typeof flow === 'number' ? flow : flow.id;
    return this.events.filter((e) => e.flow === id);
  }

  private piecesOf(flowId: number, dir: Direction): Piece[] {
    const k = key(flowId, dir);
    let list = this.output.get(k);
    if (list === undefined) this.output.set(k, (list = []));
    return list;
  }
}

const key = (flow: Flow | number, dir: Direction): string => `${typeof flow === 'number' ? flow : flow.id}/${dir}`;
