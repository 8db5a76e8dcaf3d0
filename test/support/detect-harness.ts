/**
 * Drives the rule engine without decoding anything: rule files are written into a temporary
 * directory and loaded as a RuleSet, flows and packet views are filled by hand, analyzer events
 * are built as the analyzers would report them, and a recording sink keeps what the engine says.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type {
  Cms8000DetectedEvent,
  Cms8000SummaryEvent,
  Hl7MessageEvent,
  LpdCommandEvent,
  MountCallEvent,
  NfsCallEvent,
  NfsSessionEvent,
  NotLpdEvent,
  PortmapCallEvent,
} from '../../src/analyzers/events.js';
import type { AppEvent } from '../../src/analyzers/events.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, PacketView } from '../../src/decode/packet-view.js';
import type { Alert, DetectSink, FlowRecord, PacketContext } from '../../src/detect/alert.js';
import { DetectEngine } from '../../src/detect/detect-engine.js';
import { RuleSet } from '../../src/detect/rule-set.js';
import { TO_CLIENT, TO_SERVER, type Direction } from '../../src/flow/direction.js';
import { Flow, type FlowEndReason } from '../../src/flow/flow.js';

export { TO_CLIENT, TO_SERVER };

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The rule pack shipped with the product, with its `indicators/` lists. */
export const SHIPPED_RULES_DIR = join(REPO_ROOT, 'rules');

/** 2025-01-30T10:00:00Z, the day CISA published the CMS8000 advisory. */
export const T0 = 1738231200;

// ---------------------------------------------------------------------------------------------
// Rule files

const madeDirs: string[] = [];

/**
 * A fresh directory holding the given files (name → text); names may include a folder, such as
 * 'indicators/extra.txt'. Removed by removeTempDirs().
 */
export function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'wardwatch-rules-'));
  madeDirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeInto(dir, name, text);
  return dir;
}

