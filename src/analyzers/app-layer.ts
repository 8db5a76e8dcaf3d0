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
 * Per-flow state: the analyzers still trying, the directions heard, the factories waiting for the
 * client's first bytes, and what is left of the flow's budget of further attempts.
 */
class FlowAnalysis implements AnalyzerContext {
  readonly analyzers: Array<Analyzer | null> = [];
  /** The factory of each analyzer, by index. */
  readonly factories: AnalyzerFactory[] = [];
  active = 0;
  /** Directions whose first payload the current attempt has glanced at, as bits 1 << dir. */
  heard = 0;
  /** Factories the server's first bytes ruled out: they glance again at the client's. */
  waiting: AnalyzerFactory[] | null = null;
  /** The current attempt's bytes may begin anywhere in the protocol. */
  midstream = false;
  /** A capture gap was reported: what follows it deserves a fresh attempt. */
  lossSeen = false;
  /** Further attempts that made an analyzer. */
  attempts = 0;
  /** Bytes that arrived while no analyzer was trying. */
  idleBytes = 0;
  /** Every analyzer of the current attempt gave up; the next bytes start another. */
  idle = false;
  /** The current attempt is a further one that has made no analyzer yet. */
  retrying = false;

  constructor(
    private readonly layer: AppLayer,
    private readonly owner: Flow,
    readonly flow: { transport: 'tcp' | 'udp'; clientPort: number; serverPort: number; midstream: boolean },
    readonly evidence: EvidenceMode,
  ) {}

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

  /** Clears a failed attempt: the next one starts mid-stream. */
  restart(): void {
    this.analyzers.length = 0;
    this.factories.length = 0;
    this.active = 0;
    this.heard = 0;
    this.waiting = null;
    this.midstream = true;
    this.idle = false;
    this.retrying = true;
  }
}

/** Expected flows live this long (seconds of capture time) before they are forgotten. */
const EXPECTATION_TTL = 300;
const MAX_EXPECTATIONS = 10_000;

/** Stands for the analysis of a flow every analyzer gave up on: its state is released early. */
const GAVE_UP = Symbol('no analyzer wants this flow');

/**
 * A TCP flow no analyzer recognised where its bytes may not have begun (picked up mid-stream, or
 * after a capture gap) is tried again on later bytes, since a sensor started on a busy network
 * picks most connections up mid-stream: at most MAX_RETRIES attempts that make an analyzer, over
 * at most RETRY_BYTES bytes that arrive while none is trying.
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
 * direction began before it. A TCP flow picked up mid-stream, or that had a gap, is not given up
 * at the first failure: later bytes start a new attempt, within a budget (see MAX_RETRIES).
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
    if (analysis.idle && !this.retry(flow, analysis, bytes.length)) return;
    if ((analysis.heard & (1 << dir)) === 0) this.glance(flow, analysis, dir, bytes);
    if (analysis.active > 0) this.feed(flow, analysis, dir, bytes, 0);
    else if (analysis.waiting !== null) this.awaitClient(flow, analysis, bytes.length);
  }

  /** No analyzer wants the server's bytes, and the client has not spoken: wait, within the budget. */
  private awaitClient(flow: Flow, analysis: FlowAnalysis, length: number): void {
    analysis.idleBytes += length;
    if (analysis.idleBytes <= RETRY_BYTES) return;
    this.stats.retriesExhausted++;
    this.giveUp(flow);
  }

  gap(flow: Flow, dir: Direction, length: number): void {
    const analysis = flow.app as FlowAnalysis | typeof GAVE_UP | null;
    if (analysis === null || analysis === GAVE_UP) return;
    analysis.lossSeen = true;
    if (analysis.active > 0) this.feed(flow, analysis, dir, null, length);
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
        const factory = analysis.factories[i];
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
    const analysis = new FlowAnalysis(this, flow, { transport, clientPort: flow.clientPort, serverPort: flow.serverPort, midstream: flow.midstream }, this.evidence);
    analysis.midstream = flow.midstream;
    flow.app = analysis;
    return analysis;
  }

  /**
   * The first payload of a direction in the current attempt: makes the analyzers that do not rule
   * it out at a glance. The first direction heard is glanced at by every analyzer; when that was
   * the server, those it ruled out glance again at the client's first payload.
   */
  private glance(flow: Flow, analysis: FlowAnalysis, dir: Direction, bytes: Uint8Array): void {
    const first = analysis.heard === 0;
    analysis.heard |= 1 << dir;
    if (!first && analysis.waiting === null) return;
    const candidates = first ? this.factories : analysis.waiting!;
    analysis.waiting = null;
    const transport = analysis.flow.transport;
    const serverFirst = first && dir === TO_CLIENT && transport === 'tcp';
    const midstream = analysis.midstream;
    let made = false;
    for (const factory of candidates) {
      if (!factory.transports.includes(transport)) continue;
      if (factory.mayAccept !== undefined && !factory.mayAccept(bytes, transport, midstream)) {
        if (serverFirst) (analysis.waiting ??= []).push(factory);
        continue;
      }
      const analyzer = factory.create(analysis);
      analysis.analyzers.push(analyzer);
      analysis.factories.push(factory);
      analysis.active++;
      made = true;
      try {
        // Tell it which directions began before it: its first bytes there may fall anywhere.
        if (midstream) {
          analyzer.gap(TO_SERVER, 0);
          analyzer.gap(TO_CLIENT, 0);
        } else if (!first) {
          analyzer.gap(TO_CLIENT, 0);
        }
      } catch {
        this.stats.analyzerErrors++;
        this.drop(flow, analysis, analysis.analyzers.length - 1);
      }
    }
    if (made && analysis.retrying) {
      analysis.retrying = false;
      analysis.attempts++;
      this.stats.retries++;
    }
    if (analysis.active === 0 && analysis.waiting === null && !analysis.idle && flow.app === analysis) this.attemptFailed(flow, analysis);
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
    if (analysis.active === 0 && analysis.waiting === null) this.attemptFailed(flow, analysis);
  }

  /**
   * No analyzer of the attempt is left. A TCP flow whose bytes may not have begun where the
   * attempt did (mid-stream, or after a gap) waits for later bytes, within its budget. Any other
   * is given up: nobody wants its bytes, so reassembling and copying them stops, and the
   * analyzers' state goes now rather than when the flow ends.
   */
  private attemptFailed(flow: Flow, analysis: FlowAnalysis): void {
    const mayResume = analysis.flow.transport === 'tcp' && (flow.midstream || analysis.lossSeen);
    if (mayResume && analysis.attempts < MAX_RETRIES && analysis.idleBytes < RETRY_BYTES) {
      analysis.idle = true;
      return;
    }
    if (analysis.attempts > 0 || analysis.idleBytes > 0) this.stats.retriesExhausted++;
    this.giveUp(flow);
  }

  /** Bytes after a failed attempt: they start another, or false once the budget is spent. */
  private retry(flow: Flow, analysis: FlowAnalysis, length: number): boolean {
    analysis.idleBytes += length;
    if (analysis.idleBytes > RETRY_BYTES) {
      this.stats.retriesExhausted++;
      this.giveUp(flow);
      return false;
    }
    analysis.restart();
    return true;
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
