import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type PacketView } from '../decode/packet-view.js';
import { TO_CLIENT, TO_SERVER, type Direction } from './direction.js';
import {
  Flow,
  TIMEOUT_CLASSES,
  TIMEOUT_OTHER_ESTABLISHED,
  TIMEOUT_OTHER_NEW,
  TIMEOUT_TCP_CLOSED,
  TIMEOUT_TCP_ESTABLISHED,
  TIMEOUT_TCP_NEW,
  TIMEOUT_UDP_ESTABLISHED,
  TIMEOUT_UDP_NEW,
  TcpState,
  type FlowEndReason,
} from './flow.js';
import { ChecksumChecks, type ChecksumValidation } from './checksum-checks.js';
import type { FlowConsumer } from './flow-consumer.js';
import { FlowStats, ReassemblyStats } from './flow-stats.js';
import { DEFAULT_REASSEMBLY_OPTIONS, TcpStream, type ReassemblyOptions, type StreamSink } from './tcp-stream.js';

export interface FlowTimeouts {
  tcpNew: number;
  tcpEstablished: number;
  tcpClosed: number;
  udpNew: number;
  udpEstablished: number;
  otherNew: number;
  otherEstablished: number;
}

/**
 * Seconds of idleness before a flow ends, per state: Suricata's defaults, except for closed TCP
 * connections, which Zeek keeps 5 s and Suricata 60 s: 10 s still catches retransmissions after
 * the close without a busy mirror port holding thousands of finished conversations.
 */
export const DEFAULT_TIMEOUTS: FlowTimeouts = {
  tcpNew: 60,
  tcpEstablished: 600,
  tcpClosed: 10,
  udpNew: 30,
  udpEstablished: 300,
  otherNew: 30,
  otherEstablished: 300,
};

export interface FlowTableOptions {
  maxFlows: number;
  /**
   * Flow ids are numbered from `idOffset` in steps of `idStride`, so tables in several workers
   * never hand out the same id.
   */
  idOffset: number;
  idStride: number;
  /**
   * A 32-bit value mixed into every id, so that runs with different salts (the command line
   * draws one per run) do not hand out the same ids; one salt gives the same ids every time.
   */
  idSalt: number;
  timeouts: FlowTimeouts;
  reassembly: ReassemblyOptions;
  checksumValidation: ChecksumValidation;
}

export const DEFAULT_FLOW_TABLE_OPTIONS: FlowTableOptions = {
  maxFlows: 100_000,
  idOffset: 0,
  idStride: 1,
  idSalt: 0,
  timeouts: DEFAULT_TIMEOUTS,
  reassembly: DEFAULT_REASSEMBLY_OPTIONS,
  checksumValidation: 'auto',
};

/**
 * Eviction order when the table is full: flows least likely to matter first. Half-open and
 * one-way flows (what a flood is made of) go before closed ones, whose last packets would
 * otherwise open a fresh flow and raise its alerts again.
 */
/** Ended flows kept for reuse: enough for a flood that ends one flow for every one it makes. */
const MAX_FREE_FLOWS = 1024;

const EVICTION_ORDER = [TIMEOUT_TCP_NEW, TIMEOUT_UDP_NEW, TIMEOUT_OTHER_NEW, TIMEOUT_TCP_CLOSED];
/** Those classes as bits: their lists are kept in exact least-recently-seen order. */
const EVICTION_CLASSES = EVICTION_ORDER.reduce((bits, c) => bits | (1 << c), 0);

/** Ports of services: the side using one is the server when a flow is picked up mid-stream. */
const SERVICE_PORTS = new Set([22, 23, 25, 53, 80, 110, 111, 143, 389, 443, 445, 511, 514, 515, 516, 517, 518, 519, 520, 631, 636, 1433, 2049, 2575, 3306, 3389, 5432, 8080, 8443, 9100]);

/**
 * The flow table: finds each packet's flow by its bidirectional 5-tuple plus VLAN ids, keeps
 * per-flow state and TCP reassembly, expires idle flows by their own time-outs and evicts when
 * full. Time comes from the packets (replay) or from the clock (live), through `advance`.
 */
