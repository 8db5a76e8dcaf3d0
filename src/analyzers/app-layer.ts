import type { PacketView } from '../decode/packet-view.js';
import type { Direction } from '../flow/direction.js';
import { MAX_SPEAKERS, type Flow, type FlowEndReason } from '../flow/flow.js';
import type { FlowConsumer } from '../flow/flow-consumer.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../decode/packet-view.js';
import type { Analyzer, AnalyzerContext, AnalyzerFactory, EvidenceMode, Expectation } from './analyzer.js';
import type { AppEvent } from './events.js';
import { appProtoRank as rank, descriptorOf, speakerLabel } from './registry.js';
import type { HostName } from './protocol.js';
import { TO_CLIENT, TO_SERVER } from '../flow/direction.js';
import { rpcProgramProto } from './rpc/programs.js';

/** What the next stage (the rule engine) receives: packet headers, analyzer events, flow ends. */
export interface AppConsumer {
  packet(flow: Flow, dir: Direction, view: PacketView): void;
  event(flow: Flow, event: AppEvent): void;
  flowEnd(flow: Flow, reason: FlowEndReason): void;
  /**
   * Whether events of these types from this flow can still matter. An analyzer that has
   * identified its protocol on a flow where they cannot is stopped: its protocol stays known,
   * and its bytes are no longer parsed (nor, once no analyzer is left, reassembled).
   */
  wantsEvents(flow: Flow, types: ReadonlyArray<AppEvent['type']>): boolean;
}

export class AppLayerStats {
  /** Ended flows per application protocol ('unknown' when no analyzer recognised them). */
  readonly flowsByProto = new Map<string, number>();
  events = 0;
  /** Analyzer anomalies by name (`<protocol>.<anomaly>`). */
  readonly anomalies = new Map<string, number>();
  /** Analyzer faults caught (a bug, never a reason to stop): the analyzer is dropped for the flow. */
  analyzerErrors = 0;
  expectationsLearnt = 0;
  expectationsUsed = 0;
  /** Further attempts that made an analyzer on a flow picked up mid-stream or after a gap. */
  retries = 0;
  /** Flows given up once their budget of further attempts or bytes was spent. */
  retriesExhausted = 0;
}

/**
 * Per-flow state: the analyzers still trying (by factory index), the directions heard, the
 * factories waiting for the client's first bytes, and what is left of the flow's budget of
 * further chances.
 */
class FlowAnalysis implements AnalyzerContext {
  /** The live analyzer of each factory, by the factory's index; null when it is not trying. */
  readonly analyzers: Array<Analyzer | null>;
  active = 0;
  /** Directions whose first payload has been glanced at, as bits 1 << dir. */
  heard = 0;
  /** Factories (as bits 1 << index) the server's first bytes ruled out: they glance again at the client's. */
  waiting = 0;
  /** A capture gap was reported: what follows it may be glanced at again. */
  lossSeen = false;
  /** Further chances that made an analyzer. */
  attempts = 0;
  /** Bytes glanced at by factories given further chances (or waiting for the client). */
  huntBytes = 0;

  constructor(
    private readonly layer: AppLayer,
    private readonly owner: Flow,
    readonly flow: { transport: 'tcp' | 'udp'; clientPort: number; serverPort: number; midstream: boolean },
    readonly evidence: EvidenceMode,
    factoryCount: number,
  ) {
    this.analyzers = new Array<Analyzer | null>(factoryCount).fill(null);
  }

  emit(event: AppEvent): void {
    this.layer.onEvent(this.owner, event);
  }

  expect(expectation: Expectation): void {
    this.layer.learn(this.owner, expectation);
  }

  anomaly(name: string): void {
    const counts = this.layer.stats.anomalies;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }

  /** Whether a live analyzer has identified its protocol: it then resynchronises on its own. */
  identified(): boolean {
    for (const analyzer of this.analyzers) if (analyzer !== null && analyzer.verdict === 'match') return true;
    return false;
  }
}

/** Expected flows live this long (seconds of capture time) before they are forgotten. */
const EXPECTATION_TTL = 300;
const MAX_EXPECTATIONS = 10_000;

/** Stands for the analysis of a flow every analyzer gave up on: its state is released early. */
const GAVE_UP = Symbol('no analyzer wants this flow');

/** The directions an analyzer made on a flow's later bytes is told began before it. */
const BOTH_BEGAN_EARLIER: readonly Direction[] = [TO_SERVER, TO_CLIENT];
const SERVER_BEGAN_EARLIER: readonly Direction[] = [TO_CLIENT];
const NONE_BEGAN_EARLIER: readonly Direction[] = [];

