/**
 * Output for people: one line per alert, and the end-of-run summary. Text never carries patient
 * data, whatever the evidence mode: terminals and their scroll-back end up in logs and tickets.
 */
import type { EvidenceMode } from '../analyzers/analyzer.js';
import type { AppEvent } from '../analyzers/events.js';
import { descriptorOf, speakerConcern } from '../analyzers/registry.js';
import type { Alert } from '../detect/alert.js';
import type { AlertTallyRow } from './alert-tally.js';
import { COUNTERS, type RunStats, type SummaryList } from '../stats/run-stats.js';
import { readableUtc } from '../lib/time-text.js';
import { clientAddress, hasPorts, protoName, serverAddress, severityName } from './common.js';
import { Inventory, type InventorySnapshot, type SuspectedDevice } from './inventory.js';
import type { OutputHealth } from './output.js';

export interface TextOptions {
  color: boolean;
  /** `none` leaves the analyzer evidence out (the indicator and note stay). Default `redacted`. */
  evidence?: EvidenceMode;
}

const ANSI = { reset: '\x1b[0m', bold: '\x1b[1m', dim: '\x1b[2m', red: '\x1b[31m', yellow: '\x1b[33m', cyan: '\x1b[36m' };
const SEVERITY_COLOR = { 1: ANSI.red, 2: ANSI.yellow, 3: ANSI.cyan } as const;

function paint(on: boolean, code: string, text: string): string {
  return on ? code + text + ANSI.reset : text;
}