export class FlowTable {
  readonly stats = new FlowStats();
  private readonly free: Flow[] = [];
  readonly reassembly = new ReassemblyStats();
  private readonly buckets = new Map<number, Flow>();
  private readonly heads: Array<Flow | null> = new Array(TIMEOUT_CLASSES).fill(null);
  private readonly tails: Array<Flow | null> = new Array(TIMEOUT_CLASSES).fill(null);
  private readonly timeoutOf: number[];
  private count = 0;
  private flowCounter = 0;
  private lastExpirySec = -1;
  private readonly options: FlowTableOptions;
  private readonly checksums: ChecksumChecks;

  constructor(
    private readonly consumer: FlowConsumer,
    options: Partial<FlowTableOptions> = {},
  ) {
    this.options = { ...DEFAULT_FLOW_TABLE_OPTIONS, ...options };
    this.checksums = new ChecksumChecks(this.options.checksumValidation, this.stats);
    const t = this.options.timeouts;
    this.timeoutOf = [t.tcpNew, t.tcpEstablished, t.tcpClosed, t.udpNew, t.udpEstablished, t.otherNew, t.otherEstablished];
  }

  get size(): number {
    return this.count;
  }

  /** Handles one decoded IP packet. */
  process(view: PacketView): void {
    if (view.tsSec !== this.lastExpirySec) this.advance(view.tsSec);
    const hash = flowHash(view);
    let flow = this.find(hash, view);
    if (flow !== null && isNewConnection(view)) {
      // The same ports reused for a new connection: the old one is over.
      if (flow.tcpState === TcpState.Closed) {
        this.end(flow, 'closed');
        flow = null;
      } else if (isReuse(flow, view)) {
        this.end(flow, 'reused');
        flow = null;
      }
    }
    if (flow === null) {
      flow = this.create(hash, view);
      if (flow === null) return;
    }
    const dir = directionOf(flow, view);
    // Time-outs only need the lists ordered by whole seconds: a flow already seen this second
    // keeps its place, which spares most packets the list surgery (and its cache misses on
    // neighbours). The classes eviction takes from first stay in exact order.
    const moved = flow.lastSec !== view.tsSec || (EVICTION_CLASSES & (1 << flow.timeoutClass)) !== 0;
    flow.lastSec = view.tsSec;
    flow.lastNsec = view.tsNsec;
    if (dir === TO_SERVER) {
      flow.packetsToServer++;
      flow.bytesToServer += view.wireLength;
    } else {
      flow.packetsToClient++;
      flow.bytesToClient += view.wireLength;
    }
    if (view.transportMissing) {
      // Only its addresses are known: the rules see the packet, the transport state does not.
      if (moved) this.touch(flow);
      this.consumer.packet(flow, dir, view);
    } else if (flow.proto === IPPROTO_TCP) this.tcp(flow, dir, view, moved);
    else {
      if (flow.packets(1 - dir as Direction) > 0) this.setClass(flow, flow.proto === IPPROTO_UDP ? TIMEOUT_UDP_ESTABLISHED : TIMEOUT_OTHER_ESTABLISHED);
      if (moved) this.touch(flow);
      this.consumer.packet(flow, dir, view);
      if (view.payloadLength > 0 && flow.proto === IPPROTO_UDP && flow.inspecting(dir) && this.checksums.accept(view)) {
        this.consumer.data(flow, dir, view.ipBuf.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength));
      }
    }
  }

  /** Ends flows idle past their time-out; `nowSec` is packet time in replay, clock time live. */
  advance(nowSec: number): void {
    this.lastExpirySec = nowSec;
    for (let c = 0; c < TIMEOUT_CLASSES; c++) {
      const timeout = this.timeoutOf[c];
      for (let f = this.heads[c]; f !== null && nowSec - f.lastSec >= timeout; f = this.heads[c]) {
        this.end(f, c === TIMEOUT_TCP_CLOSED ? 'closed' : 'timeout');
      }
    }
  }

  /** Ends every flow: the input is over. */
  finish(): void {
    for (let c = 0; c < TIMEOUT_CLASSES; c++) {
      while (this.heads[c] !== null) this.end(this.heads[c]!, 'end-of-input');
    }
  }

  private tcp(flow: Flow, dir: Direction, view: PacketView, moved: boolean): void {
    const flags = view.tcpFlags;
    if (dir === TO_SERVER) flow.tcpFlagsToServer |= flags;
    else flow.tcpFlagsToClient |= flags;
    if (!validFlags(flags)) {
      this.stats.tcpInvalidFlags++;
      if (moved) this.touch(flow);
      this.consumer.packet(flow, dir, view);
      return;
    }
    if (dir === TO_SERVER) flow.windowOfClient = view.tcpWindow;
    else flow.windowOfServer = view.tcpWindow;
    if (flags & TCP_RST) flow.tcpState = TcpState.Closed;
    else if (flags & TCP_SYN) {
      if (flags & TCP_ACK) {
        if (flow.tcpState === TcpState.SynSent || flow.tcpState === TcpState.None) flow.tcpState = TcpState.SynRecv;
      } else if (flow.tcpState === TcpState.None) flow.tcpState = TcpState.SynSent;
      if (dir === 0) {
        flow.isnToServer = view.tcpSeq;
        flow.wscaleOfClient = view.tcpWscale;
      } else {
        flow.isnToClient = view.tcpSeq;
        flow.wscaleOfServer = view.tcpWscale;
      }
      flow.synDirs |= 1 << dir;
      flow.stream(dir)?.syn(view.tcpSeq);
    } else if (flags & TCP_FIN) {
      flow.tcpState = (flow.tcpFlags(1 - dir as Direction) & TCP_FIN) !== 0 ? TcpState.Closed : TcpState.Closing;
    } else if (flow.tcpState === TcpState.SynRecv || flow.tcpState === TcpState.None || (flow.tcpState === TcpState.SynSent && view.payloadWireLength > 0)) {
      flow.tcpState = TcpState.Established;
    }
    this.setClass(flow, flow.tcpState === TcpState.Closed ? TIMEOUT_TCP_CLOSED : flow.tcpState === TcpState.Established || flow.tcpState === TcpState.Closing ? TIMEOUT_TCP_ESTABLISHED : TIMEOUT_TCP_NEW);
    if (moved) this.touch(flow);
    this.consumer.packet(flow, dir, view);
    // A segment the receiver dropped for its checksum must not move the streams: its bytes,
    // acknowledgement and FIN never happened for the endpoints.
    const inspected = view.payloadWireLength > 0 && flow.inspecting(dir);
    if (inspected && !this.checksums.accept(view)) return;

    if (flags & TCP_ACK) flow.stream(1 - dir as Direction)?.ack(view.tcpAck);
    let seq = view.tcpSeq;
    if (flags & TCP_SYN) seq = (seq + 1) >>> 0; // data on a SYN follows the SYN's sequence number
    const seqEnd = (seq + view.payloadWireLength + (flags & TCP_FIN)) >>> 0;
    if (dir === TO_SERVER) {
      if ((flow.seqDirs & 1) === 0 || seqDiff(seqEnd, flow.seqEndToServer) > 0) flow.seqEndToServer = seqEnd;
    } else if ((flow.seqDirs & 2) === 0 || seqDiff(seqEnd, flow.seqEndToClient) > 0) flow.seqEndToClient = seqEnd;
    flow.seqDirs |= 1 << dir;
    if (inspected) {
      const stream = flow.stream(dir) ?? this.openStream(flow, dir);
      stream.segment(seq, view.ipBuf.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength), view.payloadWireLength);
    }
    if (flags & TCP_FIN) flow.stream(dir)?.fin((seq + view.payloadWireLength) >>> 0);
  }

  private openStream(flow: Flow, dir: Direction): TcpStream {
    const stream = new TcpStream(new StreamDelivery(this.consumer, flow, dir), this.reassembly, this.options.reassembly);
    if (flow.synDirs & (1 << dir)) stream.syn(dir === 0 ? flow.isnToServer : flow.isnToClient);
    if (dir === TO_SERVER) flow.streamToServer = stream;
    else flow.streamToClient = stream;
    return stream;
  }

  private find(hash: number, view: PacketView): Flow | null {
    for (let f = this.buckets.get(hash) ?? null; f !== null; f = f.bucketNext) {
      if (f.proto !== view.ipProto || f.ipVersion !== view.ipVersion || !sameVlans(f, view)) continue;
      const a = view.addr;
      if (f.clientPort === view.srcPort && f.serverPort === view.dstPort && f.clientWord === a[0] && f.serverWord === a[4] && (f.ipVersion === 4 || (sameSide(f.addr, 0, a, 0) && sameSide(f.addr, 4, a, 4)))) return f;
      if (f.clientPort === view.dstPort && f.serverPort === view.srcPort && f.clientWord === a[4] && f.serverWord === a[0] && (f.ipVersion === 4 || (sameSide(f.addr, 0, a, 4) && sameSide(f.addr, 4, a, 0)))) return f;
    }
    return null;
  }

  private create(hash: number, view: PacketView): Flow | null {
    if (this.count >= this.options.maxFlows && !this.evictOne()) {
      this.stats.refused++;
      return null;
    }
    // An ended flow keeps its values until it is reused: what reads it right after its end (the
    // harness of a test, say) still sees it whole.
    const reused = this.free.pop();
    if (reused !== undefined) reused.reset();
    const flow = reused ?? new Flow();
    flow.id = flowId(++this.flowCounter * this.options.idStride + this.options.idOffset, this.options.idSalt);
    flow.hash = hash;
    flow.ipVersion = view.ipVersion;
    flow.proto = view.ipProto;
    flow.vlanCount = Math.min(view.vlanCount, 2);
    for (let i = 0; i < flow.vlanCount; i++) flow.vlanIds[i] = view.vlanIds[i];
    flow.startSec = flow.lastSec = view.tsSec;
    flow.startNsec = flow.lastNsec = view.tsNsec;
    // Who is the client: the SYN's sender, the SYN-ACK's receiver, else a port guess.
    let senderIsClient = true;
    const transport = !view.transportMissing;
    if (transport && view.ipProto === IPPROTO_TCP) {
      const syn = (view.tcpFlags & TCP_SYN) !== 0;
      const ack = (view.tcpFlags & TCP_ACK) !== 0;
      if (syn && ack) senderIsClient = false;
      else if (!syn) {
        flow.midstream = true;
        this.stats.midstream++;
        senderIsClient = !looksLikeServer(view.srcPort, view.dstPort, true);
      }
    } else if (transport && view.ipProto === IPPROTO_UDP) {
      senderIsClient = !looksLikeServer(view.srcPort, view.dstPort, false);
    }
    const a = view.addr;
    for (let i = 0; i < 4; i++) {
      flow.addr[i] = senderIsClient ? a[i] : a[i + 4];
      flow.addr[i + 4] = senderIsClient ? a[i + 4] : a[i];
    }
    flow.clientWord = flow.addr[0];
    flow.serverWord = flow.addr[4];
    flow.clientPort = senderIsClient ? view.srcPort : view.dstPort;
    flow.serverPort = senderIsClient ? view.dstPort : view.srcPort;
    flow.clientMac = senderIsClient ? view.srcMac : view.dstMac;
    flow.serverMac = senderIsClient ? view.dstMac : view.srcMac;
    flow.timeoutClass = !transport ? TIMEOUT_OTHER_NEW : view.ipProto === IPPROTO_TCP ? (flow.midstream ? TIMEOUT_TCP_ESTABLISHED : TIMEOUT_TCP_NEW) : view.ipProto === IPPROTO_UDP ? TIMEOUT_UDP_NEW : TIMEOUT_OTHER_NEW;
    if (flow.midstream) flow.tcpState = TcpState.Established;

    flow.bucketNext = this.buckets.get(hash) ?? null;
    this.buckets.set(hash, flow);
    this.append(flow);
    this.count++;
    const s = this.stats;
    s.total++;
    s.active = this.count;
    if (view.ipProto === IPPROTO_TCP) s.tcp++;
    else if (view.ipProto === IPPROTO_UDP) s.udp++;
    else if (view.ipProto === IPPROTO_ICMP || view.ipProto === IPPROTO_ICMPV6) s.icmp++;
    else s.other++;
    return flow;
  }

  /** Makes room for one flow: the least recently seen of the least valuable kind goes first. */
  private evictOne(): boolean {
    for (const c of EVICTION_ORDER) {
      const f = this.heads[c];
      if (f !== null) {
        this.end(f, 'evicted');
        return true;
      }
    }
    let oldest: Flow | null = null;
    for (let c = 0; c < TIMEOUT_CLASSES; c++) {
      const f = this.heads[c];
      if (f !== null && (oldest === null || f.lastSec < oldest.lastSec)) oldest = f;
    }
    if (oldest === null) return false;
    this.end(oldest, 'evicted');
    return true;
  }

  private end(flow: Flow, reason: FlowEndReason): void {
    flow.streamToServer?.flush();
    flow.streamToClient?.flush();
    flow.streamToServer?.stop(); // releases buffered bytes from the global count
    flow.streamToClient?.stop();
    this.unlink(flow);
    this.removeFromBucket(flow);
    this.count--;
    const s = this.stats;
    s.active = this.count;
    if (reason === 'timeout') s.endedTimeout++;
    else if (reason === 'closed') s.endedClosed++;
    else if (reason === 'evicted') s.endedEvicted++;
    else if (reason === 'reused') s.endedReused++;
    else s.endedEndOfInput++;
    this.consumer.flowEnd(flow, reason);
    if (this.free.length < MAX_FREE_FLOWS) this.free.push(flow);
  }

  private removeFromBucket(flow: Flow): void {
    const first = this.buckets.get(flow.hash);
    if (first === flow) {
      if (flow.bucketNext === null) this.buckets.delete(flow.hash);
      else this.buckets.set(flow.hash, flow.bucketNext);
      return;
    }
    for (let f = first ?? null; f !== null; f = f.bucketNext) {
      if (f.bucketNext === flow) {
        f.bucketNext = flow.bucketNext;
        return;
      }
    }
  }

  private setClass(flow: Flow, c: number): void {
    if (flow.timeoutClass === c) return;
    this.unlink(flow);
    flow.timeoutClass = c;
    this.append(flow);
  }

  /** Moves a flow to the most-recently-seen end of its list. */
  private touch(flow: Flow): void {
    if (this.tails[flow.timeoutClass] === flow) return;
    this.unlink(flow);
    this.append(flow);
  }

  private append(flow: Flow): void {
    const c = flow.timeoutClass;
    flow.prev = this.tails[c];
    flow.next = null;
    if (flow.prev !== null) flow.prev.next = flow;
    else this.heads[c] = flow;
    this.tails[c] = flow;
  }

  private unlink(flow: Flow): void {
    const c = flow.timeoutClass;
    if (flow.prev !== null) flow.prev.next = flow.next;
    else if (this.heads[c] === flow) this.heads[c] = flow.next;
    if (flow.next !== null) flow.next.prev = flow.prev;
    else if (this.tails[c] === flow) this.tails[c] = flow.prev;
    flow.prev = flow.next = null;
  }
}