/**
 * On a TCP flow whose bytes may not begin where the protocol does (picked up mid-stream, or after
 * a capture gap), an analyzer that ruled the bytes out, or gave up on them, glances again at each
 * later payload until one has identified the flow, since a sensor started on a busy network picks
 * most connections up mid-stream: at most MAX_RETRIES further chances that make an analyzer, over
 * at most RETRY_BYTES bytes glanced at.
 */
export const MAX_RETRIES = 8;
export const RETRY_BYTES = 64 * 1024;

interface LearntExpectation {
  expectation: Expectation;
  untilSec: number;
  portKey: number;
}

/**
 * Runs the payload analyzers on each flow's bytes. Every analyzer is tried on every flow (the
 * port says nothing about the content): those whose glance at the first payload rules it out are
 * never made, the others drop out as soon as their verdict is 'reject' (or, once they have
 * identified their protocol, when the next stage wants none of their events from the flow), and a
 * flow no analyzer wants is no longer reassembled at all.
 *
 * Each direction is judged on its own: the factories the server's first bytes rule out (a banner)
 * glance again at the client's first bytes, and an analyzer made then is told that the server's
 * direction began before it. On a TCP flow picked up mid-stream, or that had a gap, the analyzers
 * not trying glance again at later bytes until one identifies the flow, within a budget (see
 * MAX_RETRIES): one analyzer still hunting for its framing does not keep the others out.
 */
export class AppLayer implements FlowConsumer {
  readonly stats = new AppLayerStats();
  /** Ports handed out by portmap/rpcbind, keyed by server address, transport and port. */
  private readonly expectations = new Map<string, LearntExpectation>();
  /** How many expectations name each transport and port: most new flows are ruled out by this alone. */
  private readonly expectedPorts = new Map<number, number>();

  constructor(
    private readonly factories: readonly AnalyzerFactory[],
    private readonly next: AppConsumer,
    private readonly evidence: EvidenceMode = 'redacted',
  ) {}

  packet(flow: Flow, dir: Direction, view: PacketView): void {
    this.next.packet(flow, dir, view);
  }

  data(flow: Flow, dir: Direction, bytes: Uint8Array): void {
    const app = flow.app as FlowAnalysis | typeof GAVE_UP | null;
    if (app === GAVE_UP) return;
    const analysis = app ?? this.begin(flow);
    if (analysis === null) return;
    const bit = 1 << dir;
    if ((analysis.heard & bit) === 0 && (analysis.heard === 0 || analysis.waiting !== 0)) this.glance(flow, analysis, dir, bytes);
    else if (this.hunting(analysis)) this.hunt(flow, analysis, bytes);
    analysis.heard |= bit;
    if (flow.app !== analysis) return;
    if (analysis.active > 0) this.feed(flow, analysis, dir, bytes, 0);
    else if (analysis.waiting !== 0) this.awaitClient(flow, analysis, bytes.length);
    else this.settle(flow, analysis);
  }

  /** No analyzer wants the server's bytes, and the client has not spoken: wait, within the budget. */
  private awaitClient(flow: Flow, analysis: FlowAnalysis, length: number): void {
    analysis.huntBytes += length;
    if (analysis.huntBytes <= RETRY_BYTES) return;
    analysis.waiting = 0;
    this.settle(flow, analysis);
  }

  gap(flow: Flow, dir: Direction, length: number): void {
    const analysis = flow.app as FlowAnalysis | typeof GAVE_UP | null;
    if (analysis === null || analysis === GAVE_UP) return;
    analysis.lossSeen = true;
    if (analysis.active > 0) this.feed(flow, analysis, dir, null, length);
    else if (flow.app === analysis) this.settle(flow, analysis);
  }

  /**
   * Hands bytes (or, when `bytes` is null, a gap of `gapLength`) to every analyzer still trying;
   * drops those that reject it or fail on it. No closure: this runs for every payload packet.
   */
  private feed(flow: Flow, analysis: FlowAnalysis, dir: Direction, bytes: Uint8Array | null, gapLength: number): void {
    const list = analysis.analyzers;
    for (let i = 0; i < list.length; i++) {
      const analyzer = list[i];
      if (analyzer === null) continue;
      try {
        if (bytes !== null) analyzer.data(dir, bytes);
        else analyzer.gap(dir, gapLength);
      } catch {
        this.stats.analyzerErrors++;
        this.drop(flow, analysis, i);
        continue;
      }
      if (analyzer.verdict === 'reject') this.drop(flow, analysis, i);
      else if (analyzer.verdict === 'match') {
        const factory = this.factories[i];
        if (rank(factory.proto) > rank(flow.appProto)) flow.appProto = factory.proto;
        // Known, and nothing it could say about this flow matters: internal HL7, say, on a link
        // no rule watches. Suricata likewise stops inspecting what no rule or logger needs.
        if (factory.expects !== true && !this.next.wantsEvents(flow, factory.events)) this.drop(flow, analysis, i);
      }
    }
  }

