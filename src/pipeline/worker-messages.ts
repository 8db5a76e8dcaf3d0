import type { Alert, FlowRecord } from '../detect/alert.js';
import type { CompiledRule } from '../detect/rule.js';
import { Flow, type FlowEndReason, type FlowSpeaker, type TcpState } from '../flow/flow.js';

import type { DetectorOptions } from './detector.js';

/**
 * What crosses between the main thread and the replay workers: the setup, findings (alerts and
 * flow records as plain data, turned back into the objects the sinks expect), acknowledgements,
 * and at the end each worker's counters and what it read of each capture.
 */

export interface RuleSource {
  rulesDir: string;
  homeNet: string[] | undefined;
  indicatorFiles: string[];
  monitorFiles: string[];
}

export interface WorkerSetup extends RuleSource {
  index: number;
  count: number;
  options: DetectorOptions;
  /** The captures, read as one in timestamp order; `name` is what alerts call the file. */
  inputs: Array<{ path: string; name: string }>;
}

/** What a worker read of one capture, as plain data. */
export interface InputReport {
  packets: number;
  first: [number, number] | null;
  last: [number, number] | null;
  /** Where and why the capture was found damaged, if it was. */
  error: { offset: number | null; reason: string } | null;
}

/** `stop`: read no further (the run was interrupted); what was read is still reported. */
export type ToWorker = { type: 'ack' } | { type: 'stop' };

export type FromWorker =
  /** `position`: bytes of input read so far, for progress. */
  | { type: 'batch'; findings: Finding[]; position: number }
  | { type: 'finished'; findings: Finding[]; position: number; stats: unknown; inputs: InputReport[] }
  /** A capture this worker could not open (the main thread's check and the worker's open differ in time). */
  | { type: 'capture-failed'; file: string; offset: number | null; reason: string }
  | { type: 'failed'; message: string };

export interface FlowSnapshot {
  id: number;
  ipVersion: number;
  proto: number;
  addr: number[];
  clientPort: number;
  serverPort: number;
  vlanIds: number[];
  vlanCount: number;
  clientMac: number;
  serverMac: number;
  startSec: number;
  startNsec: number;
  lastSec: number;
  lastNsec: number;
  packetsToServer: number;
  packetsToClient: number;
  bytesToServer: number;
  bytesToClient: number;
  tcpState: TcpState;
  tcpFlagsToServer: number;
  tcpFlagsToClient: number;
  midstream: boolean;
  appProto: string;
  speakers: FlowSpeaker[] | null;
}

/** An alert as plain data: the rule by id, the flow as a snapshot. */
export interface AlertMessage extends Omit<Alert, 'rule' | 'flow'> {
  ruleId: number;
  flow: FlowSnapshot;
}

export interface FlowRecordMessage {
  flow: FlowSnapshot;
  reason: FlowEndReason;
  ruleMatches: Array<[number, number]>;
  alerted: boolean;
}

/**
 * Host roles are resolved on the main thread (see ShardedReplay): a thread reports each host it
 * identified and each alert that waits for its server's role.
 */
export type Finding =
  | { kind: 'alert'; alert: AlertMessage }
  | { kind: 'flow'; record: FlowRecordMessage }
  | { kind: 'identified'; role: string; address: string; tsSec: number; tsNsec: number }
  | { kind: 'awaiting'; alert: AlertMessage; role: string };

export function snapshotFlow(flow: Flow): FlowSnapshot {
  return {
    id: flow.id,
    ipVersion: flow.ipVersion,
    proto: flow.proto,
    addr: Array.from(flow.addr),
    clientPort: flow.clientPort,
    serverPort: flow.serverPort,
    vlanIds: Array.from(flow.vlanIds),
    vlanCount: flow.vlanCount,
    clientMac: flow.clientMac,
    serverMac: flow.serverMac,
    startSec: flow.startSec,
    startNsec: flow.startNsec,
    lastSec: flow.lastSec,
    lastNsec: flow.lastNsec,
    packetsToServer: flow.packetsToServer,
    packetsToClient: flow.packetsToClient,
    bytesToServer: flow.bytesToServer,
    bytesToClient: flow.bytesToClient,
    tcpState: flow.tcpState,
    tcpFlagsToServer: flow.tcpFlagsToServer,
    tcpFlagsToClient: flow.tcpFlagsToClient,
    midstream: flow.midstream,
    appProto: flow.appProto,
    speakers: flow.speakers,
  };
}

export function restoreFlow(s: FlowSnapshot): Flow {
  const flow = new Flow();
  flow.id = s.id;
  flow.ipVersion = s.ipVersion;
  flow.proto = s.proto;
  for (let i = 0; i < 8; i++) flow.addr[i] = s.addr[i];
  flow.clientPort = s.clientPort;
  flow.serverPort = s.serverPort;
  for (let i = 0; i < 2; i++) flow.vlanIds[i] = s.vlanIds[i];
  flow.vlanCount = s.vlanCount;
  flow.clientMac = s.clientMac;
  flow.serverMac = s.serverMac;
  flow.startSec = s.startSec;
  flow.startNsec = s.startNsec;
  flow.lastSec = s.lastSec;
  flow.lastNsec = s.lastNsec;
  flow.packetsToServer = s.packetsToServer;
  flow.packetsToClient = s.packetsToClient;
  flow.bytesToServer = s.bytesToServer;
  flow.bytesToClient = s.bytesToClient;
  flow.tcpState = s.tcpState;
  flow.tcpFlagsToServer = s.tcpFlagsToServer;
  flow.tcpFlagsToClient = s.tcpFlagsToClient;
  flow.midstream = s.midstream;
  flow.appProto = s.appProto;
  flow.speakers = s.speakers;
  return flow;
}

export function alertMessage(a: Alert): AlertMessage {
  const { rule, flow, ...rest } = a;
  return { ...rest, ruleId: rule.id, flow: snapshotFlow(flow) };
}

export function restoreAlert(m: AlertMessage, rules: ReadonlyMap<number, CompiledRule>): Alert | null {
  const rule = rules.get(m.ruleId);
  if (rule === undefined) return null;
  // The extra ruleId the spread brings along is harmless.
  return { ...m, rule, flow: restoreFlow(m.flow) };
}

export function flowRecordMessage(r: FlowRecord): FlowRecordMessage {
  return { flow: snapshotFlow(r.flow), reason: r.reason, ruleMatches: [...r.ruleMatches], alerted: r.alerted };
}

export function restoreFlowRecord(m: FlowRecordMessage): FlowRecord {
  return { flow: restoreFlow(m.flow), reason: m.reason, ruleMatches: new Map(m.ruleMatches), alerted: m.alerted };
}

/**
 * Adds one worker's counters into the running totals: numbers add up, maps merge by key, nested
 * counter objects recurse. Works on the stats classes and on their structured-clone copies alike.
 */
export function addCounters(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(from)) {
    const current = into[key];
    if (typeof value === 'number') into[key] = (typeof current === 'number' ? current : 0) + value;
    else if (value instanceof Map) {
      const target = current instanceof Map ? current : new Map();
      for (const [k, v] of value) target.set(k, (target.get(k) ?? 0) + v);
      into[key] = target;
    } else if (value !== null && typeof value === 'object') {
      const target = current !== null && typeof current === 'object' ? current : {};
      addCounters(target as Record<string, unknown>, value as Record<string, unknown>);
      into[key] = target;
    }
  }
}
