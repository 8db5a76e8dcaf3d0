/** Alerts per rule and the hosts they were about, for the end-of-run summary. */
import type { Alert, DetectSink, FlowRecord } from '../detect/alert.js';
import { alertHostSide, clientAddress, serverAddress } from './common.js';

export interface AlertTallyRow {
  id: number;
  name: string;
  /** Highest severity (lowest number) the rule alerted with. */
  severity: 1 | 2 | 3;
  count: number;
  /** The hosts its alerts were about (see alertHostSide), the first ones seen. */
  hosts: string[];
  moreHosts: boolean;
}

/** Bounded by the number of rules, and per rule by maxHostsPerRule. */
export class AlertTally implements DetectSink {
  private readonly byRule = new Map<number, AlertTallyRow & { hostSet: Set<string> }>();

  constructor(private readonly maxHostsPerRule = 16) {}

  alert(alert: Alert): void {
    let row = this.byRule.get(alert.rule.id);
    if (row === undefined) {
      row = { id: alert.rule.id, name: alert.rule.name, severity: alert.severity, count: 0, hosts: [], moreHosts: false, hostSet: new Set() };
      this.byRule.set(alert.rule.id, row);
    }
    row.count++;
    if (alert.severity < row.severity) row.severity = alert.severity;
    if (row.moreHosts && row.hostSet.size >= this.maxHostsPerRule) return;
    const host = alertHostSide(alert) === 'client' ? clientAddress(alert.flow) : serverAddress(alert.flow);
    if (row.hostSet.has(host)) return;
    if (row.hostSet.size < this.maxHostsPerRule) {
      row.hostSet.add(host);
      row.hosts.push(host);
    } else {
      row.moreHosts = true;
    }
  }

  flowEnd(_record: FlowRecord): void {}

  /** Rows by severity, then count (highest first), then rule id. */
  rows(): AlertTallyRow[] {
    return [...this.byRule.values()]
      .map(({ hostSet: _, ...row }) => ({ ...row, hosts: [...row.hosts] }))
      .sort((a, b) => a.severity - b.severity || b.count - a.count || a.id - b.id);
  }
}