function sameSide(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number): boolean {
  return a[ai] === b[bi] && a[ai + 1] === b[bi + 1] && a[ai + 2] === b[bi + 2] && a[ai + 3] === b[bi + 3];
}

function sameVlans(flow: Flow, view: PacketView): boolean {
  const n = Math.min(view.vlanCount, 2);
  if (flow.vlanCount !== n) return false;
  for (let i = 0; i < n; i++) if (flow.vlanIds[i] !== view.vlanIds[i]) return false;
  return true;
}

function directionOf(flow: Flow, view: PacketView): Direction {
  const fromClient = flow.clientPort === view.srcPort && flow.clientWord === view.addr[0] && (flow.ipVersion === 4 || sameSide(flow.addr, 0, view.addr, 0));
  return fromClient ? TO_SERVER : TO_CLIENT;
}

/** How much a port looks like a service's: known service ports, then privileged, then the rest. */
function serviceRank(port: number, privilegedCounts: boolean): number {
  return SERVICE_PORTS.has(port) ? 2 : privilegedCounts && port < 1024 ? 1 : 0;
}

/**
 * Whether the sender of a flow's first packet is its server: its port looks more like a
 * service's. For UDP a privileged source port proves nothing (RPC clients such as busybox's mount
 * bind reserved ports to reach services on high ones), so only known service ports count there.
 */
