/**
 * EVE JSON records (Suricata's `eve.json` format) as plain objects; writing them is the sinks' job.
 *
 * Records follow Suricata's schema, reusing its object names where it has one (`alert`, `flow`,
 * `tcp`, `rpc`, `nfs`, `stats`). What Suricata has no name for goes in the extension objects
 * listed in EVE_EXTENSION_KEYS, each a top-level key of the record:
 *
 * - `hl7`: an HL7 v2 message: message_type (MSH-9.1^MSH-9.2), version, control_id,
 *   sending_application, sending_facility, framing ('mllp' or 'bare'), segments,
 *   identity_segments, length, truncated; `phi.text` (the message) in the full evidence mode only.
 * - `cms8000`: the Contec CMS8000 central-station protocol: event ('detected', 'patient',
 *   'summary'), block_types (as '0x3E'), patient_block_seen, block_counts, patient_blocks,
 *   malformed_blocks, skipped_bytes, length; `phi` (the patient block's fields) in full mode only.
 * - `lpd`: a print-daemon command (command, code, queue, size) or, on the LPD port, what the bytes
 *   look like when they are not LPD (looks_like).
 * - `mount`: an NFS MOUNT call or reply: procedure, version, path, status, file_handle,
 *   auth_flavors, exports.
 * - `portmap`: a portmap/rpcbind question or answer: procedure, version, program, program_name,
 *   program_version, transport, netid, port, source, address.
 * - `indicator`: the indicator-list entry the flow touched: side, address, indicator,
 *   description, source, exact, in_home_net.
 * - `wardwatch`: the engine's own facts. Alerts: matches (times the rule had matched on the flow
 *   when it fired), note, rule_file, event_type, rpc (accept status detail), nfs (v4 minor
 *   version, COMPOUND operations, session). Flows: end_reason (wardwatch's own), midstream,
 *   rule_matches ({"<rule id>": count}). Stats: every counter Suricata's `stats` object has no
 *   name for (that object forbids unknown keys, so they cannot sit inside it).
 * - `inventory`: the suspected-device list of an `inventory` record (an event type of wardwatch's
 *   own; EVE's event_type is free text).
 * - `run` records (another event type of wardwatch's own) hold in `wardwatch.run` what was
 *   analysed: version, rule pack revision, HOME_NET, evidence mode, and each capture's name,
 *   size, SHA-256, packets and first and last packet time. Alerts and flows carry Suricata's
 *   `ether` object (src_mac, dest_mac) when the frames were Ethernet.
 *
 * Patient data (the events' `phi`) is copied only in the `full` evidence mode, field by field:
 * nothing is copied from an event wholesale, so no other mode can leak it.
 */
import type { EvidenceMode } from '../analyzers/analyzer.js';
import type { AnomalyReason, InvalidReason } from '../decode/decode-stats.js';
import {
  DLT_RAW_12,
  DLT_RAW_14,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from '../decode/link-types.js';
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, IPPROTO_TCP } from '../decode/packet-view.js';
import type { AppEvent } from '../analyzers/events.js';
import { descriptorOf, EVE_PROTOCOL_KEYS } from '../analyzers/registry.js';
import type { Alert, FlowRecord, IndicatorHit } from '../detect/alert.js';
import { formatLocation } from '../detect/rule-loader.js';
import { TCP_STATE_NAMES, TcpState, type Flow, type FlowEndReason } from '../flow/flow.js';
import { COUNTERS, type RunStats } from '../stats/run-stats.js';
import { clientAddress, etherObject, eveTimestamp, eveTimestampOfMs, hasPorts, protoName, serverAddress } from './common.js';
import type { InventorySnapshot } from './inventory.js';
import type { RunFacts } from './run-facts.js';

/** Top-level keys wardwatch adds to Suricata's EVE schema (see the file comment). */
export const EVE_EXTENSION_KEYS: readonly string[] = [...EVE_PROTOCOL_KEYS, 'indicator', 'wardwatch', 'inventory'];

export type EveRecord = Record<string, unknown>;

export interface AlertRecordOptions {
  evidence: EvidenceMode;
}

