/**
 * What an incident report says, gathered from EVE records: the same records whether they come
 * straight from a run (the report output) or are read back from EVE files (`wardwatch report`),
 * so both make the same page. Only what the records carry is used; patient data (`phi` objects)
 * is dropped here unless the report was asked for with full evidence.
 */
import { AddressSet, DEFAULT_HOME_NET, isExternalAddress } from '../../detect/address-set.js';
import { parseAddress } from '../../lib/ip-text.js';
import type { EveRecord } from '../eve.js';

export type ReportEvidence = 'redacted' | 'full' | 'none';

/** Alerts listed per rule; the rest are counted. */
export const MAX_ROWS_PER_RULE = 50;
const MAX_TIMELINE_ITEMS = 300;
const MAX_TRACKED_ADDRESSES = 20_000;
const MAX_LISTED = 32;

export interface AlertRow {
  time: string;
  flowId: number | null;
  src: string;
  dst: string;
  proto: string;
  appProto: string;
  evidence: string;
  /** Patient data carried by the alert (full evidence only), as label and value. */
  phi: Array<[string, string]>;
  pcapFile: string | null;
  packet: number | null;
  indicator: string | null;
  note: string | null;
}

export interface RuleGroup {
  id: number;
  name: string;
  severity: number;
  category: string;
  references: string[];
  count: number;
  first: string;
  last: string;
  hosts: string[];
  rows: AlertRow[];
}

export interface CaptureRow {
  name: string;
  format: string;
  compressed: boolean;
  size: number | null;
  sha256: string | null;
  packets: number;
  first: string | null;
  last: string | null;
  damaged: string | null;
}

export interface TimelineFlow {
  start: number;
  end: number;
  peer: string;
  label: string;
  alerted: boolean;
}

export interface DeviceSection {
  address: string;
  mac: string | null;
  speaks: string[];
  names: Array<{ protocol: string; name: string }>;
  indicators: string[];
  rules: Array<{ id: number; name: string; count: number }>;
  flows: number;
  unansweredSyns: number;
  externalPeers: string[];
  /** Whether it talked with external hosts not in externalPeers (past the list's cap, or past the inventory's peers). */
  moreExternalPeers: boolean;
  /** External hosts that opened flows to it (the first ones seen). */
  reachedBy: string[];
  /** How many external hosts reached it: the inventory's count (alerts of 1000007) or the hosts listed, whichever is more. */
  reachedByCount: number;
  first: string;
  last: string;
  timeline: { flows: TimelineFlow[]; alerts: Array<{ t: number; id: number }> };
}

export interface LeftCategory {
  /** HL7 by message type, CMS8000, MOUNT, NFS, DICOM. */
  kind: string;
  /** e.g. ORU^R01, /pm, GETATTR. */
  what: string;
  count: number;
  /** Bytes sent towards the external hosts by the flows concerned (at the alert, or at their end when flow records were kept). */
  bytes: number;
  detail: string;
  to: string[];
}

export interface Limit {
  label: string;
  value: number;
}

export interface ReportModel {
  evidence: ReportEvidence;
  versions: string[];
  ruleRevisions: string[];
  rules: Array<{ id: number; rev: number }>;
  homeNet: string[];
  captures: CaptureRow[];
  interfaces: string[];
  limits: Limit[];
  /** Whether any stats record was read: without one the limits are unknown. */
  haveStats: boolean;
  haveFlows: boolean;
  skippedLines: number;
  alerts: number;
  groups: RuleGroup[];
  devices: DeviceSection[];
  hostsNotListed: number;
  left: LeftCategory[];
  /** Times of the first and last alert, EVE text. */
  alertSpan: [string, string] | null;
  /** Destinations of patient data, per destination and port, with the hosts and times. */
  exfiltration: Array<{ dest: string; port: number | null; proto: string; hosts: string[]; first: string; last: string; kinds: string[]; answered: boolean }>;
  mounts: Array<{ host: string; server: string; path: string }>;
  indicatorContacts: Array<{ indicator: string; hosts: string[]; note: string }>;
}

