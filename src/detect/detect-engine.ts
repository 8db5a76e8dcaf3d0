import type { AppConsumer } from '../analyzers/app-layer.js';
import type { AppEvent } from '../analyzers/events.js';
import type { PacketView } from '../decode/packet-view.js';
import { TO_SERVER, type Direction } from '../flow/direction.js';
import type { Flow, FlowEndReason } from '../flow/flow.js';
import { formatAddress } from '../lib/ip-text.js';
import type { Alert, DetectSink, IndicatorHit, PacketContext } from './alert.js';
import type { CompiledRule, Trigger } from './rule.js';
import type { IndicatorEntry, RuleSet } from './rule-set.js';
import { deliverAlert, DetectStats } from './alert-delivery.js';
import { MAX_IDENTIFIED, RoleResolver, type RoleChannel } from './host-roles.js';

export { DetectStats } from './alert-delivery.js';

const NO_MATCHES: ReadonlyMap<number, number> = new Map();
const NO_RULES: CompiledRule[] = [];
const NO_NUMBERS: number[] = [];
const NO_BOOLEANS: boolean[] = [];

/**
 * The rule engine's memory of a flow some rule may apply to (other flows have none, see stateOf).
 * The sets and maps are only made when something is recorded.
 */
class FlowDetect {
  /** Rules whose address, port and protocol conditions this flow meets. */
  candidates: CompiledRule[] = NO_RULES;
  matches: number[] = NO_NUMBERS;
  fired: boolean[] = NO_BOOLEANS;
  clientIndicator: IndicatorEntry | null = null;
  serverIndicator: IndicatorEntry | null = null;
  /** Event types seen on the flow; only kept while some candidate rule may ask. */
  seen: Set<string> | null = null;
  lastEvent: AppEvent | null = null;
  /** The last event of each type some candidate rule names in `seen`: a deferred rule's evidence. */
  lastSeen: Map<string, AppEvent> | null = null;
  /** The last event from the client: a flow-level alert's evidence when its rule names none. */
  lastClientEvent: AppEvent | null = null;
  generation = -1;
  alerted = false;
  lastCaptureFile: string | null = null;
  lastPacketNumber = 0;
  alertedRules: Set<number> | null = null;
  /** Matches of rules by id, kept across reloads for the flow record. */
  ruleMatches: Map<number, number> | null = null;

  /** Ready for another flow. The rule lists stay, for `keepMet` to refill when the size fits. */
  reset(): void {
    this.clientIndicator = this.serverIndicator = null;
    this.seen = null;
    this.lastEvent = this.lastClientEvent = null;
    this.lastSeen = null;
    this.generation = -1;
    this.alerted = false;
    this.lastCaptureFile = null;
    this.lastPacketNumber = 0;
    this.alertedRules = null;
    this.ruleMatches = null;
  }
}

/**
 * Ended flows' states kept for new flows. On a flood of short flows that rules apply to (a SYN
 * flood from inside to outside meets four of the shipped rules) a state made anew for each lived
 * long enough to reach the old generation, and the heap grew to several times the table's size
 * between full collections.
 */
const MAX_SPARE_STATES = 1024;

/** Host pairs remembered for `unless_seen_between_hosts`, at most this many. */
const MAX_HOST_PAIRS = 100_000;

/**
 * Decides what deserves an analyst's attention. Sees packet headers, analyzer events and flow
 * ends; knows nothing of bytes. Rules whose address, port and protocol conditions a flow cannot
 * meet are dropped once per flow, so most packets cost one comparison here.
 */
export class DetectEngine implements AppConsumer {
  readonly stats = new DetectStats();
  private generation = 0;
  /** Which `unless_seen_between_hosts` tests (by key) were met between which client and server. */
  private readonly hostPairs = new Map<string, Set<string>>();
  /** Scratch for meet: indices of the rules a flow meets, and its indicator entries. */
  private met = new Int32Array(0);
  private clientHit: IndicatorEntry | null = null;
  private readonly spare: FlowDetect[] = [];
  private serverHit: IndicatorEntry | null = null;
  /** Where identified hosts and alerts waiting for a role go; this engine's own resolver unless given one. */
  private readonly roles: RoleChannel;
  private readonly localRoles: RoleResolver | null;
  /** `role\0address` of the hosts this engine has reported identified, so each is reported once. */
  private readonly reported = new Set<string>();