// ---------------------------------------------------------------------------------------------
// Alert

export function alertRecord(alert: Alert, options: AlertRecordOptions = { evidence: 'redacted' }): EveRecord {
  const flow = alert.flow;
  const fromClient = alert.dir === 0;
  const client = clientAddress(flow);
  const server = serverAddress(flow);
  const rule = alert.rule;
  const record: EveRecord = {
    timestamp: eveTimestamp(alert.tsSec, alert.tsNsec),
    flow_id: flow.id,
  };
  if (alert.interfaceName !== null) record.in_iface = alert.interfaceName;
  if (alert.captureFile !== null) record.pcap_cnt = alert.packetNumber;
  record.event_type = 'alert';
  if (flow.vlanCount > 0) record.vlan = vlanList(flow);
  record.src_ip = fromClient ? client : server;
  if (hasPorts(flow.proto)) record.src_port = fromClient ? flow.clientPort : flow.serverPort;
  record.dest_ip = fromClient ? server : client;
  if (hasPorts(flow.proto)) record.dest_port = fromClient ? flow.serverPort : flow.clientPort;
  record.proto = protoName(flow.proto);
  record.direction = fromClient ? 'to_server' : 'to_client';
  if (flow.appProto !== '') record.app_proto = flow.appProto;
  const ether = etherObject(flow, fromClient);
  if (ether !== undefined) record.ether = ether;

  const alertObject: EveRecord = {
    action: 'allowed',
    gid: 1,
    signature_id: rule.id,
    rev: rule.rev,
    signature: rule.name,
    category: rule.category,
    severity: alert.severity,
  };
  if (rule.references.length > 0) {
    // Suricata 8 writes `references`; older consumers look in the metadata.
    alertObject.references = [...rule.references];
    alertObject.metadata = { references: [...rule.references] };
  }
  record.alert = alertObject;

  const extension: EveRecord = { matches: alert.matches };
  if (alert.note !== null) extension.note = alert.note;
  // What the rule required of the server (a monitor): the host the alert is about is the server.
  if (rule.serverRole !== null) extension.server_role = rule.serverRole;
  extension.rule_file = formatLocation(rule.location);
  if (alert.event !== null) {
    extension.event_type = alert.event.type;
    if (options.evidence !== 'none') Object.assign(record, eventEvidence(alert.event, options.evidence, extension));
  }
  if (alert.indicator !== null) record.indicator = indicatorObject(alert.indicator);
  record.wardwatch = extension;

  record.flow = {
    pkts_toserver: flow.packetsToServer,
    pkts_toclient: flow.packetsToClient,
    bytes_toserver: flow.bytesToServer,
    bytes_toclient: flow.bytesToClient,
    start: eveTimestamp(flow.startSec, flow.startNsec),
    src_ip: client,
    dest_ip: server,
    ...(hasPorts(flow.proto) && { src_port: flow.clientPort, dest_port: flow.serverPort }),
  };
  if (alert.captureFile !== null) record.pcap_filename = alert.captureFile;
  return record;
}

function vlanList(flow: Flow): number[] {
  return flow.vlanIds.slice(0, flow.vlanCount);
}

function indicatorObject(hit: IndicatorHit): EveRecord {
  return {
    side: hit.side,
    address: hit.address,
    indicator: hit.indicator,
    description: hit.description,
    source: hit.source,
    exact: hit.exact,
    in_home_net: hit.inHomeNet,
  };
}

/**
 * The evidence objects of an analyzer event, keyed by their top-level name, as its protocol
 * renders them; details without a Suricata name are added to `extension` (the alert's `wardwatch` object).
 */
function eventEvidence(event: AppEvent, mode: 'redacted' | 'full', extension: EveRecord): EveRecord {
  return descriptorOf(event).eve(event, mode, extension);
}

// ---------------------------------------------------------------------------------------------
// Flow

/** Our end reasons as Suricata words them: it has no 'closed' reason (a closed TCP flow times out). */
const SURICATA_END_REASON: Record<FlowEndReason, string> = {
  timeout: 'timeout',
  closed: 'timeout',
  evicted: 'forced',
  'end-of-input': 'shutdown',
  reused: 'tcp_reuse',
};

