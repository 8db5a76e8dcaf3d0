import type { Alert, DetectSink } from './alert.js';
import type { RuleSet } from './rule-set.js';

export class DetectStats {
  alerts = 0;
  /** Alerts held back by suppressions and thresholds. */
  suppressed = 0;
  readonly alertsByRule = new Map<number, number>();
  /** Hosts that took a role (a patient monitor, say) by what they were seen doing. */
  hostsIdentified = 0;
  /** Flows whose alert waited for their server's role, forgotten as too many waited (most are to hosts that never take it). */
  roleWaitsDropped = 0;
}

/** The last step of every alert: suppressions and thresholds, the counters, the sink. False when held back. */
export function deliverAlert(ruleSet: RuleSet, stats: DetectStats, sink: DetectSink, alert: Alert): boolean {
  const flow = alert.flow;
  const srcAt = alert.dir === 0 ? 0 : 4;
  if (!ruleSet.gate.allow(alert.rule.id, { version: flow.ipVersion, words: flow.addr, srcAt, dstAt: 4 - srcAt, tsSec: alert.tsSec })) {
    stats.suppressed++;
    return false;
  }
  stats.alerts++;
  stats.alertsByRule.set(alert.rule.id, (stats.alertsByRule.get(alert.rule.id) ?? 0) + 1);
  sink.alert(alert);
  return true;
}
