import type { AppEvent } from '../analyzers/events.js';
import type { Direction } from '../flow/direction.js';
import type { Flow, FlowEndReason } from '../flow/flow.js';
import type { CompiledRule } from './rule.js';

/** The indicator-list entry an alert's flow touched. */
export interface IndicatorHit {
  side: 'client' | 'server';
  /** The address seen in the traffic. */
  address: string;
  /** The list entry it matched (an IP or a CIDR), with its description and source. */
  indicator: string;
  description: string;
  source: string;
  /** True for an exact address entry, false when only a CIDR covered it. */
  exact: boolean;
  inHomeNet: boolean;
}

/** Where in the input an alert was raised (replay: capture file and packet number). */
export interface PacketContext {
  captureFile: string | null;
  packetNumber: number;
  interfaceName: string | null;
}

export interface Alert {
  rule: CompiledRule;
  /** Valid during the call only (the flow table reuses the object): what keeps the alert keeps `flow.copy()`. */
  flow: Flow;
  /** Direction of the packet or event that triggered the rule. */
  dir: Direction;
  tsSec: number;
  tsNsec: number;
  /** Times the rule matched on this flow when it fired. */
  matches: number;
  severity: 1 | 2 | 3;
  /** The analyzer event that triggered (or, for deferred rules, last informed) the rule. */
  event: AppEvent | null;
  indicator: IndicatorHit | null;
  note: string | null;
  captureFile: string | null;
  packetNumber: number;
  interfaceName: string | null;
}

/** A flow that ended, with how often each rule matched on it. */
export interface FlowRecord {
  /** Valid during the call only: the flow table reuses the object for a later flow. */
  flow: Flow;
  reason: FlowEndReason;
  /** rule id → matches, for rules that matched at least once. */
  ruleMatches: ReadonlyMap<number, number>;
  alerted: boolean;
}

/** Where the rule engine's results go: alert sinks, flow logs, the inventory. */
export interface DetectSink {
  alert(alert: Alert): void;
  flowEnd(record: FlowRecord): void;
}
