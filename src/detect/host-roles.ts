/**
 * Host roles: what the rule engine knows of the hosts themselves, such as which ones are patient
 * monitors. A host holds a role when the user lists it (the monitors lists) or when it was seen
 * doing what the role's `identified_by` says (the client of a flow with a CMS8000 event). A rule
 * with `server_role` fires only for servers holding the role; a flow that reached the host before
 * anything showed its role waits here, and its alert is raised, with the flow's own time, once
 * the host is identified. Nothing here knows of bytes: only addresses, times and alerts.
 */
import { formatAddress } from '../lib/ip-text.js';
import { utcSeconds } from '../lib/time-text.js';
import type { Alert, DetectSink } from './alert.js';
import { deliverAlert, type DetectStats } from './alert-delivery.js';
import type { CompiledRole } from './rule.js';
import type { RuleSet } from './rule-set.js';

/**
 * Where the rule engine reports identified hosts and alerts that need a role. On one thread it
 * is a RoleResolver; an analysis thread forwards both to the main thread's resolver instead.
 */
export interface RoleChannel {
  /** The host `address` was seen doing what makes it a `role`, at this time. */
  identified(role: string, address: string, tsSec: number, tsNsec: number): void;
  /**
   * An alert whose server must hold `role`: raised at once when it does (true), else kept until
   * it comes to (false).
   */
  awaiting(alert: Alert, role: string): boolean;
}

/** Alerts waiting for their server's role, at most this many (the oldest go first). */
export const MAX_AWAITING = 10_000;
/** Hosts remembered as identified, at most this many (the oldest go first). */
export const MAX_IDENTIFIED = 100_000;

interface Identified {
  sec: number;
  nsec: number;
}

export class RoleResolver implements RoleChannel {
  /** `role\0address` → the earliest time the host was seen holding the role. */
  private readonly known = new Map<string, Identified>();
  /** `role\0address` → alerts waiting for that host to take that role, in arrival order. */
  private readonly waiting = new Map<string, Alert[]>();
  private waitingCount = 0;

  /**
   * `holdLate`: an alert whose flow began before the earliest identification known so far is
   * held until finish(), since an earlier identification may still arrive. The main thread of a
   * sharded replay needs this (its threads report out of time order); one thread reads in time
   * order and raises such an alert as soon as the host is identified.
   */
  constructor(
    private ruleSet: RuleSet,
    private readonly stats: DetectStats,
    private readonly sink: DetectSink,
    private readonly holdLate = false,
    private readonly maxAwaiting = MAX_AWAITING,
  ) {}

  reload(ruleSet: RuleSet): void {
    this.ruleSet = ruleSet;
  }

  identified(role: string, address: string, tsSec: number, tsNsec: number): void {
    const key = `${role}\0${address}`;
    const before = this.known.get(key);
    if (before !== undefined && !earlier(tsSec, tsNsec, before.sec, before.nsec)) return;
    if (before === undefined) {
      if (this.known.size >= MAX_IDENTIFIED) this.known.delete(this.known.keys().next().value!);
      this.stats.hostsIdentified++;
    }
    const at = { sec: tsSec, nsec: tsNsec };
    this.known.set(key, at);
    const list = this.waiting.get(key);
    if (list === undefined) return;
    const kept = list.filter((alert) => !this.release(alert, role, at));
    this.waitingCount -= list.length - kept.length;
    if (kept.length === 0) this.waiting.delete(key);
    else this.waiting.set(key, kept);
  }

  awaiting(alert: Alert, roleName: string): boolean {
    const role = this.ruleSet.roles.find((r) => r.name === roleName);
    if (role === undefined) return false;
    const flow = alert.flow;
    const listed = this.ruleSet.listed(role, flow.ipVersion as 4 | 6, flow.addr, 4);
    if (listed !== null) return this.raise(alert, `the server is listed as ${role.description} in ${listed.value.file}:${listed.value.line}`);
    const key = `${roleName}\0${formatAddress(flow.ipVersion, flow.addr, 4)}`;
    const known = this.known.get(key);
    if (known !== undefined && this.release(alert, roleName, known)) return true;
    if (this.waitingCount >= this.maxAwaiting) this.dropOldest();
    // Held past its flow's end, whose object the flow table then reuses: the alert keeps a copy.
    const held = { ...alert, flow: flow.copy() };
    const list = this.waiting.get(key);
    if (list === undefined) this.waiting.set(key, [held]);
    else list.push(held);
    this.waitingCount++;
    return false;
  }

  /** Alerts still waiting, for hosts never identified or (holdLate) identified late. */
  get pending(): number {
    return this.waitingCount;
  }

  /** End of input: raises the held alerts of hosts identified after their flow began. */
  finish(): void {
    for (const [key, list] of this.waiting) {
      const known = this.known.get(key);
      if (known === undefined) continue;
      const role = key.slice(0, key.indexOf('\0'));
      for (const alert of list) this.raise(alert, lateNote(this.describe(role), known));
      this.waitingCount -= list.length;
      this.waiting.delete(key);
    }
  }

  /** Raises the alert if the host's identification at `at` allows it now; false to keep it waiting. */
  private release(alert: Alert, role: string, at: Identified): boolean {
    if (!earlier(alert.tsSec, alert.tsNsec, at.sec, at.nsec)) {
      this.raise(alert, null);
      return true;
    }
    if (this.holdLate) return false;
    this.raise(alert, lateNote(this.describe(role), at));
    return true;
  }

  private raise(alert: Alert, note: string | null): boolean {
    return deliverAlert(this.ruleSet, this.stats, this.sink, note === null ? alert : { ...alert, note });
  }

  private describe(role: string): string {
    return this.ruleSet.roles.find((r: CompiledRole) => r.name === role)?.description ?? role;
  }

  private dropOldest(): void {
    const [key, list] = this.waiting.entries().next().value!;
    list.shift();
    if (list.length === 0) this.waiting.delete(key);
    this.waitingCount--;
    this.stats.roleWaitsDropped++;
  }
}

function earlier(aSec: number, aNsec: number, bSec: number, bNsec: number): boolean {
  return aSec < bSec || (aSec === bSec && aNsec < bNsec);
}

function lateNote(description: string, at: Identified): string {
  const iso = `${utcSeconds(at.sec)}.${String(Math.floor(at.nsec / 1e6)).padStart(3, '0')}Z`;
  return `the server was identified as ${description} only after this flow began, by its own traffic at ${iso}`;
}
