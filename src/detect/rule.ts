import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../decode/packet-view.js';
import type { AppEvent } from '../analyzers/events.js';
import { parseCidr } from '../lib/ip-text.js';
import { AddressSet, isExternalAddress } from './address-set.js';
import type { LoadedRuleFile, SourceLocation } from './rule-loader.js';
import { formatLocation } from './rule-loader.js';
import type { EventMatchSpec, HostRoleSpec, RuleSpec } from './rule-schema.js';

/** Tests an address given as decoder words (see PacketView.addr). */
export type AddressTest = (version: number, words: ArrayLike<number>, at: number) => boolean;
export type PortTest = (port: number) => boolean;
export type Trigger = 'packet' | 'event' | 'flow_end';

export interface EventTest {
  types: ReadonlySet<string>;
  /** The test as written, so equal tests in different rules (or rule sets) share one key. */
  key: string;
  matches(event: AppEvent): boolean;
}

export interface CompiledRule {
  id: number;
  rev: number;
  name: string;
  category: string;
  severity: 1 | 2 | 3;
  severityCidrOnly: 1 | 2 | 3 | null;
  references: readonly string[];
  noteIndicatorInHomeNet: string | null;
  perFlow: 'once' | 'every';
  at: Trigger;
  /** IP protocol numbers the rule applies to; null for any. */
  protos: ReadonlySet<number> | null;
  client: AddressTest | null;
  server: AddressTest | null;
  clientPort: PortTest | null;
  serverPort: PortTest | null;
  /** 0 to server, 1 to client, -1 either. */
  direction: -1 | 0 | 1;
  indicator: 'client' | 'server' | 'either' | null;
  appProto: ReadonlySet<string> | null;
  notAppProto: ReadonlySet<string> | null;
  event: EventTest | null;
  seen: readonly string[] | null;
  unlessAlerted: readonly number[] | null;
  unlessSeenBetweenHosts: EventTest | null;
  /** The host role the server must hold (see CompiledRole), or null. */
  serverRole: string | null;
  /** Severity by IP protocol number, where the rule's `severity_by_proto` sets one. */
  severityByProto: ReadonlyMap<number, 1 | 2 | 3> | null;
  location: SourceLocation;
}

/** A kind of host rules can ask about: listed by the user, or identified by what it was seen doing. */
export interface CompiledRole {
  name: string;
  description: string;
  /** The user's lists that name such hosts, or null. */
  listedIn: 'monitors' | null;
  identifiedBy: EventTest | null;
  /** The end of the identifying event's flow that takes the role, as an offset in Flow.addr. */
  side: 0 | 4;
}

/** The address variables rules can name. */
export interface AddressVariables {
  homeNet: AddressSet<true>;
}

const PROTOS: Record<string, number[] | null> = {
  any: null,
  ip: null,
  tcp: [IPPROTO_TCP],
  udp: [IPPROTO_UDP],
  icmp: [IPPROTO_ICMP, IPPROTO_ICMPV6],
};

/** Compiles validated rule files; semantic problems (bad CIDR, duplicate id...) are collected. */
export function compileRules(files: readonly LoadedRuleFile[], vars: AddressVariables): { rules: CompiledRule[]; roles: CompiledRole[]; problems: string[] } {
  const rules: CompiledRule[] = [];
  const problems: string[] = [];
  const seenIds = new Map<number, SourceLocation>();
  const roles = new Map<string, CompiledRole>();
  const roleAt = new Map<string, SourceLocation>();
  for (const file of files) {
    for (const [name, spec] of Object.entries(file.content.host_roles)) {
      const at = file.locate(['host_roles', name]);
      const previous = roleAt.get(name);
      if (previous) {
        problems.push(`${formatLocation(at)}: duplicate host role '${name}' (first defined at ${formatLocation(previous)})`);
        continue;
      }
      roleAt.set(name, at);
      roles.set(name, compileRole(name, spec));
    }
  }
  for (const file of files) {
    file.content.rules.forEach((spec, index) => {
      const at = (key: string, ...rest: Array<string | number>) => file.locate(['rules', index, key, ...rest]);
      const previous = seenIds.get(spec.id);
      if (previous) {
        problems.push(`${formatLocation(at('id'))}: duplicate rule id ${spec.id} (first defined at ${formatLocation(previous)})`);
        return;
      }
      seenIds.set(spec.id, at('id'));
      if (!spec.enabled) return;
      const report = (path: Array<string | number>) => (message: string) => problems.push(`${formatLocation(file.locate(['rules', index, 'match', ...path]))}: ${message}`);
      if (spec.match.server_role !== undefined && !roles.has(spec.match.server_role)) {
        report(['server_role'])(`unknown host role '${spec.match.server_role}' (defined: ${[...roles.keys()].join(', ') || 'none'}; see host_roles)`);
        return;
      }
      const rule = compileRule(spec, vars, file.locate(['rules', index]), report);
      if (rule) rules.push(rule);
    });
  }
  // A threshold, suppression or unless_alerted naming no rule would silently do nothing.
  for (const file of files) {
    const unknown = (id: number, path: Array<string | number>) => {
      if (!seenIds.has(id)) problems.push(`${formatLocation(file.locate(path))}: no rule has id ${id}`);
    };
    file.content.rules.forEach((spec, index) => spec.match.unless_alerted?.forEach((id, j) => unknown(id, ['rules', index, 'match', 'unless_alerted', j])));
    file.content.thresholds.forEach((t, index) => unknown(t.id, ['thresholds', index, 'id']));
    file.content.suppressions.forEach((t, index) => unknown(t.id, ['suppressions', index, 'id']));
  }
  return { rules, roles: [...roles.values()], problems };
}

