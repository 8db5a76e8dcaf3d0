import { TO_SERVER, type Direction } from './direction.js';
import type { TcpStream } from './tcp-stream.js';

/** `reused`: a new connection (a SYN far from the old one's sequence numbers) took over the 5-tuple. */
export type FlowEndReason = 'timeout' | 'closed' | 'evicted' | 'end-of-input' | 'reused';

/** A host of a flow seen speaking a protocol, and the name it goes by there ('' when unnamed). */
export interface FlowSpeaker {
  /** 0: the client, 4: the server (where its address starts in `addr`). */
  readonly side: 0 | 4;
  /** The protocol as the inventory shows it, e.g. 'DICOM'. */
  readonly label: string;
  readonly name: string;
}

export const MAX_SPEAKERS = 8;

export const enum TcpState {
  None,
  SynSent,
  SynRecv,
  Established,
  Closing,
  Closed,
}

/** Each TcpState as EVE's flow records name it. */
export const TCP_STATE_NAMES = ['none', 'syn_sent', 'syn_recv', 'established', 'closing', 'closed'] as const;

/**
 * Timeout classes: each has its own idle time-out and its own least-recently-seen list, so the
 * flow that expires next is always at the head of one of them.
 */
export const TIMEOUT_TCP_NEW = 0;
export const TIMEOUT_TCP_ESTABLISHED = 1;
export const TIMEOUT_TCP_CLOSED = 2;
export const TIMEOUT_UDP_NEW = 3;
export const TIMEOUT_UDP_ESTABLISHED = 4;
export const TIMEOUT_OTHER_NEW = 5;
export const TIMEOUT_OTHER_ESTABLISHED = 6;
export const TIMEOUT_CLASSES = 7;

/** One conversation, keyed by the bidirectional 5-tuple and VLAN ids. */
export class Flow {
  /** Unique in the run, below 2^51 so it is exact as a JSON number. */
  id!: number;
  hash!: number;
  ipVersion!: number;
  proto!: number;
  /**
   * [0..3] client address words, [4..7] server address words (see PacketView.addr). Plain arrays
   * rather than typed ones: a typed array costs more to make than the rest of the flow together.
   */
  readonly addr: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  /**
   * addr[0] and addr[4] again, set by the flow table: with them, finding an IPv4 flow and telling
   * a packet's direction read only the flow object itself. The addr array is an object of its
   * own, and reaching it was one more cache miss on every packet.
   */
  clientWord!: number;
  serverWord!: number;
  clientPort!: number;
  serverPort!: number;
  /** VLAN ids that are part of the key, outermost first. */
  readonly vlanIds: number[] = [0, 0];
  vlanCount!: number;
  /** MAC addresses of the client and server in the flow's first frame (48-bit numbers; 0 when not Ethernet). */
  clientMac!: number;
  serverMac!: number;

  startSec!: number;
  startNsec!: number;
  lastSec!: number;
  lastNsec!: number;
  /*
   * Per-direction state is in pairs of fields, not two-element arrays: every packet updates it,
   * and each array would be one more object, one more likely cache miss, per packet.
   */
  packetsToServer!: number;
  packetsToClient!: number;
  bytesToServer!: number;
  bytesToClient!: number;

  tcpState!: TcpState;
  /** TCP flags seen in each direction, OR-ed. */
  tcpFlagsToServer!: number;
  tcpFlagsToClient!: number;
  /** Initial sequence number of each direction, from its SYN (bit `1 << dir` of synDirs says seen). */
  isnToServer!: number;
  isnToClient!: number;
  synDirs!: number;
  /**
   * Sequence number after the last byte (or SYN, FIN) each direction sent, bit `1 << dir` of
   * seqDirs saying seen; and the last window each side advertised, with its scale (-1: none
   * announced). A SYN on an established flow is told apart from a new connection by them.
   */
  seqEndToServer!: number;
  seqEndToClient!: number;
  seqDirs!: number;
  windowOfClient!: number;
  windowOfServer!: number;
  wscaleOfClient!: number;
  wscaleOfServer!: number;
  /** Reassembly of each direction, made on its first payload byte. */
  streamToServer!: TcpStream | null;
  streamToClient!: TcpStream | null;
  /** True when the flow was picked up mid-connection, so client and server were guessed. */
  midstream!: boolean;

