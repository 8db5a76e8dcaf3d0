/**
 * Output for people: one line per alert, and the end-of-run summary. Text never carries patient
 * data, whatever the evidence mode: terminals and their scroll-back end up in logs and tickets.
 */
import type { Writable } from 'node:stream';
import type { EvidenceMode } from '../analyzers/analyzer.js';
import type { AppEvent } from '../analyzers/events.js';
import { descriptorOf, speakerConcern } from '../analyzers/registry.js';
import type { Alert, DetectSink, FlowRecord } from '../detect/alert.js';
import type { AlertTallyRow } from './alert-tally.js';
import type { RunCounters } from './eve.js';
import { clientAddress, hasPorts, protoName, serverAddress, severityName, utcSeconds } from './common.js';
import { Inventory, type InventorySnapshot, type SuspectedDevice } from './inventory.js';

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

/** UTC, to the second: 2025-01-30 10:00:00Z. */
export function textTime(sec: number): string {
  return utcSeconds(sec).replace('T', ' ') + 'Z';
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
    textTime(alert.tsSec),
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
    const covered = hit.exact ? '' : ` in ${hit.indicator}`;
    const about = [hit.description, hit.source].filter((s) => s !== '').join('; ');
    evidence.push(`indicator ${hit.address}${covered}${about !== '' ? ` (${about})` : ''}`);
  }
  if (alert.note !== null) evidence.push(paint(options.color, ANSI.dim, `note: ${alert.note}`));
  return parts.join(' ') + (evidence.length > 0 ? ' | ' + evidence.join(' | ') : '');
}

/** The key evidence of an analyzer event, structure only, as its protocol words it. */
export function describeEvent(event: AppEvent): string {
  return descriptorOf(event).text(event);
}

/** Writes one line per alert; flow ends are not shown. */
export class TextSink implements DetectSink {
  constructor(
    private readonly out: Writable,
    private readonly options: TextOptions,
  ) {}

  alert(alert: Alert): void {
    this.out.write(formatAlertLine(alert, this.options) + '\n');
  }

