import type { AddressVariables, AddressTest } from './rule.js';
import { compileAddresses } from './rule.js';
import type { SuppressionSpec, ThresholdSpec } from './rule-schema.js';

/** The two ends of an alert as Suricata sees them: the sender and receiver of the trigger. */
export interface AlertEnds {
  version: number;
  words: ArrayLike<number>;
  srcAt: number;
  dstAt: number;
  tsSec: number;
}

interface Suppression {
  track: 'by_src' | 'by_dst' | 'by_either' | null;
  ip: AddressTest | null;
}

interface Threshold {
  spec: ThresholdSpec;
  /** Per tracked key: window start and matches counted in it. */
  windows: Map<string, { start: number; count: number; alerted: number }>;
}

/** Entries tracked per threshold before the oldest are forgotten. */
const MAX_TRACKED = 65536;

/**
 * Suricata's threshold.config semantics: suppressions drop alerts (for a rule, optionally only
 * for some addresses); thresholds `limit` (at most count alerts per window), `threshold` (one
 * alert every count matches) and `both` (one alert per window once count matches were seen).
 */
export class AlertGate {
  private readonly suppressions = new Map<number, Suppression[]>();
  private readonly thresholds = new Map<number, Threshold>();

  constructor(suppressions: readonly SuppressionSpec[], thresholds: readonly ThresholdSpec[], vars: AddressVariables, fail: (index: number, message: string) => void) {
    suppressions.forEach((s, index) => {
      const ip = s.ip === undefined ? null : compileAddresses(s.ip, vars, (message) => fail(index, message));
      const list = this.suppressions.get(s.id) ?? [];
      list.push({ track: s.track ?? null, ip });
      this.suppressions.set(s.id, list);
    });
    for (const spec of thresholds) this.thresholds.set(spec.id, { spec, windows: new Map() });
  }

  /** Whether any threshold counts alerts over time (suppressions do not). */
  get counts(): boolean {
    return this.thresholds.size > 0;
  }

  /** True when an alert for this rule may go out; the detect engine counts those that may not. */
  allow(ruleId: number, ends: AlertEnds): boolean {
    const sups = this.suppressions.get(ruleId);
    if (sups !== undefined) {
      for (const s of sups) {
        if (this.suppresses(s, ends)) return false;
      }
    }
    const t = this.thresholds.get(ruleId);
    if (t === undefined) return true;
    return this.pass(t, ends);
  }

  private suppresses(s: Suppression, e: AlertEnds): boolean {
    if (s.ip === null) return true;
    const src = s.ip(e.version, e.words, e.srcAt);
    const dst = s.ip(e.version, e.words, e.dstAt);
    if (s.track === 'by_src') return src;
    if (s.track === 'by_dst') return dst;
    return src || dst;
  }

  private pass(t: Threshold, e: AlertEnds): boolean {
    const { spec, windows } = t;
    const key = trackKey(spec.track, e);
    let w = windows.get(key);
    if (w === undefined || e.tsSec - w.start >= spec.seconds) {
      if (w === undefined && windows.size >= MAX_TRACKED) windows.delete(windows.keys().next().value!);
      w = { start: e.tsSec, count: 0, alerted: 0 };
      windows.set(key, w);
    }
    w.count++;
    switch (spec.type) {
      case 'limit':
        if (w.alerted >= spec.count) return false;
        w.alerted++;
        return true;
      case 'threshold':
        return w.count % spec.count === 0;
      case 'both':
        if (w.count < spec.count || w.alerted > 0) return false;
        w.alerted++;
        return true;
    }
  }
}

function trackKey(track: ThresholdSpec['track'], e: AlertEnds): string {
  const addr = (at: number) => `${e.words[at]}.${e.words[at + 1]}.${e.words[at + 2]}.${e.words[at + 3]}`;
  switch (track) {
    case 'by_src':
      return addr(e.srcAt);
    case 'by_dst':
      return addr(e.dstAt);
    case 'by_both':
      return `${addr(e.srcAt)}>${addr(e.dstAt)}`;
    case 'by_rule':
      return '';
  }
}