export function flowRecord(record: FlowRecord): EveRecord {
  const flow = record.flow;
  const ports = hasPorts(flow.proto);
  const out: EveRecord = {
    timestamp: eveTimestamp(flow.startSec, flow.startNsec),
    flow_id: flow.id,
    event_type: 'flow',
  };
  if (flow.vlanCount > 0) out.vlan = vlanList(flow);
  out.src_ip = clientAddress(flow);
  if (ports) out.src_port = flow.clientPort;
  out.dest_ip = serverAddress(flow);
  if (ports) out.dest_port = flow.serverPort;
  out.proto = protoName(flow.proto);
  if (flow.appProto !== '') out.app_proto = flow.appProto;
  const ether = etherObject(flow, true);
  if (ether !== undefined) out.ether = ether;
  out.flow = {
    pkts_toserver: flow.packetsToServer,
    pkts_toclient: flow.packetsToClient,
    bytes_toserver: flow.bytesToServer,
    bytes_toclient: flow.bytesToClient,
    start: eveTimestamp(flow.startSec, flow.startNsec),
    end: eveTimestamp(flow.lastSec, flow.lastNsec),
    age: Math.max(0, flow.lastSec - flow.startSec),
    state: flowState(flow),
    reason: SURICATA_END_REASON[record.reason],
    alerted: record.alerted,
  };
  if (flow.proto === IPPROTO_TCP) out.tcp = tcpObject(flow);
  const ruleMatches: Record<string, number> = {};
  for (const [id, count] of record.ruleMatches) ruleMatches[String(id)] = count;
  out.wardwatch = { end_reason: record.reason, midstream: flow.midstream, rule_matches: ruleMatches };
  return out;
}

/** Suricata's flow states: new until both sides spoke (TCP: until the handshake), then established, closed. */
function flowState(flow: Flow): 'new' | 'established' | 'closed' {
  if (flow.proto === IPPROTO_TCP) {
    if (flow.tcpState === TcpState.Closed) return 'closed';
    return flow.tcpState === TcpState.Established || flow.tcpState === TcpState.Closing ? 'established' : 'new';
  }
  return flow.packetsToServer > 0 && flow.packetsToClient > 0 ? 'established' : 'new';
}

const FLAG_NAMES: Array<[number, string]> = [
  [TCP_FIN, 'fin'],
  [TCP_SYN, 'syn'],
  [TCP_RST, 'rst'],
  [TCP_PSH, 'psh'],
  [TCP_ACK, 'ack'],
  [TCP_URG, 'urg'],
  [TCP_ECE, 'ecn'],
  [TCP_CWR, 'cwr'],
];

/** Suricata's `tcp` object: flags as two lower-case hex digits, and a `true` per flag seen. */
function tcpObject(flow: Flow): EveRecord {
  const all = flow.tcpFlagsToServer | flow.tcpFlagsToClient;
  const hex2 = (v: number) => (v & 0xff).toString(16).padStart(2, '0');
  const tcp: EveRecord = {
    tcp_flags: hex2(all),
    tcp_flags_ts: hex2(flow.tcpFlagsToServer),
    tcp_flags_tc: hex2(flow.tcpFlagsToClient),
  };
  for (const [bit, name] of FLAG_NAMES) if (all & bit) tcp[name] = true;
  tcp.state = TCP_STATE_NAMES[flow.tcpState];
  return tcp;
}

// ---------------------------------------------------------------------------------------------
// Stats

/**
 * Our decoder reasons under Suricata's `decoder.event` names ('layer.name'), or null where
 * Suricata has no such event: those are reported in `wardwatch.decoder_events`.
 */