function compileRole(name: string, spec: HostRoleSpec): CompiledRole {
  return {
    name,
    description: spec.description,
    listedIn: spec.listed_in ?? null,
    identifiedBy: spec.identified_by ? compileEventTest(spec.identified_by.event) : null,
    side: spec.identified_by?.side === 'server' ? 4 : 0,
  };
}

function compileRule(spec: RuleSpec, vars: AddressVariables, location: SourceLocation, report: (path: Array<string | number>) => (message: string) => void): CompiledRule | null {
  const m = spec.match;
  let ok = true;
  const fail = (path: Array<string | number>) => (message: string) => {
    ok = false;
    report(path)(message);
  };
  const protos = PROTOS[m.proto ?? 'any'];
  const rule: CompiledRule = {
    id: spec.id,
    rev: spec.rev,
    name: spec.name,
    category: spec.category,
    severity: spec.severity,
    severityCidrOnly: spec.severity_cidr_only ?? null,
    references: spec.references,
    noteIndicatorInHomeNet: spec.note_indicator_in_home_net ?? null,
    perFlow: spec.per_flow,
    at: m.at ?? (m.event ? 'event' : 'packet'),
    protos: protos === null ? null : new Set(protos),
    client: m.client === undefined ? null : compileAddresses(m.client, vars, fail(['client'])),
    server: m.server === undefined ? null : compileAddresses(m.server, vars, fail(['server'])),
    clientPort: m.client_port === undefined ? null : compilePorts(m.client_port, fail(['client_port'])),
    serverPort: m.server_port === undefined ? null : compilePorts(m.server_port, fail(['server_port'])),
    direction: m.direction === 'to_server' ? 0 : m.direction === 'to_client' ? 1 : -1,
    indicator: m.indicator ?? null,
    appProto: m.app_proto ? new Set(m.app_proto) : null,
    notAppProto: m.not_app_proto ? new Set(m.not_app_proto) : null,
    event: m.event ? compileEventTest(m.event) : null,
    seen: m.seen ?? null,
    unlessAlerted: m.unless_alerted ?? null,
    unlessSeenBetweenHosts: m.unless_seen_between_hosts ? compileEventTest(m.unless_seen_between_hosts) : null,
    serverRole: m.server_role ?? null,
    severityByProto: spec.severity_by_proto ? severitiesByProto(spec.severity_by_proto) : null,
    location,
  };
  return ok ? rule : null;
}

function severitiesByProto(spec: NonNullable<RuleSpec['severity_by_proto']>): Map<number, 1 | 2 | 3> {
  const map = new Map<number, 1 | 2 | 3>();
  for (const [name, severity] of Object.entries(spec)) {
    if (severity !== undefined) for (const proto of PROTOS[name]!) map.set(proto, severity);
  }
  return map;
}

/**
 * Address lists follow Suricata: the listed positives (any when there are none) minus the
 * negated entries. `$EXTERNAL_NET` is every address outside HOME_NET that is not multicast,
 * broadcast, loopback or unspecified.
 */
