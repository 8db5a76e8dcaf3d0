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

/**
 * A flow as it crosses: its numeric fields in a Float64Array (copied as bytes, where a plain object
 * of thirty fields costs V8 microseconds to clone and again to rebuild), the rest beside.
 */
export interface FlowSnapshot {
  numbers: Float64Array;
  appProto: string;
  speakers: FlowSpeaker[] | null;
}

/** An alert as plain data: the rule by id, the flow as a snapshot. */
export interface AlertMessage extends Omit<Alert, 'rule' | 'flow'> {
  ruleId: number;
  flow: FlowSnapshot;
}

/**
 * Flow records in columns: record i's flow numbers at i * FLOW_NUMBERS, its protocol and end
 * reason as indexes into `strings`, and the few records with speakers or rule matches listed by
 * position. A worker ends tens of thousands of flows at the end of a capture; as objects, cloning
 * them took longer than analysing their packets.
 */
export interface FlowRecordColumns {
  count: number;
  numbers: Float64Array;
  strings: string[];
  extras: Array<{ at: number; speakers: FlowSpeaker[] | null; ruleMatches: Array<[number, number]> }>;
}

/**
 * Host roles are resolved on the main thread (see ShardedReplay): a thread reports each host it
 * identified and each alert that waits for its server's role.
 */
export type Finding =
  | { kind: 'alert'; alert: AlertMessage }
  | { kind: 'flows'; columns: FlowRecordColumns }
  | { kind: 'identified'; role: string; address: string; tsSec: number; tsNsec: number }
  | { kind: 'awaiting'; alert: AlertMessage; role: string };

/** Numbers per flow; the flow's own come first, a record's protocol, reason and alerted after. */
const FLOW_OWN_NUMBERS = 31;
const FLOW_NUMBERS = FLOW_OWN_NUMBERS + 3;

function writeFlow(flow: Flow, out: Float64Array, at: number): void {
  out[at] = flow.id;
  out[at + 1] = flow.ipVersion;
  out[at + 2] = flow.proto;
  for (let i = 0; i < 8; i++) out[at + 3 + i] = flow.addr[i];
  out[at + 11] = flow.clientPort;
  out[at + 12] = flow.serverPort;
  out[at + 13] = flow.vlanIds[0];
  out[at + 14] = flow.vlanIds[1];
  out[at + 15] = flow.vlanCount;
  out[at + 16] = flow.clientMac;
  out[at + 17] = flow.serverMac;
  out[at + 18] = flow.startSec;
  out[at + 19] = flow.startNsec;
  out[at + 20] = flow.lastSec;
  out[at + 21] = flow.lastNsec;
  out[at + 22] = flow.packetsToServer;
  out[at + 23] = flow.packetsToClient;
  out[at + 24] = flow.bytesToServer;
  out[at + 25] = flow.bytesToClient;
  out[at + 26] = flow.tcpState;
  out[at + 27] = flow.tcpFlagsToServer;
  out[at + 28] = flow.tcpFlagsToClient;
  out[at + 29] = flow.midstream ? 1 : 0;
  out[at + 30] = flow.hash;
}

function readFlow(src: Float64Array, at: number): Flow {
  const flow = new Flow();
  flow.id = src[at];
  flow.ipVersion = src[at + 1];
  flow.proto = src[at + 2];
  for (let i = 0; i < 8; i++) flow.addr[i] = src[at + 3 + i];
  flow.clientWord = flow.addr[0];
  flow.serverWord = flow.addr[4];
  flow.clientPort = src[at + 11];
  flow.serverPort = src[at + 12];
  flow.vlanIds[0] = src[at + 13];
  flow.vlanIds[1] = src[at + 14];
  flow.vlanCount = src[at + 15];
  flow.clientMac = src[at + 16];
  flow.serverMac = src[at + 17];
  flow.startSec = src[at + 18];
  flow.startNsec = src[at + 19];
  flow.lastSec = src[at + 20];
  flow.lastNsec = src[at + 21];
  flow.packetsToServer = src[at + 22];
  flow.packetsToClient = src[at + 23];
  flow.bytesToServer = src[at + 24];
  flow.bytesToClient = src[at + 25];
  flow.tcpState = src[at + 26] as TcpState;
  flow.tcpFlagsToServer = src[at + 27];
  flow.tcpFlagsToClient = src[at + 28];
  flow.midstream = src[at + 29] === 1;
  flow.hash = src[at + 30];
  return flow;
}

export function snapshotFlow(flow: Flow): FlowSnapshot {
  const numbers = new Float64Array(FLOW_OWN_NUMBERS);
  writeFlow(flow, numbers, 0);
  return { numbers, appProto: flow.appProto, speakers: flow.speakers };
}

export function restoreFlow(s: FlowSnapshot): Flow {
  const flow = readFlow(s.numbers, 0);
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

/** Gathers a worker's flow records into columns until they are taken for a message. */
export class FlowRecordPacker {
  private numbers = new Float64Array(FLOW_NUMBERS * 512);
  private count = 0;
  private strings: string[] = [];
  private readonly stringIndex = new Map<string, number>();
  private extras: FlowRecordColumns['extras'] = [];

  get size(): number {
    return this.count;
  }

  add(r: FlowRecord): void {
    const at = this.count * FLOW_NUMBERS;
    if (at + FLOW_NUMBERS > this.numbers.length) {
      const grown = new Float64Array(this.numbers.length * 2);
      grown.set(this.numbers);
      this.numbers = grown;
    }
    writeFlow(r.flow, this.numbers, at);
    this.numbers[at + FLOW_OWN_NUMBERS] = this.stringAt(r.flow.appProto);
    this.numbers[at + FLOW_OWN_NUMBERS + 1] = this.stringAt(r.reason);
    this.numbers[at + FLOW_OWN_NUMBERS + 2] = r.alerted ? 1 : 0;
    if (r.flow.speakers !== null || r.ruleMatches.size > 0) {
      this.extras.push({ at: this.count, speakers: r.flow.speakers, ruleMatches: [...r.ruleMatches] });
    }
    this.count++;
  }

  /** The records added since the last take, or null when there are none. */
  take(): FlowRecordColumns | null {
    if (this.count === 0) return null;
    const columns = { count: this.count, numbers: this.numbers.slice(0, this.count * FLOW_NUMBERS), strings: this.strings, extras: this.extras };
    this.count = 0;
    this.strings = [];
    this.stringIndex.clear();
    this.extras = [];
    return columns;
  }

  private stringAt(s: string): number {
    let i = this.stringIndex.get(s);
    if (i === undefined) {
      i = this.strings.push(s) - 1;
      this.stringIndex.set(s, i);
    }
    return i;
  }
}

/** Hands each record of the columns to `deliver`, in the order they were added. */
export function unpackFlowRecords(c: FlowRecordColumns, deliver: (record: FlowRecord) => void): void {
  let extra = 0;
  for (let i = 0; i < c.count; i++) {
    const at = i * FLOW_NUMBERS;
    const flow = readFlow(c.numbers, at);
    flow.appProto = c.strings[c.numbers[at + FLOW_OWN_NUMBERS]];
    let ruleMatches = new Map<number, number>();
    if (extra < c.extras.length && c.extras[extra].at === i) {
      flow.speakers = c.extras[extra].speakers;
      ruleMatches = new Map(c.extras[extra].ruleMatches);
      extra++;
    }
    deliver({ flow, reason: c.strings[c.numbers[at + FLOW_OWN_NUMBERS + 1]] as FlowEndReason, ruleMatches, alerted: c.numbers[at + FLOW_OWN_NUMBERS + 2] === 1 });
  }
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