const SURICATA_DECODER_EVENT: Record<InvalidReason | AnomalyReason, string | null> = {
  'link.unsupported': null,
  'ethernet.pkt_too_small': 'ethernet.pkt_too_small',
  'vlan.header_too_small': 'vlan.header_too_small',
  'vlan.too_many_layers': 'vlan.too_many_layers',
  'llc.pkt_too_small': null,
  'sll.pkt_too_small': 'sll.pkt_too_small',
  'sll2.pkt_too_small': 'sll2.pkt_too_small',
  'null.pkt_too_small': 'ltnull.pkt_too_small',
  'null.unsupported_family': 'ltnull.unsupported_type',
  'ipraw.invalid_ip_version': 'ipraw.invalid_ip_version',
  'ipv4.pkt_too_small': 'ipv4.pkt_too_small',
  'ipv4.hlen_too_small': 'ipv4.hlen_too_small',
  'ipv4.iplen_smaller_than_hlen': 'ipv4.iplen_smaller_than_hlen',
  'ipv4.trunc_pkt': 'ipv4.trunc_pkt',
  'ipv4.wrong_ip_version': 'ipv4.wrong_ip_version',
  'ipv6.pkt_too_small': 'ipv6.pkt_too_small',
  'ipv6.trunc_pkt': 'ipv6.trunc_pkt',
  'ipv6.trunc_exthdr': 'ipv6.trunc_exthdr',
  'ipv6.wrong_ip_version': 'ipv6.wrong_ip_version',
  'tcp.pkt_too_small': 'tcp.pkt_too_small',
  'tcp.hlen_too_small': 'tcp.hlen_too_small',
  'tcp.invalid_optlen': 'tcp.invalid_optlen',
  'udp.pkt_too_small': 'udp.pkt_too_small',
  'udp.hlen_invalid': 'udp.hlen_invalid',
  'icmpv4.pkt_too_small': 'icmpv4.pkt_too_small',
  'icmpv6.pkt_too_small': 'icmpv6.pkt_too_small',
  'gre.pkt_too_small': 'gre.pkt_too_small',
  'gre.wrong_version': 'gre.wrong_version',
  'erspan.header_too_small': 'erspan.header_too_small',
  'erspan.unsupported_version': 'erspan.unsupported_version',
  'tunnel.too_deep': null,
  // Fragment overlaps are not split by IP version, which Suricata's names are.
  'frag.overlap_conflict': null,
  'ipv4.frag_too_large': 'ipv4.frag_pkt_too_large',
  'ipv6.frag_too_large': 'ipv6.frag_pkt_too_large',
  // A TSO/GRO record, analysed with its captured length; Suricata has no name for it.
  'ipv4.total_length_zero': null,
};

/** Link-type counters under Suricata's decoder names. */
const LINK_COUNTER: Record<number, string> = {
  [LINKTYPE_ETHERNET]: 'ethernet',
  [LINKTYPE_LINUX_SLL]: 'sll',
  [LINKTYPE_LINUX_SLL2]: 'sll2',
  [LINKTYPE_NULL]: 'null',
  [LINKTYPE_LOOP]: 'null',
  [LINKTYPE_RAW]: 'raw',
  [DLT_RAW_12]: 'raw',
  [DLT_RAW_14]: 'raw',
  [LINKTYPE_IPV4]: 'raw',
  [LINKTYPE_IPV6]: 'raw',
};

/** Adds `n` at a dotted path, making the objects on the way. */
function addAt(root: EveRecord, path: string, n: number): void {
  const names = path.split('.');
  let into = root;
  for (let i = 0; i < names.length - 1; i++) into = (into[names[i]] ??= {}) as EveRecord;
  const last = names[names.length - 1];
  into[last] = ((into[last] as number | undefined) ?? 0) + n;
}

function objectAt(root: EveRecord, path: string): EveRecord {
  let into = root;
  for (const name of path.split('.')) into = (into[name] ??= {}) as EveRecord;
  return into;
}