  flowEnd(flow: Flow, reason: FlowEndReason): void {
    const analysis = flow.app as FlowAnalysis | typeof GAVE_UP | null;
    if (analysis !== null && analysis !== GAVE_UP) {
      for (const analyzer of analysis.analyzers) {
        if (analyzer === null) continue;
        try {
          analyzer.end();
        } catch {
          this.stats.analyzerErrors++;
        }
      }
    }
    const proto = flow.appProto === '' ? 'unknown' : flow.appProto;
    this.stats.flowsByProto.set(proto, (this.stats.flowsByProto.get(proto) ?? 0) + 1);
    this.next.flowEnd(flow, reason);
    flow.app = null;
  }

  /** Called through an analyzer's context. */
  onEvent(flow: Flow, event: AppEvent): void {
    this.stats.events++;
    const descriptor = descriptorOf(event);
    const proto = descriptor.proves?.(event) ?? null;
    if (proto !== null && rank(proto) >= rank(flow.appProto)) flow.appProto = proto;
    if (descriptor.names !== undefined) this.noteSpeakers(flow, event, descriptor.names(event));
    this.next.event(flow, event);
  }

  /** Remembers on the flow which of its hosts speak the event's protocol, and their names. */
  private noteSpeakers(flow: Flow, event: AppEvent, names: readonly HostName[]): void {
    const label = speakerLabel(event.type);
    if (label === undefined) return;
    for (const { host, name } of names) {
      const fromClient = event.dir === TO_SERVER;
      const side = host === 'client' || (host === 'sender' && fromClient) || (host === 'receiver' && !fromClient) ? 0 : 4;
      const speakers = (flow.speakers ??= []);
      if (speakers.length >= MAX_SPEAKERS) return;
      if (!speakers.some((s) => s.side === side && s.label === label && s.name === name)) speakers.push({ side, label, name });
    }
  }

  learn(flow: Flow, expectation: Expectation): void {
    if (this.expectations.size >= MAX_EXPECTATIONS) {
      const oldest = this.expectations.keys().next().value;
      if (oldest !== undefined) this.forget(oldest);
    }
    this.stats.expectationsLearnt++;
    // The mapping names a port on the server that answered the portmap query.
    const key = expectationKey(flow.addr, 4, expectation.transport, expectation.port);
    this.forget(key);
    const portKey = expectedPortKey(expectation.transport, expectation.port);
    this.expectations.set(key, { expectation, untilSec: flow.lastSec + EXPECTATION_TTL, portKey });
    this.expectedPorts.set(portKey, (this.expectedPorts.get(portKey) ?? 0) + 1);
  }

  private forget(key: string): void {
    const learnt = this.expectations.get(key);
    if (learnt === undefined) return;
    this.expectations.delete(key);
    const left = this.expectedPorts.get(learnt.portKey)! - 1;
    if (left === 0) this.expectedPorts.delete(learnt.portKey);
    else this.expectedPorts.set(learnt.portKey, left);
  }

  /** A flow's first payload: its analysis, and what portmap taught about its port. */
  private begin(flow: Flow): FlowAnalysis | null {
    const transport = flow.proto === IPPROTO_TCP ? 'tcp' : flow.proto === IPPROTO_UDP ? 'udp' : null;
    if (transport === null) return null;
    this.applyExpectation(flow, transport);
    const analysis = new FlowAnalysis(this, flow, { transport, clientPort: flow.clientPort, serverPort: flow.serverPort, midstream: flow.midstream }, this.evidence, this.factories.length);
    flow.app = analysis;
    return analysis;
  }