  flowEnd(_record: FlowRecord): void {}
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

export interface SummaryInput extends RunCounters {
  captures: CaptureSummary[];
  /** Wall-clock run time. */
  seconds: number;
  /** Alerts per rule; by default the inventory's tally. */
  alerts?: AlertTallyRow[];
  inventory?: Inventory | InventorySnapshot;
}

function list(entries: Iterable<[string, number]>, skipZero = true): string {
  const parts: string[] = [];
  for (const [name, n] of entries) if (!skipZero || n > 0) parts.push(`${name} ${n}`);
  return parts.join(', ');
}

export function formatSummary(input: SummaryInput, options: { color: boolean } = { color: false }): string {
  const c = options.color;
  const head = (label: string) => paint(c, ANSI.bold, label.padEnd(9));
  const { decode: s, defrag: d, flows: f, reassembly: r, dedup, app, detect } = input;
  const inventory = input.inventory instanceof Inventory ? input.inventory.snapshot() : input.inventory;
  const lines: string[] = [];

  for (const cap of input.captures) {
    const state = cap.error === null ? 'complete' : paint(c, ANSI.yellow, `damaged at byte ${cap.error.offset}: ${cap.error.message}`);
    lines.push(`${head('capture')}${cap.name}: ${cap.format}${cap.compressed ? ' (gzip)' : ''}, ${cap.packets} packets, ${state}`);
  }

  const seconds = input.seconds;
  const pps = seconds > 0 ? Math.round(s.packets / seconds) : 0;
  const mbps = seconds > 0 ? (s.bytes * 8) / seconds / 1e6 : 0;
  lines.push(`${head('traffic')}${s.packets} packets, ${s.bytes} bytes in ${seconds.toFixed(3)} s (${pps} packets/s, ${mbps.toFixed(1)} Mbit/s)`);
  const protocols = list([
    ['ipv4', s.ipv4],
    ['ipv6', s.ipv6],
    ['tcp', s.tcp],
    ['udp', s.udp],
    ['icmp', s.icmpv4],
    ['icmpv6', s.icmpv6],
    ['other-ip', s.otherIpProto],
    ['non-ip', s.nonIp],
    ['vlan', s.vlan],
    ['gre', s.gre],
    ['erspan', s.erspan],
    ['vxlan', s.vxlan],
  ]);
  if (protocols !== '') lines.push(`${head('packets')}${protocols}`);

  const ended = list([
    ['timeout', f.endedTimeout],
    ['closed', f.endedClosed],
    ['evicted', f.endedEvicted],
    ['end of input', f.endedEndOfInput],
  ]);
  const flowExtras = [f.active > 0 ? `${f.active} active` : '', f.midstream > 0 ? `${f.midstream} picked up mid-stream` : '', f.refused > 0 ? `${f.refused} refused (table full)` : '']
    .filter((x) => x !== '')
    .join(', ');
  lines.push(
    `${head('flows')}${f.total} (tcp ${f.tcp}, udp ${f.udp}${f.icmp > 0 ? `, icmp ${f.icmp}` : ''}${f.other > 0 ? `, other ${f.other}` : ''})` +
      (ended !== '' ? `; ended by ${ended}` : '') +
      (flowExtras !== '' ? `; ${flowExtras}` : ''),
  );
  const apps = [...app.flowsByProto].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (apps.length > 0) lines.push(`${head('apps')}${list(apps)}${app.analyzerErrors > 0 ? `; analyzer faults ${app.analyzerErrors}` : ''}`);

  const stream = list([
    ['gaps', r.gaps],
    ['gap bytes', r.gapBytes],
    ['out of order', r.outOfOrder],
    ['retransmissions', r.retransmissions],
    ['overlaps', r.overlaps],
    ['conflicting overlaps', r.overlapConflicts],
    ['memcap drops', r.segmentsDroppedMemcap],
    ['sequence jumps', r.sequenceJumps],
    ['depth reached', r.depthReached],
  ]);
  lines.push(`${head('tcp')}${r.bytesDelivered} bytes reassembled${stream !== '' ? `; ${stream}` : ''}`);
  lines.push(`${head('dedup')}${dedup.suppressed} duplicates suppressed of ${dedup.checked} checked`);
  if (d.fragments > 0) {
    const frag = list([
      ['timed out', d.timeouts],
      ['evicted', d.evicted],
      ['overlap conflicts', d.overlapConflicts],
      ['too large', d.tooLarge],
    ]);
    lines.push(`${head('frags')}${d.fragments} fragments, ${d.reassembled} reassembled${frag !== '' ? `; ${frag}` : ''}`);
  }
  if (s.invalid > 0) lines.push(`${head('errors')}${s.invalid} undecodable: ${list([...s.invalidByReason].sort((a, b) => b[1] - a[1]))}`);
  if (s.anomalies.size > 0) lines.push(`${head('anomaly')}${list([...s.anomalies].sort((a, b) => b[1] - a[1]))}`);
  if (s.truncatedBySnaplen > 0) lines.push(`${head('snaplen')}${s.truncatedBySnaplen} packets cut by the snap length`);

  lines.push(`${head('alerts')}${detect.alerts}${detect.suppressed > 0 ? ` (${detect.suppressed} suppressed)` : ''}`);
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
  for (const r of d.rules) did.push(`sid ${r.id} ×${r.count}`);
  const peers = d.peers.join(',') + (d.morePeers ? ',...' : '');
  const ports = d.ports.join(',') + (d.morePorts ? ',...' : '');
  const when = d.firstSec === d.lastSec ? textTime(d.firstSec) : `${textTime(d.firstSec)} to ${textTime(d.lastSec)}`;
  return (
    `${paint(color, ANSI.bold, d.address)}: ${did.join('; ')}` +
    ` | ${d.flows} flows` +
    (peers !== '' ? `, peers ${peers}` : '') +
    (ports !== '' ? `, ports ${ports}` : '') +
    ` | ${when}`
  );
}