/** The counters as a stats record: Suricata's `stats` object, and what it has no name for in `wardwatch`. */
export function statsRecord(input: RunStats, nowMs: number = Date.now()): EveRecord {
  const roots: Record<'stats' | 'wardwatch', EveRecord> = { stats: {}, wardwatch: {} };
  for (const counter of COUNTERS) {
    const value = counter.value(input);
    if (value === undefined) continue;
    const place = counter.eve;
    if (place.in === 'stats' || place.in === 'wardwatch') {
      if (typeof value === 'number') addAt(roots[place.in], place.path, value);
      else {
        const into = objectAt(roots[place.in], place.path);
        for (const [key, n] of value) into[String(key)] = n;
      }
    } else if (typeof value !== 'number') {
      if (place.in === 'link-types') addLinkTypes(roots, value);
      else addDecoderEvents(roots, value);
    }
  }
  if (input.end !== undefined) roots.wardwatch.run_end = { state: input.end.state, reasons: [...input.end.reasons] };
  return { timestamp: eveTimestampOfMs(nowMs), event_type: 'stats', stats: roots.stats, wardwatch: roots.wardwatch };
}

/** Packets per link type under Suricata's decoder names; types it has no name for in `wardwatch.decoder.link_types`. */
function addLinkTypes(roots: Record<'stats' | 'wardwatch', EveRecord>, counts: ReadonlyMap<string | number, number>): void {
  for (const [linkType, n] of counts) {
    const name = LINK_COUNTER[Number(linkType)];
    if (name !== undefined) addAt(roots.stats, `decoder.${name}`, n);
    else objectAt(roots.wardwatch, 'decoder.link_types')[String(linkType)] = n;
  }
}

/** Decoder reasons as Suricata's `decoder.event` counters; those it has no name for in `wardwatch.decoder_events`. */
function addDecoderEvents(roots: Record<'stats' | 'wardwatch', EveRecord>, counts: ReadonlyMap<string | number, number>): void {
  const own = objectAt(roots.wardwatch, 'decoder_events');
  for (const [reason, n] of counts) {
    const name = (SURICATA_DECODER_EVENT as Record<string, string | null | undefined>)[String(reason)];
    if (name) addAt(roots.stats, `decoder.event.${name}`, n);
    else own[String(reason)] = ((own[String(reason)] as number | undefined) ?? 0) + n;
  }
}

// ---------------------------------------------------------------------------------------------
// Inventory

export function inventoryRecord(inventory: InventorySnapshot, nowMs: number = Date.now()): EveRecord {
  return {
    timestamp: eveTimestampOfMs(nowMs),
    event_type: 'inventory',
    inventory: {
      hosts: inventory.devices.map((d) => ({
        address: d.address,
        ...(d.mac !== null && { mac: d.mac }),
        first_seen: eveTimestamp(d.firstSec, d.firstNsec),
        last_seen: eveTimestamp(d.lastSec, d.lastNsec),
        speaks: [...d.speaks],
        names: d.names.map((n) => ({ protocol: n.protocol, name: n.name })),
        indicators: [...d.indicators],
        alerts: d.rules.map((r) => ({ signature_id: r.id, signature: r.name, count: r.count })),
        flows: d.flows,
        unanswered_syns: d.unansweredSyns,
        reached_by_external: d.reachedByExternal,
        peers: [...d.peers],
        more_peers: d.morePeers,
        ports: [...d.ports],
        more_ports: d.morePorts,
      })),
      hosts_not_listed: inventory.hostsNotListed,
      max_hosts: inventory.maxHosts,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Run

/** What the run analysed and how: an event type of wardwatch's own, its facts in `wardwatch.run`. */
export function runRecord(facts: RunFacts): EveRecord {
  const time = (t: [number, number] | null) => (t === null ? null : eveTimestamp(t[0], t[1]));
  return {
    timestamp: eveTimestampOfMs(facts.recordedAtMs),
    event_type: 'run',
    wardwatch: {
      run: {
        version: facts.version,
        rules: { dir: facts.rules.dir, revision: facts.rules.revision, rules: facts.rules.rules.map((r) => ({ signature_id: r.id, rev: r.rev })) },
        home_net: [...facts.homeNet],
        evidence: facts.evidence,
        interface: facts.interfaceName,
        captures: facts.captures.map((c) => ({
          name: c.name,
          format: c.format,
          compressed: c.compressed,
          size: c.sizeBytes,
          sha256: c.sha256,
          packets: c.packets,
          first_packet: time(c.first),
          last_packet: time(c.last),
          damaged: c.damaged,
        })),
      },
    },
  };
}
