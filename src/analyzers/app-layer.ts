import type { PacketView } from '../decode/packet-view.js';
import type { Direction } from '../flow/direction.js';
import { MAX_SPEAKERS, type Flow, type FlowEndReason } from '../flow/flow.js';
import type { FlowConsumer } from '../flow/flow-consumer.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../decode/packet-view.js';
import type { Analyzer, AnalyzerContext, AnalyzerFactory, EvidenceMode, Expectation } from './analyzer.js';
import type { AppEvent } from './events.js';
import { appProtoRank as rank, descriptorOf, speakerLabel } from './registry.js';
import type { HostName } from './protocol.js';
import { TO_SERVER } from '../flow/direction.js';
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
}

/** Per-flow state: the analyzers still trying, the learnt expectation, and the verdicts. */
class FlowAnalysis implements AnalyzerContext {
  readonly analyzers: Array<Analyzer | null> = [];
  /** The factory of each analyzer, by index. */
  readonly factories: AnalyzerFactory[] = [];
  active = 0;

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
}

/** Expected flows live this long (seconds of capture time) before they are forgotten. */
const EXPECTATION_TTL = 300;
const MAX_EXPECTATIONS = 10_000;

/** Stands for the analysis of a flow every analyzer gave up on: its state is released early. */
const GAVE_UP = Symbol('no analyzer wants this flow');

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
    const analysis = app === null ? this.begin(flow, bytes) : app === GAVE_UP ? null : app;
    if (analysis !== null) this.feed(flow, analysis, dir, bytes, 0);
  }

  gap(flow: Flow, dir: Direction, length: number): void {
    const analysis = flow.app as FlowAnalysis | typeof GAVE_UP | null;
    if (analysis !== null && analysis !== GAVE_UP) this.feed(flow, analysis, dir, null, length);
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

  /** A flow's first payload: makes the analyzers that do not rule it out at a glance. */
  private begin(flow: Flow, bytes: Uint8Array): FlowAnalysis | null {
    const transport = flow.proto === IPPROTO_TCP ? 'tcp' : flow.proto === IPPROTO_UDP ? 'udp' : null;
    if (transport === null) return null;
    this.applyExpectation(flow, transport);
    let analysis: FlowAnalysis | null = null;
    for (const factory of this.factories) {
      if (!factory.transports.includes(transport)) continue;
      if (factory.mayAccept !== undefined && !factory.mayAccept(bytes, transport, flow.midstream)) continue;
      analysis ??= new FlowAnalysis(this, flow, { transport, clientPort: flow.clientPort, serverPort: flow.serverPort, midstream: flow.midstream }, this.evidence);
      analysis.analyzers.push(factory.create(analysis));
      analysis.factories.push(factory);
      analysis.active++;
    }
    if (analysis === null) this.giveUp(flow);
    else flow.app = analysis;
    return analysis;
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
    // Nobody wants this flow's bytes: stop reassembling and copying them, and let go of the
    // analyzers' state now rather than when the flow ends.
    if (analysis.active === 0) this.giveUp(flow);
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