  constructor(
    private ruleSet: RuleSet,
    private readonly sink: DetectSink,
    private readonly context: PacketContext,
    /** Rules may be reloaded during the run: then any flow may come to matter (see wantsEvents). */
    private readonly rulesMayChange = false,
    roles?: RoleChannel,
  ) {
    this.localRoles = roles === undefined ? new RoleResolver(ruleSet, this.stats, sink) : null;
    this.roles = roles ?? this.localRoles!;
  }

  get rules(): RuleSet {
    return this.ruleSet;
  }

  /** Swaps in new rules; flows keep their state and are re-matched on their next packet. */
  reload(ruleSet: RuleSet): void {
    this.ruleSet = ruleSet;
    this.localRoles?.reload(ruleSet);
    this.generation++;
  }

  packet(flow: Flow, dir: Direction, view: PacketView): void {
    const state = this.stateOf(flow);
    if (state === null) return;
    // Alerts raised when the flow ends point at its last packet, not at whatever is read then.
    state.lastCaptureFile = this.context.captureFile;
    state.lastPacketNumber = this.context.packetNumber;
    const rules = state.candidates;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (rule.at !== 'packet') continue;
      if (rule.direction !== -1 && rule.direction !== dir) continue;
      if (!this.flowConditions(rule, flow, state)) continue;
      this.matched(flow, state, i, dir, null, view.tsSec, view.tsNsec);
    }
  }

  event(flow: Flow, event: AppEvent): void {
    const state = this.stateOf(flow);
    this.rememberHostPair(flow, event);
    this.identifyHosts(flow, event);
    if (state === null) return;
    const rules = state.candidates;
    if (rules.length === 0) return;
    (state.seen ??= new Set()).add(event.type);
    if (!event.type.endsWith('.summary')) {
      state.lastEvent = event;
      if (event.dir === TO_SERVER) state.lastClientEvent = event;
    }
    if (this.ruleSet.seenTypes.has(event.type)) (state.lastSeen ??= new Map()).set(event.type, event);
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (rule.at !== 'event' || !rule.event!.matches(event)) continue;
      if (rule.direction !== -1 && rule.direction !== event.dir) continue;
      if (!this.flowConditions(rule, flow, state)) continue;
      this.matched(flow, state, i, event.dir, event, flow.lastSec, flow.lastNsec);
    }
  }

  flowEnd(flow: Flow, reason: FlowEndReason): void {
    const state = this.stateOf(flow);
    if (state !== null) this.deferred(flow, state, 'flow_end');
    this.sink.flowEnd({ flow, reason, ruleMatches: state?.ruleMatches ?? NO_MATCHES, alerted: state?.alerted ?? false });
    flow.detect = null;
    if (state !== null && this.spare.length < MAX_SPARE_STATES) this.spare.push(state);
  }

  /**
   * Whether events of these types from the flow can still matter: some rule may apply to it, or
   * an `unless_seen_between_hosts` test waits for one of the types (from any pair of hosts), or
   * the rules may be reloaded during the run.
   */
  wantsEvents(flow: Flow, types: ReadonlyArray<AppEvent['type']>): boolean {
    if (this.rulesMayChange || flow.detect !== this.generation) return true;
    for (const test of this.ruleSet.unlessTests) {
      for (const type of types) if (test.types.has(type)) return true;
    }
    // A host some role's event would identify, not identified yet.
    for (const role of this.ruleSet.roles) {
      if (role.identifiedBy === null || !types.some((type) => role.identifiedBy!.types.has(type))) continue;
      if (!this.reported.has(`${role.name}\0${formatAddress(flow.ipVersion, flow.addr, role.side)}`)) return true;
    }
    return false;
  }

  /**
   * Rules about the whole flow. Their alerts read client → server, as Suricata's flow-level
   * records do (a SIEM filtering on src_ip in HOME_NET finds them), with the client's last event
   * as evidence when the client said anything the analyzers understood.
   */
  private deferred(flow: Flow, state: FlowDetect, trigger: Trigger): void {
    const rules = state.candidates;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (rule.at !== trigger || !this.flowConditions(rule, flow, state)) continue;
      this.matched(flow, state, i, TO_SERVER, this.evidenceOf(rule, state), flow.lastSec, flow.lastNsec, true);
    }
  }

  /**
   * What a deferred rule shows: the last event of a type it requires seen (of the last such type
   * listed), else the client's last event, else the flow's; never an event of another protocol
   * that came later. The alert itself reads client to server, whatever its evidence's direction.
   */
  private evidenceOf(rule: CompiledRule, state: FlowDetect): AppEvent | null {
    const fallback = state.lastClientEvent ?? state.lastEvent;
    if (rule.seen === null || state.lastSeen === null) return fallback;
    let evidence: AppEvent | null = null;
    for (const type of rule.seen) evidence = state.lastSeen.get(type) ?? evidence;
    return evidence ?? fallback;
  }

  /** Conditions on what is known of the flow so far (application protocol, events seen). */
  private flowConditions(rule: CompiledRule, flow: Flow, state: FlowDetect): boolean {
    const proto = flow.appProto === '' ? 'unknown' : flow.appProto;
    if (rule.appProto !== null && !rule.appProto.has(proto)) return false;
    if (rule.notAppProto !== null && rule.notAppProto.has(proto)) return false;
    if (rule.seen !== null) for (const type of rule.seen) if (state.seen?.has(type) !== true) return false;
    if (rule.unlessAlerted !== null) for (const id of rule.unlessAlerted) if (state.alertedRules?.has(id) === true) return false;
    return true;
  }

  private matched(flow: Flow, state: FlowDetect, i: number, dir: Direction, event: AppEvent | null, tsSec: number, tsNsec: number, atFlowEnd = false): void {
    const rule = state.candidates[i];
    if (rule.unlessSeenBetweenHosts !== null && this.hostPairs.get(hostPairKey(flow))?.has(rule.unlessSeenBetweenHosts.key) === true) return;
    const count = ++state.matches[i];
    (state.ruleMatches ??= new Map()).set(rule.id, count);
    if (rule.perFlow === 'once' && state.fired[i]) return;
    const indicator = rule.indicator === null ? null : this.indicatorHit(flow, state, rule.indicator);
    const severity = indicator !== null && !indicator.exact && rule.severityCidrOnly !== null ? rule.severityCidrOnly : (rule.severityByProto?.get(flow.proto) ?? rule.severity);
    const alert: Alert = {
      rule,
      flow,
      dir,
      tsSec,
      tsNsec,
      matches: count,
      severity,
      event,
      indicator,
      note: indicator?.inHomeNet && rule.noteIndicatorInHomeNet !== null ? rule.noteIndicatorInHomeNet : null,
      captureFile: atFlowEnd ? state.lastCaptureFile : this.context.captureFile,
      packetNumber: atFlowEnd ? state.lastPacketNumber : this.context.packetNumber,
      interfaceName: this.context.interfaceName,
    };
    if (rule.serverRole !== null) {
      // Decided for this flow now: the alert goes out at once, or once the server is identified.
      state.fired[i] = true;
      if (this.roles.awaiting(alert, rule.serverRole)) this.firedOn(state, rule);
      return;
    }
    if (!deliverAlert(this.ruleSet, this.stats, this.sink, alert)) return;
    state.fired[i] = true;
    this.firedOn(state, rule);
  }

  private firedOn(state: FlowDetect, rule: CompiledRule): void {
    state.alerted = true;
    (state.alertedRules ??= new Set()).add(rule.id);
  }

  /** Reports, once each, the hosts this event gives a role (the client of a CMS8000 flow, say). */
  private identifyHosts(flow: Flow, event: AppEvent): void {
    const roles = this.ruleSet.roles;
    for (let r = 0; r < roles.length; r++) {
      const role = roles[r];
      if (role.identifiedBy === null || !role.identifiedBy.matches(event)) continue;
      const address = formatAddress(flow.ipVersion, flow.addr, role.side);
      const key = `${role.name}\0${address}`;
      if (this.reported.has(key)) continue;
      if (this.reported.size >= MAX_IDENTIFIED) this.reported.delete(this.reported.keys().next().value!);
      this.reported.add(key);
      this.roles.identified(role.name, address, flow.lastSec, flow.lastNsec);
    }
  }

  private indicatorHit(flow: Flow, state: FlowDetect, side: 'client' | 'server' | 'either'): IndicatorHit | null {
    // Either side: the server is the usual culprit (a device calling out to a listed address).
    const useServer = side === 'server' || (side === 'either' && state.serverIndicator !== null);
    const entry = useServer ? state.serverIndicator : state.clientIndicator;
    if (entry === null) return null;
    const at = useServer ? 4 : 0;
    return {
      side: useServer ? 'server' : 'client',
      address: formatAddress(flow.ipVersion as 4 | 6, flow.addr, at),
      indicator: entry.value.value,
      description: entry.value.description,
      source: entry.value.source,
      exact: entry.exact,
      inHomeNet: this.ruleSet.homeNet.has(flow.ipVersion as 4 | 6, flow.addr, at),
    };
  }

  /**
   * The flow's rule state, or null while no rule can apply to it. That is most flows: they keep
   * only the generation of the rules they were matched against, so their packets cost one
   * comparison here and no state object.
   */
  private stateOf(flow: Flow): FlowDetect | null {
    const held = flow.detect as FlowDetect | number | null;
    if (held === this.generation) return null;
    if (held !== null && typeof held !== 'number') {
      if (held.generation !== this.generation) this.keepMet(held, this.meet(flow));
      return held;
    }
    const n = this.meet(flow);
    if (n === 0) {
      flow.detect = this.generation;
      return null;
    }
    const spare = this.spare.pop();
    spare?.reset();
    const state = spare ?? new FlowDetect();
    this.keepMet(state, n, spare !== undefined);
    flow.detect = state;
    return state;
  }

  /**
   * The rules whose flow-level conditions hold (protocol, addresses, ports, indicators), into
   * `met`; their count. The flow's indicator entries are left in `clientHit` and `serverHit`.
   */
  private meet(flow: Flow): number {
    const rs = this.ruleSet;
    const v = flow.ipVersion as 4 | 6;
    const clientHit = (this.clientHit = rs.indicators.lookup(v, flow.addr, 0));
    const serverHit = (this.serverHit = rs.indicators.lookup(v, flow.addr, 4));
    const rules = rs.rules;
    if (this.met.length < rules.length) this.met = new Int32Array(rules.length);
    const met = this.met;
    let n = 0;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (rule.protos !== null && !rule.protos.has(flow.proto)) continue;
      if (rule.indicator === 'client' && clientHit === null) continue;
      if (rule.indicator === 'server' && serverHit === null) continue;
      if (rule.indicator === 'either' && clientHit === null && serverHit === null) continue;
      if (rule.clientPort !== null && !rule.clientPort(flow.clientPort)) continue;
      if (rule.serverPort !== null && !rule.serverPort(flow.serverPort)) continue;
      if (rule.client !== null && !rule.client(v, flow.addr, 0)) continue;
      if (rule.server !== null && !rule.server(v, flow.addr, 4)) continue;
      met[n++] = i;
    }
    return n;
  }

  /** Makes the `n` rules `meet` found the flow's candidates; `spare`: a state an ended flow left. */
  private keepMet(state: FlowDetect, n: number, spare = false): void {
    const rules = this.ruleSet.rules;
    const met = this.met;
    state.generation = this.generation;
    state.clientIndicator = this.clientHit;
    state.serverIndicator = this.serverHit;
    if (spare && state.candidates.length === n) {
      for (let k = 0; k < n; k++) {
        state.candidates[k] = rules[met[k]];
        state.matches[k] = 0;
        state.fired[k] = false;
      }
      return;
    }
    // Most flows meet no rule: they share the empty lists. The others get lists of exact size.
    // A spare's lists are another flow's: nothing in them carries over.
    const before = spare ? NO_RULES : state.candidates;
    const candidates: CompiledRule[] = n === 0 ? NO_RULES : new Array<CompiledRule>(n);
    const matches: number[] = n === 0 ? NO_NUMBERS : new Array<number>(n);
    const fired: boolean[] = n === 0 ? NO_BOOLEANS : new Array<boolean>(n);
    for (let k = 0; k < n; k++) {
      const rule = rules[met[k]];
      // After a reload, a rule kept by id keeps what it had matched on this flow.
      const was = before.length === 0 ? -1 : indexOfRule(before, rule.id);
      candidates[k] = rule;
      matches[k] = was < 0 ? 0 : state.matches[was];
      fired[k] = was < 0 ? false : state.fired[was];
    }
    state.candidates = candidates;
    state.matches = matches;
    state.fired = fired;
  }

  private rememberHostPair(flow: Flow, event: AppEvent): void {
    const tests = this.ruleSet.unlessTests;
    if (tests.length === 0) return;
    for (let t = 0; t < tests.length; t++) {
      if (!tests[t].matches(event)) continue;
      const key = hostPairKey(flow);
      let set = this.hostPairs.get(key);
      if (set === undefined) {
        if (this.hostPairs.size >= MAX_HOST_PAIRS) this.hostPairs.delete(this.hostPairs.keys().next().value!);
        set = new Set();
        this.hostPairs.set(key, set);
      }
      set.add(tests[t].key);
    }
  }
}

function indexOfRule(rules: readonly CompiledRule[], id: number): number {
  for (let i = 0; i < rules.length; i++) if (rules[i].id === id) return i;
  return -1;
}

function hostPairKey(flow: Flow): string {
  const a = flow.addr;
  return `${a[0]}.${a[1]}.${a[2]}.${a[3]}>${a[4]}.${a[5]}.${a[6]}.${a[7]}`;
}