interface Sightings {
  flows: TimelineFlow[];
  alerts: Array<{ t: number; id: number }>;
  mac: string | null;
  reachedBy: Set<string>;
}

interface SourceStats {
  last: EveRecord | null;
  inventory: EveRecord | null;
}

/** Seconds since the epoch of an EVE timestamp (2025-01-30T10:00:00.123456+0000). */
export function eveSeconds(ts: unknown): number {
  if (typeof ts !== 'string') return 0;
  const ms = Date.parse(ts.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isFinite(ms) ? ms / 1000 : 0;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const obj = (v: unknown): EveRecord => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as EveRecord) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function at(root: EveRecord, path: string): number {
  let v: unknown = root;
  for (const name of path.split('.')) v = obj(v)[name];
  return num(v);
}

/** Adds item unless listed already; false when the cap left it out. */
function pushCapped<T>(list: T[], item: T, cap: number = MAX_LISTED): boolean {
  if (list.includes(item)) return true;
  if (list.length >= cap) return false;
  list.push(item);
  return true;
}

/** Where the stats record keeps what limits an analysis, with the words the report uses. */
const LIMIT_COUNTERS: ReadonlyArray<[string, string]> = [
  ['stats.decoder.invalid', 'packets that could not be decoded'],
  ['wardwatch.decoder.truncated_by_snaplen', 'packets cut by the snap length'],
  ['stats.tcp.reassembly_gap', 'gaps in TCP streams (bytes never captured)'],
  ['wardwatch.reassembly.gap_bytes', 'bytes missing in those gaps'],
  ['stats.tcp.stream_depth_reached', 'TCP directions inspected only to the depth limit'],
  ['stats.tcp.segment_memcap_drop', 'TCP segments dropped at the reassembly memory cap'],
  ['wardwatch.flow.refused', 'flows not followed (flow table full)'],
  ['wardwatch.defrag.evicted', 'fragmented datagrams dropped (fragment table full)'],
  ['wardwatch.app_layer.analyzer_errors', 'payload analyzer faults'],
  ['stats.capture.kernel_drops', 'packets the kernel dropped (live capture)'],
  ['stats.capture.kernel_ifdrops', 'packets the interface dropped (live capture)'],
  ['stats.detect.alerts_suppressed', 'alerts suppressed by thresholds or suppressions'],
];

export class ReportBuilder {
  private readonly sources: SourceStats[] = [];
  private readonly versions: string[] = [];
  private readonly revisions: string[] = [];
  private readonly rules = new Map<number, number>();
  private readonly homeNet: string[] = [];
  private readonly captures: CaptureRow[] = [];
  private readonly interfaces: string[] = [];
  private readonly groups = new Map<number, RuleGroup>();
  private readonly sightings = new Map<string, Sightings>();
  private readonly alertRecords: EveRecord[] = [];
  /** Bytes to the server of each flow, from flow records: they are final. */
  private readonly flowBytes = new Map<number, number>();
  private alertCount = 0;
  private haveFlows = false;
  skippedLines = 0;

  constructor(readonly evidence: ReportEvidence) {
    this.startSource();
  }

  /** Records from here on come from another file (each has its own last stats record). */
  startSource(): void {
    if (this.sources.length === 0 || this.sources[this.sources.length - 1].last !== null || this.sources[this.sources.length - 1].inventory !== null) {
      this.sources.push({ last: null, inventory: null });
    }
  }

  add(record: EveRecord): void {
    switch (record.event_type) {
      case 'alert':
        return this.alert(record);
      case 'flow':
        return this.flow(record);
      case 'stats':
        this.sources[this.sources.length - 1].last = record;
        return;
      case 'inventory':
        this.sources[this.sources.length - 1].inventory = record;
        return;
      case 'run':
        return this.run(obj(obj(record.wardwatch).run));
    }
  }

  private run(run: EveRecord): void {
    pushCapped(this.versions, str(run.version));
    const rules = obj(run.rules);
    pushCapped(this.revisions, str(rules.revision));
    for (const r of arr(rules.rules)) this.rules.set(num(obj(r).signature_id), num(obj(r).rev));
    for (const cidr of arr(run.home_net)) if (typeof cidr === 'string') pushCapped(this.homeNet, cidr, 1000);
    if (typeof run.interface === 'string') pushCapped(this.interfaces, run.interface);
    for (const c of arr(run.captures).map(obj)) {
      const damaged = obj(c.damaged);
      this.captures.push({
        name: str(c.name),
        format: str(c.format),
        compressed: c.compressed === true,
        size: typeof c.size === 'number' ? c.size : null,
        sha256: typeof c.sha256 === 'string' ? c.sha256 : null,
        packets: num(c.packets),
        first: typeof c.first_packet === 'string' ? c.first_packet : null,
        last: typeof c.last_packet === 'string' ? c.last_packet : null,
        damaged: c.damaged ? `damaged at byte ${num(damaged.offset)}: ${str(damaged.message)}` : null,
      });
    }
  }

  private sighting(address: string): Sightings | null {
    let s = this.sightings.get(address);
    if (s === undefined) {
      if (this.sightings.size >= MAX_TRACKED_ADDRESSES) return null;
      s = { flows: [], alerts: [], mac: null, reachedBy: new Set() };
      this.sightings.set(address, s);
    }
    return s;
  }

  private flow(record: EveRecord): void {
    this.haveFlows = true;
    const flow = obj(record.flow);
    const client = str(record.src_ip);
    const server = str(record.dest_ip);
    const ether = obj(record.ether);
    const item = (peer: string): TimelineFlow => ({
      start: eveSeconds(flow.start),
      end: eveSeconds(flow.end),
      peer,
      label: `${str(record.proto)}${record.dest_port !== undefined ? ' ' + num(record.dest_port) : ''}${record.app_proto !== undefined ? ' ' + str(record.app_proto) : ''}`,
      alerted: flow.alerted === true,
    });
    this.flowBytes.set(num(record.flow_id), num(flow.bytes_toserver));
    const c = this.sighting(client);
    if (c !== null) {
      if (c.flows.length < MAX_TIMELINE_ITEMS) c.flows.push(item(server));
      if (c.mac === null && typeof ether.src_mac === 'string') c.mac = ether.src_mac;
    }
    const s = this.sighting(server);
    if (s !== null) {
      if (s.flows.length < MAX_TIMELINE_ITEMS) s.flows.push(item(client));
      if (s.reachedBy.size < MAX_LISTED) s.reachedBy.add(client);
    }
  }

  private alert(record: EveRecord): void {
    this.alertCount++;
    const alert = obj(record.alert);
    const id = num(alert.signature_id);
    const time = str(record.timestamp);
    let group = this.groups.get(id);
    if (group === undefined) {
      group = {
        id,
        name: str(alert.signature),
        severity: num(alert.severity),
        category: str(alert.category),
        references: arr(alert.references).map(str),
        count: 0,
        first: time,
        last: time,
        hosts: [],
        rows: [],
      };
      this.groups.set(id, group);
    }
    group.count++;
    if (eveSeconds(time) < eveSeconds(group.first)) group.first = time;
    if (eveSeconds(time) > eveSeconds(group.last)) group.last = time;
    const flow = obj(record.flow);
    const client = str(flow.src_ip);
    const server = str(flow.dest_ip);
    const indicator = obj(record.indicator);
    const about = typeof indicator.side === 'string' ? (indicator.side === 'server' ? client : server) : typeof obj(record.wardwatch).server_role === 'string' ? server : client;
    pushCapped(group.hosts, about);
    if (group.rows.length < MAX_ROWS_PER_RULE) group.rows.push(this.row(record));
    const t = eveSeconds(time);
    for (const address of [client, server]) {
      const s = this.sighting(address);
      if (s !== null && s.alerts.length < MAX_TIMELINE_ITEMS) s.alerts.push({ t, id });
    }
    const ether = obj(record.ether);
    const fromClient = record.direction !== 'to_client';
    const clientMac = fromClient ? ether.src_mac : ether.dest_mac;
    const c = this.sighting(client);
    if (c !== null && c.mac === null && typeof clientMac === 'string') c.mac = clientMac;
    const s = this.sighting(server);
    if (s !== null && s.reachedBy.size < MAX_LISTED) s.reachedBy.add(client);
    this.alertRecords.push(this.keptEvidence(record));
  }

  /** Only what the "what left" and summary sections read, so 100 000 alerts stay small. */
  private keptEvidence(record: EveRecord): EveRecord {
    const flow = obj(record.flow);
    return {
      timestamp: record.timestamp,
      flow_id: record.flow_id,
      proto: record.proto,
      signature_id: obj(record.alert).signature_id,
      client: flow.src_ip,
      server: flow.dest_ip,
      port: flow.dest_port,
      bytes: flow.bytes_toserver,
      answered: num(flow.pkts_toclient) > 0,
      hl7: record.hl7,
      cms8000: record.cms8000,
      mount: record.mount,
      nfs: record.nfs,
      dicom: record.dicom,
      nfs_ops: obj(record.wardwatch).nfs,
      indicator: record.indicator,
    };
  }

  private row(record: EveRecord): AlertRow {
    const indicator = obj(record.indicator);
    const port = (p: unknown) => (typeof p === 'number' ? `:${p}` : '');
    const ext = obj(record.wardwatch);
    return {
      time: str(record.timestamp),
      flowId: typeof record.flow_id === 'number' ? record.flow_id : null,
      src: str(record.src_ip) + port(record.src_port),
      dst: str(record.dest_ip) + port(record.dest_port),
      proto: str(record.proto),
      appProto: str(record.app_proto),
      evidence: this.evidence === 'none' ? '' : evidenceText(record),
      phi: this.evidence === 'full' ? phiOf(record) : [],
      pcapFile: typeof record.pcap_filename === 'string' ? record.pcap_filename : null,
      packet: typeof record.pcap_cnt === 'number' ? record.pcap_cnt : null,
      indicator: typeof indicator.address === 'string' ? `${indicator.address}${indicator.exact === false ? ` (in ${str(indicator.indicator)})` : ''}` : null,
      note: typeof ext.note === 'string' ? ext.note : null,
    };
  }

  build(): ReportModel {
    const homeNet = this.homeNet.length > 0 ? this.homeNet : [...DEFAULT_HOME_NET];
    const home = homeSet(homeNet);
    const isExternal = (address: string) => {
      const parsed = parseAddress(address);
      return parsed !== null && isExternalAddress(home, parsed.version, parsed.words, 0);
    };
    const stats = this.sources.map((s) => s.last).filter((s): s is EveRecord => s !== null);
    const limits: Limit[] = [];
    for (const [path, label] of LIMIT_COUNTERS) {
      const value = stats.reduce((n, s) => n + at(s, path), 0);
      if (value > 0) limits.push({ label, value });
    }
    const damaged = this.captures.filter((c) => c.damaged !== null).length;
    if (damaged > 0) limits.push({ label: 'captures damaged (read up to the damage)', value: damaged });
    if (this.skippedLines > 0) limits.push({ label: 'EVE lines skipped (not JSON, unknown type or cut off)', value: this.skippedLines });

    const { devices, hostsNotListed } = this.devices(isExternal);
    if (hostsNotListed > 0) limits.push({ label: 'suspect sightings beyond the inventory\'s host cap', value: hostsNotListed });
    const times = [...this.groups.values()].flatMap((g) => [g.first, g.last]).sort((a, b) => eveSeconds(a) - eveSeconds(b));
    return {
      evidence: this.evidence,
      versions: this.versions.filter(Boolean),
      ruleRevisions: this.revisions.filter(Boolean),
      rules: [...this.rules].map(([id, rev]) => ({ id, rev })).sort((a, b) => a.id - b.id),
      homeNet,
      captures: this.captures,
      interfaces: this.interfaces,
      limits,
      haveStats: stats.length > 0,
      haveFlows: this.haveFlows,
      skippedLines: this.skippedLines,
      alerts: this.alertCount,
      groups: [...this.groups.values()].sort((a, b) => a.severity - b.severity || b.count - a.count || a.id - b.id),
      devices,
      hostsNotListed,
      left: this.left(isExternal),
      alertSpan: times.length > 0 ? [times[0], times[times.length - 1]] : null,
      ...this.findings(isExternal),
    };
  }

  /** The inventory's hosts (merged by address over the sources), with what the flows and alerts add. */
  private devices(isExternal: (a: string) => boolean): { devices: DeviceSection[]; hostsNotListed: number } {
    const byAddress = new Map<string, DeviceSection>();
    let hostsNotListed = 0;
    for (const source of this.sources) {
      const inventory = obj(source.inventory?.inventory);
      hostsNotListed += num(inventory.hosts_not_listed);
      for (const h of arr(inventory.hosts).map(obj)) {
        const address = str(h.address);
        let d = byAddress.get(address);
        const seen = this.sightings.get(address);
        if (d === undefined) {
          d = {
            address,
            mac: null,
            speaks: [],
            names: [],
            indicators: [],
            rules: [],
            flows: 0,
            unansweredSyns: 0,
            externalPeers: [],
            moreExternalPeers: false,
            reachedBy: [...(seen?.reachedBy ?? [])].filter(isExternal),
            reachedByCount: 0,
            first: str(h.first_seen),
            last: str(h.last_seen),
            timeline: { flows: seen?.flows ?? [], alerts: seen?.alerts ?? [] },
          };
          byAddress.set(address, d);
        }
        d.mac ??= typeof h.mac === 'string' ? h.mac : (seen?.mac ?? null);
        for (const s of arr(h.speaks)) pushCapped(d.speaks, str(s));
        for (const n of arr(h.names).map(obj)) {
          if (!d.names.some((x) => x.protocol === n.protocol && x.name === n.name)) d.names.push({ protocol: str(n.protocol), name: str(n.name) });
        }
        for (const i of arr(h.indicators)) pushCapped(d.indicators, str(i));
        for (const r of arr(h.alerts).map(obj)) {
          const known = d.rules.find((x) => x.id === r.signature_id);
          if (known) known.count += num(r.count);
          else d.rules.push({ id: num(r.signature_id), name: str(r.signature), count: num(r.count) });
        }
        d.flows += num(h.flows);
        d.unansweredSyns += num(h.unanswered_syns);
        d.reachedByCount = Math.max(d.reachedByCount, num(h.reached_by_external), d.reachedBy.length);
        for (const p of arr(h.peers)) {
          if (isExternal(str(p)) && !pushCapped(d.externalPeers, str(p))) d.moreExternalPeers = true;
        }
        // The inventory keeps a host's first peers only; those it left out may be external.
        if (h.more_peers === true) d.moreExternalPeers = true;
        if (eveSeconds(h.first_seen) < eveSeconds(d.first)) d.first = str(h.first_seen);
        if (eveSeconds(h.last_seen) > eveSeconds(d.last)) d.last = str(h.last_seen);
      }
    }
    return { devices: [...byAddress.values()], hostsNotListed };
  }

  private bytesOf(alert: EveRecord): number {
    return this.flowBytes.get(num(alert.flow_id)) ?? num(alert.bytes);
  }

  /** What left for external hosts, by category and never by value. */
  private left(isExternal: (a: string) => boolean): LeftCategory[] {
    const rows = new Map<string, LeftCategory & { flows: Set<number>; segments: Set<string> }>();
    const entry = (kind: string, what: string, record: EveRecord) => {
      const key = `${kind}\0${what}`;
      let row = rows.get(key);
      if (row === undefined) {
        row = { kind, what, count: 0, bytes: 0, detail: '', to: [], flows: new Set(), segments: new Set() };
        rows.set(key, row);
      }
      row.count++;
      const flowId = num(record.flow_id);
      if (!row.flows.has(flowId)) {
        row.flows.add(flowId);
        row.bytes += this.bytesOf(record);
      }
      pushCapped(row.to, `${str(record.server)}${typeof record.port === 'number' ? ':' + record.port : ''}`);
      return row;
    };
    for (const a of this.alertRecords) {
      if (!isExternal(str(a.server))) continue;
      const hl7 = obj(a.hl7);
      if (a.hl7 !== undefined) {
        const row = entry('HL7 messages', str(hl7.message_type) || 'unknown type', a);
        for (const s of arr(hl7.segments)) row.segments.add(str(s));
      }
      const cms = obj(a.cms8000);
      if (a.cms8000 !== undefined) {
        const row = entry('CMS8000 streams', cms.patient_block_seen === true ? 'with patient blocks (0x3E)' : 'without a patient block seen', a);
        for (const t of arr(cms.block_types)) row.segments.add(cmsBlockName(str(t)));
      }
      const mount = obj(a.mount);
      if (a.mount !== undefined && typeof mount.path === 'string') entry('MOUNT exports', mount.path, a);
      if (a.nfs !== undefined) {
        const nfs = obj(a.nfs);
        const ops = arr(obj(a.nfs_ops).operations).map(str);
        const row = entry('NFS operations', `NFSv${num(nfs.version)} ${str(nfs.procedure)}`, a);
        for (const op of ops) row.segments.add(op);
      }
      if (a.dicom !== undefined) {
        const dicom = obj(a.dicom);
        const row = entry('DICOM associations', `${str(dicom.calling_ae_title)} → ${str(dicom.called_ae_title)}`, a);
        for (const s of arr(dicom.abstract_syntaxes)) row.segments.add(str(s));
      }
    }
    return [...rows.values()].map(({ flows, segments, ...row }) => ({
      ...row,
      detail: segments.size === 0 ? `${flows.size} flow${flows.size === 1 ? '' : 's'}` : `${flows.size} flow${flows.size === 1 ? '' : 's'}; ${[...segments].join(', ')}`,
    }));
  }

  /** The facts the summary sentences and the breach worksheet are made of. */
  private findings(isExternal: (a: string) => boolean): Pick<ReportModel, 'exfiltration' | 'mounts' | 'indicatorContacts'> {
    const exfiltration = new Map<string, ReportModel['exfiltration'][number]>();
    const mounts: ReportModel['mounts'] = [];
    const indicators = new Map<string, { indicator: string; hosts: string[]; note: string }>();
    for (const a of this.alertRecords) {
      const server = str(a.server);
      const client = str(a.client);
      const time = str(a.timestamp);
      const kinds = [a.hl7 !== undefined && 'HL7', a.cms8000 !== undefined && 'CMS8000', a.dicom !== undefined && 'DICOM'].filter((k): k is string => k !== false);
      if (kinds.length > 0 && isExternal(server)) {
        const port = typeof a.port === 'number' ? a.port : null;
        const key = `${server}\0${port}\0${str(a.proto)}`;
        let e = exfiltration.get(key);
        if (e === undefined) {
          e = { dest: server, port, proto: str(a.proto), hosts: [], first: time, last: time, kinds: [], answered: false };
          exfiltration.set(key, e);
        }
        pushCapped(e.hosts, client);
        for (const k of kinds) pushCapped(e.kinds, k);
        if (eveSeconds(time) < eveSeconds(e.first)) e.first = time;
        if (eveSeconds(time) > eveSeconds(e.last)) e.last = time;
        e.answered ||= a.answered === true;
      }
      const mount = obj(a.mount);
      if (a.mount !== undefined && str(mount.procedure) === 'MNT' && typeof mount.path === 'string' && isExternal(server)) {
        if (!mounts.some((m) => m.host === client && m.server === server && m.path === mount.path) && mounts.length < MAX_LISTED) mounts.push({ host: client, server, path: mount.path });
      }
      const indicator = obj(a.indicator);
      if (typeof indicator.address === 'string') {
        const key = indicator.address;
        let i = indicators.get(key);
        if (i === undefined) {
          i = { indicator: key, hosts: [], note: indicator.in_home_net === true ? 'inside HOME_NET' : '' };
          indicators.set(key, i);
        }
        pushCapped(i.hosts, indicator.side === 'server' ? client : server);
      }
    }
    return { exfiltration: [...exfiltration.values()], mounts, indicatorContacts: [...indicators.values()] };
  }
}

function homeSet(cidrs: readonly string[]): AddressSet<true> {
  try {
    return new AddressSet(cidrs.map((cidr) => ({ cidr, value: true as const })));
  } catch {
    return new AddressSet(DEFAULT_HOME_NET.map((cidr) => ({ cidr, value: true as const })));
  }
}

const CMS_BLOCKS: Record<string, string> = {
  '0x3E': 'patient information (0x3E)',
  '0x43': 'empty (0x43)',
  '0x45': 'bed (0x45)',
  '0x46': 'vital signs and waveforms (0x46)',
  '0x47': 'sync (0x47)',
  '0x49': 'error (0x49)',
};

function cmsBlockName(type: string): string {
  return CMS_BLOCKS[type] ?? type;
}

/** The alert's evidence in words: structure only (message types, segments, block types, paths). */
function evidenceText(record: EveRecord): string {
  const parts: string[] = [];
  if (record.hl7 !== undefined) {
    const h = obj(record.hl7);
    const from = [str(h.sending_application), str(h.sending_facility)].filter(Boolean).join(' / ');
    parts.push(`HL7 ${str(h.message_type)}${h.version ? ` v${str(h.version)}` : ''}, segments ${arr(h.segments).map(str).join(',')}${from ? `, sent by ${from}` : ''}${h.length !== undefined ? `, ${num(h.length)} bytes` : ''}`);
  }
  if (record.cms8000 !== undefined) {
    const c = obj(record.cms8000);
    const types = arr(c.block_types).map((t) => cmsBlockName(str(t)));
    parts.push(`CMS8000 ${str(c.event)}${types.length > 0 ? `: blocks ${types.join(', ')}` : ''}${c.patient_blocks !== undefined ? `, ${num(c.patient_blocks)} patient blocks` : ''}`);
  }
  if (record.mount !== undefined) {
    const m = obj(record.mount);
    parts.push(`MOUNT ${str(m.procedure)}${m.path !== undefined ? ` ${str(m.path)}` : ''}${m.status !== undefined ? ` (status ${String(m.status)})` : ''}`);
  }
  if (record.portmap !== undefined) {
    const p = obj(record.portmap);
    parts.push(`portmap ${str(p.procedure)}${p.program_name !== undefined ? ` ${str(p.program_name)}` : ''}${p.port !== undefined ? ` port ${num(p.port)}` : ''}`);
  }
  if (record.nfs !== undefined) {
    const n = obj(record.nfs);
    const ops = arr(obj(obj(record.wardwatch).nfs).operations).map(str);
    parts.push(`NFSv${num(n.version)} ${str(n.procedure)}${ops.length > 0 ? ` ${ops.join(',')}` : ''}`);
  }
  if (record.lpd !== undefined) {
    const l = obj(record.lpd);
    parts.push(l.looks_like !== undefined ? `not LPD: looks like ${str(l.looks_like)}` : `LPD ${str(l.command)}${l.queue !== undefined ? ` queue ${str(l.queue)}` : ''}`);
  }
  if (record.dicom !== undefined) {
    const d = obj(record.dicom);
    parts.push(`DICOM ${str(d.event)} ${str(d.calling_ae_title)} → ${str(d.called_ae_title)}${arr(d.abstract_syntaxes).length > 0 ? ` (${arr(d.abstract_syntaxes).map(str).join(', ')})` : ''}`);
  }
  return parts.join('; ');
}

/** Patient data an alert carries in full evidence mode, flattened to label and value. */
function phiOf(record: EveRecord): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const key of ['hl7', 'cms8000']) {
    const phi = obj(record[key]).phi;
    if (phi === undefined) continue;
    for (const [k, v] of Object.entries(obj(phi))) out.push([`${key} ${k}`, typeof v === 'string' ? v : JSON.stringify(v)]);
  }
  return out;
}