export function writeInto(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

export function removeTempDirs(): void {
  for (const dir of madeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A rule as written in a rule file; name, category and severity get defaults. */
export interface RuleText {
  id: number;
  name?: string;
  category?: string;
  severity?: number;
  match: Record<string, unknown>;
  [key: string]: unknown;
}

/** The YAML text of a rule file. */
export function rulesYaml(rules: readonly RuleText[], extra: { thresholds?: unknown[]; suppressions?: unknown[] } = {}): string {
  const doc: Record<string, unknown> = {
    rules: rules.map((r) => ({ name: `rule ${r.id}`, category: 'Test', severity: 3, ...r })),
  };
  if (extra.thresholds) doc.thresholds = extra.thresholds;
  if (extra.suppressions) doc.suppressions = extra.suppressions;
  return stringify(doc);
}

export interface LoadOptions {
  homeNet?: readonly string[];
  /** Indicator list files (name → text) written beside the rule files and passed to the load. */
  indicatorFiles?: Record<string, string>;
  /** Monitors lists (name → text), passed to the load as --monitors files. */
  monitorFiles?: Record<string, string>;
}

/** Loads a RuleSet from rules written into a fresh directory. */
export async function loadRules(rules: readonly RuleText[] | string, options: LoadOptions & { thresholds?: unknown[]; suppressions?: unknown[] } = {}): Promise<RuleSet> {
  const text = typeof rules === 'string' ? rules : rulesYaml(rules, options);
  return loadRuleSetFrom(tempDir({ 'rules.yaml': text }), options);
}

export async function loadRuleSetFrom(rulesDir: string, options: LoadOptions = {}): Promise<RuleSet> {
  const extra = Object.entries(options.indicatorFiles ?? {}).map(([name, text]) => writeInto(tempDir(), name, text));
  const monitors = Object.entries(options.monitorFiles ?? {}).map(([name, text]) => writeInto(tempDir(), name, text));
  const { ruleSet } = await RuleSet.load({ rulesDir, homeNet: options.homeNet, indicatorFiles: extra, monitorFiles: monitors });
  return ruleSet;
}

/** 1-based line and column of the n-th (0-based) occurrence of `needle` in `text`. */
export function positionOf(text: string, needle: string, occurrence = 0): { line: number; column: number } {
  let at = -1;
  for (let i = 0; i <= occurrence; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`'${needle}' occurs fewer than ${occurrence + 1} times`);
  }
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  return { line, column: at - before.lastIndexOf('\n') };
}

// ---------------------------------------------------------------------------------------------
// Flows and packets

function ipv4Word(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`bad IPv4 address ${text}`);
  return parts.reduce((w, p) => (w << 8) | Number(p), 0) >>> 0;
}

/** Dotted IPv4 (one word) or IPv6 with `::` and a dotted IPv4 tail allowed (four words). */
export function addressWords(text: string): number[] {
  if (!text.includes(':')) return [ipv4Word(text)];
  const groupsOf = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((g) => {
      if (g.includes('.')) {
        const w = ipv4Word(g);
        return [w >>> 16, w & 0xffff];
      }
      if (!/^[0-9a-f]{1,4}$/i.test(g)) throw new Error(`bad IPv6 address ${text}`);
      return [parseInt(g, 16)];
    });
  };
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 address ${text}`);
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  const zeros = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...new Array<number>(Math.max(zeros, 0)).fill(0), ...tail];
  if (groups.length !== 8) throw new Error(`bad IPv6 address ${text}`);
  return [0, 2, 4, 6].map((i) => ((groups[i] << 16) | groups[i + 1]) >>> 0);
}

export interface FlowSpec {
  client: string;
  server: string;
  proto?: 'tcp' | 'udp' | 'icmp' | 'icmp6';
  clientPort?: number;
  serverPort?: number;
  /** What the analyzers made of the flow so far ('' for nothing yet). */
  appProto?: string;
  startSec?: number;
}

const PROTO_NUMBERS = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, icmp: IPPROTO_ICMP, icmp6: IPPROTO_ICMPV6 } as const;
let nextFlowId = 1;

export function makeFlow(spec: FlowSpec): Flow {
  const client = addressWords(spec.client);
  const server = addressWords(spec.server);
  if (client.length !== server.length) throw new Error('client and server must be of the same IP version');
  const flow = new Flow();
  flow.id = nextFlowId++;
  flow.ipVersion = client.length === 1 ? 4 : 6;
  flow.proto = PROTO_NUMBERS[spec.proto ?? 'tcp'];
  for (let i = 0; i < 4; i++) {
    flow.addr[i] = client[i];
    flow.addr[i + 4] = server[i];
  }
  flow.clientPort = spec.clientPort ?? 40000;
  flow.serverPort = spec.serverPort ?? 515;
  flow.appProto = spec.appProto ?? '';
  flow.startSec = flow.lastSec = spec.startSec ?? T0;
  return flow;
}

/** Fills `view` as the decoder would for a packet of `flow` travelling in direction `dir`. */
export function fillView(view: PacketView, flow: Flow, dir: Direction, tsSec: number): PacketView {
  view.reset();
  view.tsSec = tsSec;
  view.tsNsec = 0;
  view.ipVersion = flow.ipVersion;
  const src = dir === TO_SERVER ? 0 : 4;
  view.addr.set(flow.addr.slice(src, src + 4), 0);
  view.addr.set(flow.addr.slice(4 - src, 8 - src), 4);
  view.ipProto = flow.proto;
  view.srcPort = dir === TO_SERVER ? flow.clientPort : flow.serverPort;
  view.dstPort = dir === TO_SERVER ? flow.serverPort : flow.clientPort;
  return view;
}

// ---------------------------------------------------------------------------------------------
// Engine

/** Keeps every alert and flow record, with the match counts as they stood at the flow's end. */
export class RecordingSink implements DetectSink {
  readonly alerts: Alert[] = [];
  readonly flows: Array<FlowRecord & { matchesAtEnd: Map<number, number> }> = [];

  alert(alert: Alert): void {
    this.alerts.push(alert);
  }

  flowEnd(record: FlowRecord): void {
    this.flows.push({ ...record, flow: record.flow.copy(), matchesAtEnd: new Map(record.ruleMatches) });
  }
}

export class DetectHarness {
  readonly sink = new RecordingSink();
  readonly context: PacketContext = { captureFile: 'ward-3.pcap', packetNumber: 0, interfaceName: null };
  readonly engine: DetectEngine;
  private readonly view = new PacketView();

  constructor(ruleSet: RuleSet, options: { rulesMayChange?: boolean } = {}) {
    this.engine = new DetectEngine(ruleSet, this.sink, this.context, options.rulesMayChange === true);
  }

  get alerts(): Alert[] {
    return this.sink.alerts;
  }

  /** Rule ids of the alerts so far, in the order they were raised. */
  alertIds(): number[] {
    return this.sink.alerts.map((a) => a.rule.id);
  }

  alertsFor(flow: Flow): Alert[] {
    return this.sink.alerts.filter((a) => a.flow.id === flow.id);
  }

  /** One packet of the flow; the time defaults to the flow's last time. */
  packet(flow: Flow, dir: Direction = TO_SERVER, tsSec = flow.lastSec): void {
    this.advance(flow, tsSec);
    if (dir === TO_SERVER) flow.packetsToServer++;
    else flow.packetsToClient++;
    this.context.packetNumber++;
    this.engine.packet(flow, dir, fillView(this.view, flow, dir, tsSec));
  }

  /** An analyzer event on the flow, at the flow's last time unless given. */
  event(flow: Flow, event: AppEvent, tsSec = flow.lastSec): void {
    this.advance(flow, tsSec);
    this.engine.event(flow, event);
  }

  end(flow: Flow, reason: FlowEndReason = 'closed'): void {
    this.engine.flowEnd(flow, reason);
  }

  /** The record of a flow that ended. */
  recordOf(flow: Flow): FlowRecord & { matchesAtEnd: Map<number, number> } {
    const record = this.sink.flows.find((r) => r.flow.id === flow.id);
    if (record === undefined) throw new Error(`flow ${flow.id} has not ended`);
    return record;
  }

  private advance(flow: Flow, tsSec: number): void {
    if (tsSec > flow.lastSec) flow.lastSec = tsSec;
  }
}

// ---------------------------------------------------------------------------------------------
// Analyzer events, shaped as the analyzers report them in the redacted evidence mode

export function hl7Message(dir: Direction, fields: Partial<Omit<Hl7MessageEvent, 'type' | 'proto' | 'dir'>> = {}): Hl7MessageEvent {
  return {
    type: 'hl7.message',
    proto: 'hl7',
    dir,
    framing: 'mllp',
    messageType: 'ORU',
    triggerEvent: 'R01',
    controlId: 'MSG00001',
    version: '2.3.1',
    sendingApplication: 'CMS8000',
    sendingFacility: 'WARD3',
    segments: ['MSH', 'PID', 'PV1', 'OBR', 'OBX'],
    identitySegments: ['PID', 'PV1'],
    length: 412,
    ...fields,
  };
}

export function cms8000Detected(dir: Direction, blockTypes: number[] = [0x3e, 0x46]): Cms8000DetectedEvent {
  return { type: 'cms8000.detected', proto: 'cms8000', dir, blockTypes };
}

export function cms8000Summary(dir: Direction, patientBlocks = 1): Cms8000SummaryEvent {
  return { type: 'cms8000.summary', proto: 'cms8000', dir, blockCounts: { '0x3E': patientBlocks }, patientBlocks, malformedBlocks: 0, skippedBytes: 0 };
}

export function lpdCommand(dir: Direction, command = 'receive-job', code = 2, queue = 'lp'): LpdCommandEvent {
  return { type: 'lpd.command', proto: 'lpd', dir, command, code, queue };
}

export function notLpd(dir: Direction, looksLike: 'text' | 'binary' = 'binary'): NotLpdEvent {
  return { type: 'lpd.not_lpd', proto: 'lpd', dir, looksLike };
}

export function mountCall(dir: Direction, procedure = 'MNT', path = '/pm', xid = 0x1001): MountCallEvent {
  return { type: 'mount.call', proto: 'mount', dir, xid, version: 3, procedure, path };
}

export function portmapCall(dir: Direction, procedure = 'GETPORT', program = 100005, xid = 0x2001): PortmapCallEvent {
  return { type: 'portmap.call', proto: 'portmap', dir, xid, version: 2, procedure, program, programVersion: 3, transport: 'tcp' };
}

export function nfsCall(dir: Direction, procedure = 'COMPOUND', operations: string[] = ['SEQUENCE', 'PUTROOTFH', 'GETATTR'], xid = 0x3001): NfsCallEvent {
  return { type: 'nfs.call', proto: 'nfs', dir, xid, version: 4, procedure, minorVersion: 1, operations };
}

export function nfsSession(dir: Direction, version = 3): NfsSessionEvent {
  return { type: 'nfs.session', proto: 'nfs', dir, version };
}
