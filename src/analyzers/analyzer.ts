/**
 * The contract between the flow layer and the payload analyzers. Analyzers see reassembled bytes
 * and report what they recognise as typed events; they know nothing of rules, addresses or
 * output formats.
 */
import type { AppEvent } from './events.js';

import type { Direction } from '../flow/direction.js';

export { TO_CLIENT, TO_SERVER, type Direction } from '../flow/direction.js';

/** An application protocol name, as a protocol descriptor registers it (see registry.ts). */
export type AppProto = string;

/**
 * How much of the payload may leave an analyzer. `redacted` (the default) carries structure
 * only (message types, segment ids, block types, lengths); `full` may carry patient data and
 * is only ever set when the user asks for it; `none` carries no evidence beyond the event type.
 */
export type EvidenceMode = 'none' | 'redacted' | 'full';

export type Verdict = 'probing' | 'match' | 'reject';

export interface FlowInfo {
  readonly transport: 'tcp' | 'udp';
  readonly clientPort: number;
  readonly serverPort: number;
  /** TCP: the capture began after the connection did, so its first bytes may fall anywhere in a message. */
  readonly midstream?: boolean;
}

/** A port that a later flow will use for a given RPC program (learnt from portmap/rpcbind). */
export interface Expectation {
  /** The server address is the one of the flow that taught it; only the port is named here. */
  readonly transport: 'tcp' | 'udp';
  readonly port: number;
  readonly program: number;
  readonly version: number;
}

export interface AnalyzerContext {
  readonly flow: FlowInfo;
  readonly evidence: EvidenceMode;
  emit(event: AppEvent): void;
  expect(expectation: Expectation): void;
  /**
   * Counts something the peer did that the protocol forbids or no implementation should do
   * (Zeek's weirds), named `<protocol>.<anomaly>` as the descriptor declares it.
   */
  anomaly(name: string): void;
}

export interface Analyzer {
  /** Current opinion on whether the flow speaks this protocol. Once `reject`, never called again. */
  readonly verdict: Verdict;
  /**
   * TCP: the next in-order bytes of one direction, split anywhere. UDP: one whole datagram.
   * `bytes` is only valid during the call: copy what must be kept.
   */
  data(dir: Direction, bytes: Uint8Array): void;
  /**
   * TCP: `length` bytes of this direction were lost before the next `data` (not captured, or cut
   * by the snap length). Length 0, before any data of the direction: the direction began before
   * the analyzer saw it (the flow was picked up mid-stream, or the analyzer was made after the
   * direction's first bytes went by), so its first bytes may fall anywhere in the protocol.
   */
  gap(dir: Direction, length: number): void;
  /** The flow is over: report anything still pending. */
  end(): void;
}

export interface AnalyzerFactory {
  readonly proto: AppProto;
  readonly transports: ReadonlyArray<'tcp' | 'udp'>;
  /** The event types it reports. */
  readonly events: ReadonlyArray<AppEvent['type']>;
  /** It may register expectations (AnalyzerContext.expect), so it runs as long as the flow does. */
  readonly expects?: boolean;
  /**
   * A glance at a flow's first payload (either direction; for UDP a whole datagram) before any
   * state is made, like Suricata's probing parsers: false only when the analyzer, given these
   * bytes first, would reject the flow at once. Most flows are ruled out here for nothing.
   * Without it the analyzer is always made (it may have something to say about any flow).
   * `midstream`: the bytes may begin anywhere in the protocol (a mid-stream pickup, or bytes
   * after every analyzer gave up on a flow with a gap): false only when no point to
   * resynchronise on can follow them.
   */
  mayAccept?(bytes: Uint8Array, transport: 'tcp' | 'udp', midstream?: boolean): boolean;
  create(ctx: AnalyzerContext): Analyzer;
}