  /**
   * The flow's first payload, or the client's first after a server whose first bytes some
   * factories ruled out (a banner): makes the analyzers that do not rule it out at a glance.
   */
  private glance(flow: Flow, analysis: FlowAnalysis, dir: Direction, bytes: Uint8Array): void {
    const first = analysis.heard === 0;
    const candidates = first ? (1 << this.factories.length) - 1 : analysis.waiting;
    analysis.waiting = 0;
    const transport = analysis.flow.transport;
    const midstream = flow.midstream;
    const serverFirst = first && dir === TO_CLIENT && transport === 'tcp' && !midstream;
    for (let i = 0; i < this.factories.length; i++) {
      const factory = this.factories[i];
      if ((candidates & (1 << i)) === 0 || !factory.transports.includes(transport)) continue;
      if (factory.mayAccept !== undefined && !factory.mayAccept(bytes, transport, midstream)) {
        if (serverFirst) analysis.waiting |= 1 << i;
        continue;
      }
      // Tell it which directions began before it: its first bytes there may fall anywhere.
      this.make(flow, analysis, i, midstream ? BOTH_BEGAN_EARLIER : first ? NONE_BEGAN_EARLIER : SERVER_BEGAN_EARLIER);
    }
  }

  /**
   * A further chance: every factory without a live analyzer on the flow glances at these bytes
   * as bytes that may fall anywhere in its protocol.
   */
  private hunt(flow: Flow, analysis: FlowAnalysis, bytes: Uint8Array): void {
    analysis.huntBytes += bytes.length;
    if (analysis.huntBytes > RETRY_BYTES) return;
    const transport = analysis.flow.transport;
    let made = false;
    for (let i = 0; i < this.factories.length; i++) {
      const factory = this.factories[i];
      if (analysis.analyzers[i] !== null || !factory.transports.includes(transport)) continue;
      if (factory.mayAccept !== undefined && !factory.mayAccept(bytes, transport, true)) continue;
      this.make(flow, analysis, i, BOTH_BEGAN_EARLIER);
      made = true;
    }
    if (!made) return;
    analysis.attempts++;
    this.stats.retries++;
  }

  private make(flow: Flow, analysis: FlowAnalysis, index: number, beganEarlier: readonly Direction[]): void {
    const analyzer = this.factories[index].create(analysis);
    analysis.analyzers[index] = analyzer;
    analysis.active++;
    try {
      for (const dir of beganEarlier) analyzer.gap(dir, 0);
    } catch {
      this.stats.analyzerErrors++;
      this.drop(flow, analysis, index);
    }
  }

  /**
   * Whether the flow's later bytes are glanced at again: TCP whose bytes may not begin where the
   * protocol does (mid-stream, or after a gap), not yet identified, within its budget.
   */
  private hunting(analysis: FlowAnalysis): boolean {
    return (
      analysis.flow.transport === 'tcp' &&
      (analysis.flow.midstream || analysis.lossSeen) &&
      analysis.attempts < MAX_RETRIES &&
      analysis.huntBytes <= RETRY_BYTES &&
      !analysis.identified()
    );
  }

  private applyExpectation(flow: Flow, transport: 'tcp' | 'udp'): void {
    if (!this.expectedPorts.has(expectedPortKey(transport, flow.serverPort))) return;
    const key = expectationKey(flow.addr, 4, transport, flow.serverPort);
    const found = this.expectations.get(key);
    if (found === undefined) return;
    if (flow.startSec > found.untilSec) {
      this.forget(key);
      return;
    }
    this.stats.expectationsUsed++;
    const proto = rpcProgramProto(found.expectation.program);
    if (rank(proto) > rank(flow.appProto)) flow.appProto = proto;
  }

  private drop(flow: Flow, analysis: FlowAnalysis, index: number): void {
    analysis.analyzers[index] = null;
    analysis.active--;
    if (analysis.active === 0) this.settle(flow, analysis);
  }

  /**
   * No analyzer is trying. A flow whose later bytes may still be glanced at waits for them; any
   * other is given up: nobody wants its bytes, so reassembling and copying them stops, and the
   * analyzers' state goes now rather than when the flow ends.
   */
  private settle(flow: Flow, analysis: FlowAnalysis): void {
    if (analysis.active > 0 || analysis.waiting !== 0 || this.hunting(analysis)) return;
    if (analysis.attempts > 0 || analysis.huntBytes > 0) this.stats.retriesExhausted++;
    this.giveUp(flow);
  }

  private giveUp(flow: Flow): void {
    flow.stopInspection();
    flow.app = GAVE_UP;
  }
}

function expectedPortKey(transport: string, port: number): number {
  return port * 2 + (transport === 'udp' ? 1 : 0);
}

function expectationKey(addr: ArrayLike<number>, at: number, transport: string, port: number): string {
  return `${addr[at]}.${addr[at + 1]}.${addr[at + 2]}.${addr[at + 3]}|${transport}|${port}`;
}