export function compileAddresses(spec: string | string[], vars: AddressVariables, fail: (message: string) => void): AddressTest | null {
  const items = Array.isArray(spec) ? spec : [spec];
  const positives: AddressTest[] = [];
  const negatives: AddressTest[] = [];
  const positiveCidrs: string[] = [];
  const negativeCidrs: string[] = [];
  for (const raw of items) {
    const item = raw.trim();
    const negated = item.startsWith('!');
    const name = negated ? item.slice(1).trim() : item;
    let test: AddressTest | null = null;
    if (name === 'any') test = () => true;
    else if (name === '$HOME_NET') test = (v, w, a) => vars.homeNet.has(v as 4 | 6, w, a);
    else if (name === '$EXTERNAL_NET') test = (v, w, a) => isExternalAddress(vars.homeNet, v, w, a);
    else if (name.startsWith('$')) {
      fail(`unknown address variable '${name}' (known: $HOME_NET, $EXTERNAL_NET)`);
      return null;
    } else {
      (negated ? negativeCidrs : positiveCidrs).push(name);
      continue;
    }
    (negated ? negatives : positives).push(test);
  }
  for (const [cidrs, into] of [
    [positiveCidrs, positives],
    [negativeCidrs, negatives],
  ] as const) {
    if (cidrs.length === 0) continue;
    let set: AddressSet<true>;
    try {
      set = addressSetOf(cidrs);
    } catch (err) {
      fail((err as Error).message);
      return null;
    }
    into.push((v, w, a) => set.has(v as 4 | 6, w, a));
  }
  // Loops, not `some` with an arrow: these run for every new flow, and each arrow is an allocation.
  const anyOf = (tests: AddressTest[]): AddressTest => (v, w, a) => {
    for (let i = 0; i < tests.length; i++) if (tests[i](v, w, a)) return true;
    return false;
  };
  const anyPositive = positives.length === 0 ? () => true : positives.length === 1 ? positives[0] : anyOf(positives);
  if (negatives.length === 0) return anyPositive;
  const anyNegative = negatives.length === 1 ? negatives[0] : anyOf(negatives);
  return (v, w, a) => anyPositive(v, w, a) && !anyNegative(v, w, a);
}

export function compilePorts(spec: number | string | Array<number | string>, fail: (message: string) => void): PortTest | null {
  const items = Array.isArray(spec) ? spec : [spec];
  const positive: Array<[number, number]> = [];
  const negative: Array<[number, number]> = [];
  for (const raw of items) {
    const text = String(raw).trim();
    const negated = text.startsWith('!');
    const body = negated ? text.slice(1).trim() : text;
    const range = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(body);
    const low = range ? Number(range[1]) : NaN;
    const high = range ? Number(range[2] ?? range[1]) : NaN;
    if (!range || low > 65535 || high > 65535 || low > high) {
      fail(`invalid port '${text}' (a port 0-65535, a range like 515-520, optionally negated with '!')`);
      return null;
    }
    (negated ? negative : positive).push([low, high]);
  }
  // One bit per port: the test runs for every new flow and must neither search nor allocate.
  const allowed = new Uint8Array(65536).fill(positive.length === 0 ? 1 : 0);
  for (const [low, high] of positive) allowed.fill(1, low, high + 1);
  for (const [low, high] of negative) allowed.fill(0, low, high + 1);
  return (port) => allowed[port] === 1;
}

export function compileEventTest(spec: EventMatchSpec): EventTest {
  const types = new Set(Array.isArray(spec.type) ? spec.type : [spec.type]);
  const fields: Array<[string, (value: unknown) => boolean]> = [];
  for (const [key, test] of Object.entries(spec)) {
    if (key === 'type') continue;
    fields.push([key, fieldTest(test)]);
  }
  return {
    types,
    key: JSON.stringify(spec),
    matches(event: AppEvent): boolean {
      if (!types.has(event.type)) return false;
      const record = event as unknown as Record<string, unknown>;
      for (const [key, test] of fields) if (!test(record[key])) return false;
      return true;
    },
  };
}

/**
 * A field test. On an array field (segment ids, operations) a positive test holds when any
 * element passes, and `{not: X}` holds when no element is X.
 */
function fieldTest(spec: unknown): (value: unknown) => boolean {
  if (spec !== null && typeof spec === 'object' && !Array.isArray(spec) && 'not' in spec) {
    const inner = fieldTest((spec as { not: unknown }).not);
    return (value) => !inner(value);
  }
  let test: (v: unknown) => boolean;
  if (Array.isArray(spec)) test = (v) => spec.some((s) => s === v);
  else if (spec !== null && typeof spec === 'object') {
    const op = spec as { prefix?: string; contains?: string };
    if (op.prefix !== undefined) test = (v) => typeof v === 'string' && v.startsWith(op.prefix!);
    else test = (v) => typeof v === 'string' && v.includes(op.contains!);
  } else test = (v) => v === spec;
  return (value) => (Array.isArray(value) ? value.some(test) : test(value));
}

/** A set of plain addresses and CIDRs; throws naming the first entry that is neither. */
export function addressSetOf(cidrs: readonly string[]): AddressSet<true> {
  for (const cidr of cidrs) {
    if (parseCidr(cidr) === null) throw new RangeError(`invalid address or CIDR '${cidr}'`);
  }
  return new AddressSet(cidrs.map((cidr) => ({ cidr, value: true as const })));
}