  /** Application protocol, set by the payload analyzers ('' until known). */
  appProto!: string;
  /** Per-flow state of the payload analyzers. */
  app!: unknown;
  /** Hosts of this flow the payload analyzers saw speaking a protocol (at most MAX_SPEAKERS). */
  speakers!: FlowSpeaker[] | null;
  /** Per-flow state of the rule engine. */
  detect!: unknown;

  timeoutClass!: number;
  /** Links in the least-recently-seen list of its timeout class. */
  prev!: Flow | null;
  next!: Flow | null;
  /** Next flow in the same hash bucket. */
  bucketNext!: Flow | null;

  constructor() {
    this.reset();
  }

  /**
   * Back to a new flow's state, keeping the object and its arrays: the flow table reuses ended
   * flows, since on a flood of short flows making each anew was most of the garbage collector's work.
   */
  reset(): void {
    this.id = 0;
    this.hash = 0;
    this.ipVersion = 0;
    this.proto = 0;
    this.clientWord = 0;
    this.serverWord = 0;
    this.clientPort = 0;
    this.serverPort = 0;
    this.vlanCount = 0;
    this.clientMac = 0;
    this.serverMac = 0;
    this.startSec = 0;
    this.startNsec = 0;
    this.lastSec = 0;
    this.lastNsec = 0;
    this.packetsToServer = 0;
    this.packetsToClient = 0;
    this.bytesToServer = 0;
    this.bytesToClient = 0;
    this.tcpState = TcpState.None;
    this.tcpFlagsToServer = 0;
    this.tcpFlagsToClient = 0;
    this.isnToServer = 0;
    this.isnToClient = 0;
    this.synDirs = 0;
    this.seqEndToServer = 0;
    this.seqEndToClient = 0;
    this.seqDirs = 0;
    this.windowOfClient = 0;
    this.windowOfServer = 0;
    this.wscaleOfClient = -1;
    this.wscaleOfServer = -1;
    this.streamToServer = null;
    this.streamToClient = null;
    this.midstream = false;
    this.appProto = '';
    this.app = null;
    this.speakers = null;
    this.detect = null;
    this.timeoutClass = 0;
    this.prev = null;
    this.next = null;
    this.bucketNext = null;
    this.stoppedDirs = 0;
    this.addr.fill(0);
    this.vlanIds.fill(0);
  }

  /**
   * A copy for what must outlive the flow (an alert held after it ended): the table reuses this
   * object for another flow once this one ends. Without its streams, list links and analysis.
   */
  copy(): Flow {
    const c = new Flow();
    for (let i = 0; i < 8; i++) c.addr[i] = this.addr[i];
    c.vlanIds[0] = this.vlanIds[0];
    c.vlanIds[1] = this.vlanIds[1];
    const { addr: _addr, vlanIds: _vlanIds, streamToServer: _s, streamToClient: _c, app: _app, detect: _detect, prev: _prev, next: _next, bucketNext: _bucket, ...plain } = this;
    Object.assign(c, plain);
    if (this.speakers !== null) c.speakers = [...this.speakers];
    return c;
  }

  /**
   * Stops inspecting one direction's bytes (or both): nothing more is buffered or copied, and the
   * stream itself is let go (inspection never resumes, and most flows end up here early).
   */
  stopInspection(dir?: Direction): void {
    if (dir !== 1) {
      this.streamToServer?.stop();
      this.streamToServer = null;
    }
    if (dir !== 0) {
      this.streamToClient?.stop();
      this.streamToClient = null;
    }
    this.stoppedDirs |= dir === undefined ? 3 : 1 << dir;
  }

  packets(dir: Direction): number {
    return dir === TO_SERVER ? this.packetsToServer : this.packetsToClient;
  }

  tcpFlags(dir: Direction): number {
    return dir === TO_SERVER ? this.tcpFlagsToServer : this.tcpFlagsToClient;
  }

  stream(dir: Direction): TcpStream | null {
    return dir === TO_SERVER ? this.streamToServer : this.streamToClient;
  }

  /** Whether a consumer still wants this direction's bytes. */
  inspecting(dir: Direction): boolean {
    return (this.stoppedDirs & (1 << dir)) === 0;
  }

  /** Directions whose bytes no consumer wants any more, as bits 1 << dir. */
  private stoppedDirs!: number;
}