function looksLikeServer(srcPort: number, dstPort: number, tcp: boolean): boolean {
  return serviceRank(srcPort, tcp) > serviceRank(dstPort, tcp);
}

/** The least window a reused connection's SYN must fall outside of: an unscaled full window. */
const MIN_REUSE_WINDOW = 65535;

function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * Whether a SYN (without ACK) on a flow still open starts a new connection on the same 5-tuple
 * (Suricata's TCP session reuse): the old connection was never seen to close, and the SYN's
 * sequence number is outside the window its sender's old connection could still send in. A
 * retransmitted SYN (the flow's own ISN) or one in the window is part of the old connection.
 */
function isReuse(flow: Flow, view: PacketView): boolean {
  if (flow.tcpState !== TcpState.Established && flow.tcpState !== TcpState.Closing) return false;
  const dir = directionOf(flow, view);
  if ((flow.synDirs & (1 << dir)) !== 0 && view.tcpSeq === (dir === TO_SERVER ? flow.isnToServer : flow.isnToClient)) return false;
  if ((flow.seqDirs & (1 << dir)) === 0) return true; // that side never sent in the old connection
  const expected = dir === TO_SERVER ? flow.seqEndToServer : flow.seqEndToClient;
  // The window the receiving side last advertised, scaled when both sides announced scaling.
  const raw = dir === TO_SERVER ? flow.windowOfServer : flow.windowOfClient;
  const scale = flow.wscaleOfClient >= 0 && flow.wscaleOfServer >= 0 ? (dir === TO_SERVER ? flow.wscaleOfServer : flow.wscaleOfClient) : 0;
  const window = Math.max(MIN_REUSE_WINDOW, raw * 2 ** Math.min(scale, 14));
  const distance = Math.abs(seqDiff(view.tcpSeq, expected));
  return distance > window;
}

function isNewConnection(view: PacketView): boolean {
  return view.ipProto === IPPROTO_TCP && (view.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
}

/** TCP flag combinations no real stack sends (scans and evasion attempts). */
function validFlags(flags: number): boolean {
  if ((flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) === 0) return false; // null scan
  if ((flags & TCP_SYN) !== 0 && (flags & (TCP_FIN | TCP_RST)) !== 0) return false;
  return true;
}

/** murmur3's finalizer: a bijection on 32 bits, so distinct counters give distinct ids. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Random-looking, unique within a run (the low word is a bijection of the counter whatever the
 * salt), and below 2^51 like Suricata's flow_id.
 */
function flowId(counter: number, salt: number): number {
  const high = fmix32(counter ^ 0x9e3779b9 ^ fmix32(salt ^ 0x85ebca6b)) & 0x7ffff;
  return high * 4294967296 + fmix32((counter + salt) >>> 0);
}

/** Same value for both directions of a conversation. */
export function flowHash(view: PacketView): number {
  const a = view.addr;
  let src = fmix32(a[0] ^ Math.imul(view.srcPort, 0x9e3779b1));
  let dst = fmix32(a[4] ^ Math.imul(view.dstPort, 0x9e3779b1));
  if (view.ipVersion === 6) {
    src = fmix32(src ^ a[1] ^ fmix32(a[2] ^ fmix32(a[3])));
    dst = fmix32(dst ^ a[5] ^ fmix32(a[6] ^ fmix32(a[7])));
  }
  const vlan = view.vlanCount > 0 ? view.vlanIds[0] : 0;
  return fmix32((src + dst) ^ (view.ipProto << 16) ^ vlan) | 0;
}

/** Hands one direction's reassembled bytes to the consumer: one object per stream, no closures. */
class StreamDelivery implements StreamSink {
  constructor(
    private readonly consumer: FlowConsumer,
    private readonly flow: Flow,
    private readonly dir: Direction,
  ) {}

  data(bytes: Uint8Array): void {
    this.consumer.data(this.flow, this.dir, bytes);
  }

  gap(length: number): void {
    this.consumer.gap(this.flow, this.dir, length);
  }
}