function endpoint(address: string, port: number | null): string {
  if (port === null) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * One alert as one line: time, severity, src -> dst in the direction of the trigger, protocol,
 * rule, evidence and note, e.g.
 * `2025-01-30 10:00:00Z [1:high] 10.1.2.3:40000 -> 202.114.4.119:515 TCP "CMS8000 ..." (sid 1000001) | ...`.
 */
export function formatAlertLine(alert: Alert, options: TextOptions): string {
  const flow = alert.flow;
  const ports = hasPorts(flow.proto);
  const client = endpoint(clientAddress(flow), ports ? flow.clientPort : null);
  const server = endpoint(serverAddress(flow), ports ? flow.serverPort : null);
  const [src, dst] = alert.dir === 0 ? [client, server] : [server, client];
  const severity = `[${alert.severity}:${severityName(alert.severity)}]`;
  const parts = [
    readableUtc(alert.tsSec),
    paint(options.color, SEVERITY_COLOR[alert.severity] + ANSI.bold, severity),
    `${src} -> ${dst}`,
    protoName(flow.proto) + (flow.appProto !== '' ? `/${flow.appProto}` : ''),
    paint(options.color, ANSI.bold, alert.rule.name) + ` (sid ${alert.rule.id})`,
  ];
  const evidence: string[] = [];
  if (alert.event !== null && (options.evidence ?? 'redacted') !== 'none') {
    const text = describeEvent(alert.event);
    if (text !== '') evidence.push(text);
  }
  if (alert.indicator !== null) {
    const hit = alert.indicator;
    // Its description and source are given once, at the end (formatIndicatorList): repeated on
    // every line they were most of each line.
    const covered = hit.exact ? '' : ` in ${hit.indicator}`;
    evidence.push(`indicator ${hit.address}${covered}`);
  }
  if (alert.note !== null) evidence.push(paint(options.color, ANSI.dim, `note: ${alert.note}`));
  return parts.join(' ') + (evidence.length > 0 ? ' | ' + evidence.join(' | ') : '');
}

/** An indicator list entry that alerts matched, with how many. */
export interface IndicatorEntry {
  indicator: string;
  description: string;
  source: string;
  alerts: number;
}

/** The entries the alerts matched, once each, with their description and source: the end of the alert lines. */
export function formatIndicatorList(entries: readonly IndicatorEntry[], more: number): string {
  if (entries.length === 0) return '';
  const lines = entries.map((e) => {
    const about = [e.description, e.source].filter((s) => s !== '').join('; ');
    return `  ${e.indicator}: ${e.alerts} alert${e.alerts === 1 ? '' : 's'}${about !== '' ? ` | ${about}` : ''}`;
  });
  if (more > 0) lines.push(`  and ${more} more entr${more === 1 ? 'y' : 'ies'}`);
  return `indicators matched\n${lines.join('\n')}\n`;
}

/** The key evidence of an analyzer event, structure only, as its protocol words it. */
export function describeEvent(event: AppEvent): string {
  return descriptorOf(event).text(event);
}

// ---------------------------------------------------------------------------------------------
// Summary

export interface CaptureSummary {
  name: string;
  format: string;
  compressed: boolean;
  packets: number;
  /** Where reading stopped on a damaged file. */
  error: { offset: number; message: string } | null;
}

/** The run's counters (its uptime aside: the summary gives the run's own time) and what else the summary tells. */
export interface SummaryInput extends Omit<RunStats, 'uptimeSec'> {
  captures: CaptureSummary[];
  /** Wall-clock run time. */
  seconds: number;
  /** Alerts per rule; by default the inventory's tally. */
  alerts?: AlertTallyRow[];
  inventory?: Inventory | InventorySnapshot;
  /** Outputs that failed during the run, with what they could not deliver. */
  failedOutputs?: OutputHealth[];
}

/**
 * The summary's lists, from the counter table: `label N` (or the label with `#` replaced by N)
 * for every counter that is not zero, counts by name largest first (ties by name).
 */
function summaryLists(stats: RunStats): Map<SummaryList, string[]> {
  const lists = new Map<SummaryList, string[]>();
  const named = new Map<SummaryList, Array<[string, number]>>();
  for (const counter of COUNTERS) {
    if (counter.summary === null) continue;
    const { list, label } = counter.summary;
    const value = counter.value(stats);
    if (value === undefined) continue;
    if (typeof value === 'number') {
      if (value === 0) continue;
      const items = lists.get(list) ?? [];
      items.push(label.includes('#') ? label.replace('#', String(value)) : `${label} ${value}`);
      lists.set(list, items);
    } else {
      const entries = named.get(list) ?? [];
      for (const [name, n] of value) if (n > 0) entries.push([String(name), n]);
      named.set(list, entries);
    }
  }
  for (const [list, entries] of named) {
    entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    lists.set(list, [...(lists.get(list) ?? []), ...entries.map(([name, n]) => `${name} ${n}`)]);
  }
  return lists;
}

export function formatSummary(input: SummaryInput, options: { color: boolean } = { color: false }): string {
  const c = options.color;
  const head = (label: string) => paint(c, ANSI.bold, label.padEnd(9));
  const { decode: s, defrag: d, flows: f, reassembly: r, dedup, detect } = input;
  const inventory = input.inventory instanceof Inventory ? input.inventory.snapshot() : input.inventory;
  const lists = summaryLists({ ...input, uptimeSec: input.seconds });
  const list = (name: SummaryList, before = '') => {
    const items = lists.get(name);
    return items === undefined || items.length === 0 ? '' : before + items.join(', ');
  };
  const lines: string[] = [];

  // First, so nobody reads the counts below as those of a clean run.
  if (input.end !== undefined) {
    const state = input.end.state === 'failed' ? 'FAILED' : 'INTERRUPTED';
    lines.push(`${head('result')}${paint(c, ANSI.red + ANSI.bold, state)}${input.end.reasons.length > 0 ? `: ${input.end.reasons.join('; ')}` : ''}; the counts below are of what was read before`);
  }
  for (const cap of input.captures) {
    const state = cap.error === null ? 'complete' : paint(c, ANSI.yellow, `damaged at byte ${cap.error.offset}: ${cap.error.message}`);
    lines.push(`${head('capture')}${cap.name}: ${cap.format}${cap.compressed ? ' (gzip)' : ''}, ${cap.packets} packets, ${state}`);
  }

  const seconds = input.seconds;
  const pps = seconds > 0 ? Math.round(s.packets / seconds) : 0;
  const mbps = seconds > 0 ? (s.bytes * 8) / seconds / 1e6 : 0;
  lines.push(`${head('traffic')}${s.packets} packets, ${s.bytes} bytes in ${seconds.toFixed(3)} s (${pps} packets/s, ${mbps.toFixed(1)} Mbit/s)`);
  if (list('packets') !== '') lines.push(`${head('packets')}${list('packets')}`);
  lines.push(`${head('flows')}${f.total} (tcp ${f.tcp}, udp ${f.udp}${list('flows', ', ')})${list('flows.ended', '; ended by ')}${list('flows.notes', '; ')}`);
  if (list('apps') !== '') lines.push(`${head('apps')}${list('apps')}${list('apps.notes', '; ')}`);
  lines.push(`${head('tcp')}${r.bytesDelivered} bytes reassembled${list('tcp', '; ')}`);
  lines.push(`${head('dedup')}${dedup.suppressed} duplicates suppressed of ${dedup.checked} checked`);
  if (d.fragments > 0) lines.push(`${head('frags')}${d.fragments} fragments, ${d.reassembled} reassembled${list('frags', '; ')}`);
  if (s.invalid > 0) lines.push(`${head('errors')}${s.invalid} undecodable: ${list('errors')}`);
  if (list('anomaly') !== '') lines.push(`${head('anomaly')}${list('anomaly')}`);
  if (list('snaplen') !== '') lines.push(`${head('snaplen')}${list('snaplen')}`);
  for (const o of input.outputs ?? []) {
    if (o.queued === undefined) continue;
    const oversize = o.oversize ? `, ${o.oversize} too long for a datagram` : '';
    const left = o.queued > 0 ? `; ${o.queued} left in the spool for the next start` : '';
    lines.push(`${head('output')}${o.name}: ${o.written} sent, ${o.spooled ?? 0} spooled, ${o.dropped} dropped, ${o.reconnects ?? 0} reconnects${oversize}${left}`);
  }
  for (const o of input.failedOutputs ?? []) {
    const failure = paint(c, ANSI.red, `${o.name} failed: ${o.error?.message ?? 'unknown error'}`);
    lines.push(`${head('output')}${failure}; ${o.written} records written, ${o.dropped} not delivered`);
  }

  const held = [detect.suppressed > 0 ? `${detect.suppressed} suppressed` : '', detect.roleWaitsDropped > 0 ? `${detect.roleWaitsDropped} flows waiting for their server to be identified forgotten: too many waited` : ''].filter(Boolean);
  lines.push(`${head('alerts')}${detect.alerts}${held.length > 0 ? ` (${held.join('; ')})` : ''}`);
  const rows = input.alerts ?? inventory?.alerts;
  if (rows !== undefined) {
    for (const row of rows) {
      const severity = paint(c, SEVERITY_COLOR[row.severity] + ANSI.bold, `[${row.severity}:${severityName(row.severity)}]`);
      const hosts = row.hosts.join(', ') + (row.moreHosts ? ', ...' : '');
      lines.push(`  ${severity} sid ${row.id} ${row.name}: ${row.count} × from ${hosts}`);
    }
  } else {
    for (const [id, count] of [...detect.alertsByRule].sort((a, b) => b[1] - a[1])) lines.push(`  sid ${id}: ${count}`);
  }

  if (inventory !== undefined) lines.push(formatInventory(inventory, options));
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Inventory

/** "Suspected devices" and one line per host: what it did, whom it talked to, when. */
export function formatInventory(inventory: InventorySnapshot, options: { color: boolean } = { color: false }): string {
  const c = options.color;
  const lines = [paint(c, ANSI.bold, `Suspected devices (${inventory.devices.length})`)];
  if (inventory.devices.length === 0) lines.push('  none');
  for (const d of inventory.devices) lines.push('  ' + formatDevice(d, c));
  if (inventory.hostsNotListed > 0) {
    lines.push(`  ... and more: the list stops at ${inventory.maxHosts} hosts (${inventory.hostsNotListed} sightings of further suspects)`);
  }
  return lines.join('\n');
}

function formatDevice(d: SuspectedDevice, color: boolean): string {
  const did: string[] = [];
  if (d.indicators.length > 0) did.push(paint(color, ANSI.red, `talked to indicator ${d.indicators.join(',')}`));
  for (const label of d.speaks) {
    const names = d.names.filter((n) => n.protocol === label).map((n) => n.name);
    const text = `speaks ${label}${names.length > 0 ? ` as ${names.join(', ')}` : ''}`;
    did.push(speakerConcern(label) > 1 ? paint(color, ANSI.red, text) : text);
  }
  if (d.unansweredSyns > 0) did.push(`${d.unansweredSyns} unanswered SYNs`);
  if (d.reachedByExternal > 0) did.push(paint(color, ANSI.red, `reached by ${d.reachedByExternal} external ${d.reachedByExternal === 1 ? 'host' : 'hosts'}`));
  for (const r of d.rules) did.push(`sid ${r.id} ×${r.count}`);
  const peers = d.peers.join(',') + (d.morePeers ? ',...' : '');
  const ports = d.ports.join(',') + (d.morePorts ? ',...' : '');
  const when = d.firstSec === d.lastSec ? readableUtc(d.firstSec) : `${readableUtc(d.firstSec)} to ${readableUtc(d.lastSec)}`;
  return (
    `${paint(color, ANSI.bold, d.address)}: ${did.join('; ')}` +
    ` | ${d.flows} flows` +
    (peers !== '' ? `, peers ${peers}` : '') +
    (ports !== '' ? `, ports ${ports}` : '') +
    ` | ${when}`
  );
}
