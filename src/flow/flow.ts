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

export type TcpState = 'none' | 'syn_sent' | 'syn_recv' | 'established' | 'closing' | 'closed';

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
  id = 0;
  hash = 0;
  ipVersion = 0;
  proto = 0;
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
  clientWord = 0;
  serverWord = 0;
  clientPort = 0;
  serverPort = 0;
  /** VLAN ids that are part of the key, outermost first. */
  readonly vlanIds: number[] = [0, 0];
  vlanCount = 0;
  /** MAC addresses of the client and server in the flow's first frame (48-bit numbers; 0 when not Ethernet). */
  clientMac = 0;
  serverMac = 0;

  startSec = 0;
  startNsec = 0;
  lastSec = 0;
  lastNsec = 0;
  /*
   * Per-direction state is in pairs of fields, not two-element arrays: every packet updates it,
   * and each array would be one more object, one more likely cache miss, per packet.
   */
  packetsToServer = 0;
  packetsToClient = 0;
  bytesToServer = 0;
  bytesToClient = 0;

  tcpState: TcpState = 'none';
  /** TCP flags seen in each direction, OR-ed. */
  tcpFlagsToServer = 0;
  tcpFlagsToClient = 0;
  /** Initial sequence number of each direction, from its SYN (bit `1 << dir` of synDirs says seen). */
  isnToServer = 0;
  isnToClient = 0;
  synDirs = 0;
  /**
   * Sequence number after the last byte (or SYN, FIN) each direction sent, bit `1 << dir` of
   * seqDirs saying seen; and the last window each side advertised, with its scale (-1: none
   * announced). A SYN on an established flow is told apart from a new connection by them.
   */
  seqEndToServer = 0;
  seqEndToClient = 0;
  seqDirs = 0;
  windowOfClient = 0;
  windowOfServer = 0;
  wscaleOfClient = -1;
  wscaleOfServer = -1;
  /** Reassembly of each direction, made on its first payload byte. */
  streamToServer: TcpStream | null = null;
  streamToClient: TcpStream | null = null;
  /** True when the flow was picked up mid-connection, so client and server were guessed. */
  midstream = false;

  /** Application protocol, set by the payload analyzers ('' until known). */
  appProto = '';
  /** Per-flow state of the payload analyzers. */
  app: unknown = null;
  /** Hosts of this flow the payload analyzers saw speaking a protocol (at most MAX_SPEAKERS). */
  speakers: FlowSpeaker[] | null = null;
  /** Per-flow state of the rule engine. */
  detect: unknown = null;

  timeoutClass = 0;
  /** Links in the least-recently-seen list of its timeout class. */
  prev: Flow | null = null;
  next: Flow | null = null;
  /** Next flow in the same hash bucket. */
  bucketNext: Flow | null = null;

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
  private stoppedDirs = 0;
}
