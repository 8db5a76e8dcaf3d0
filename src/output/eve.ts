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
 *
 * Patient data (the events' `phi`) is copied only in the `full` evidence mode, field by field:
 * nothing is copied from an event wholesale, so no other mode can leak it.
 */
import type { EvidenceMode } from '../analyzers/analyzer.js';
import type { DefragStats } from '../decode/defrag.js';
import type { AnomalyReason, DecodeStats, InvalidReason } from '../decode/decode-stats.js';
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
import type { AppLayerStats } from '../analyzers/app-layer.js';
import { descriptorOf, EVE_PROTOCOL_KEYS } from '../analyzers/registry.js';
import type { Alert, FlowRecord, IndicatorHit } from '../detect/alert.js';
import type { DetectStats } from '../detect/detect-engine.js';
import { formatLocation } from '../detect/rule-loader.js';
import type { Flow, FlowEndReason } from '../flow/flow.js';
import type { DedupStats, FlowStats, ReassemblyStats } from '../flow/flow-stats.js';
import { clientAddress, eveTimestamp, eveTimestampOfMs, hasPorts, protoName, serverAddress } from './common.js';
import type { InventorySnapshot } from './inventory.js';

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
    if (flow.tcpState === 'closed') return 'closed';
    return flow.tcpState === 'established' || flow.tcpState === 'closing' ? 'established' : 'new';
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
  tcp.state = flow.tcpState;
  return tcp;
}

// ---------------------------------------------------------------------------------------------
// Stats

export interface CaptureCounters {
  kernelPackets: number;
  kernelDrops: number;
  ifDrops?: number;
}

/** Every stage's counters, as the stats record and the summary read them. */
export interface RunCounters {
  decode: DecodeStats;
  defrag: DefragStats;
  flows: FlowStats;
  reassembly: ReassemblyStats;
  dedup: DedupStats;
  app: AppLayerStats;
  detect: DetectStats;
}

export interface StatsInput extends RunCounters {
  uptimeSec: number;
  /** Live capture only: what the kernel reports. */
  capture?: CaptureCounters;
  memoryRssBytes?: number;
}

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
  'ipv6.exthdr_too_many': null,
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

function addNested(root: Record<string, Record<string, number>>, path: string, n: number): void {
  const dot = path.indexOf('.');
  const layer = path.slice(0, dot);
  const name = path.slice(dot + 1);
  const into = (root[layer] ??= {});
  into[name] = (into[name] ?? 0) + n;
}

export function statsRecord(input: StatsInput, nowMs: number = Date.now()): EveRecord {
  const { decode, defrag, flows, reassembly, dedup, app, detect } = input;

  const decoder: EveRecord = {
    pkts: decode.packets,
    bytes: decode.bytes,
    invalid: decode.invalid,
    ipv4: decode.ipv4,
    ipv6: decode.ipv6,
    tcp: decode.tcp,
    udp: decode.udp,
    icmpv4: decode.icmpv4,
    icmpv6: decode.icmpv6,
    vlan: decode.vlan,
    gre: decode.gre,
    erspan: decode.erspan,
    vxlan: decode.vxlan,
    avg_pkt_size: decode.packets > 0 ? Math.round(decode.bytes / decode.packets) : 0,
  };
  const otherLinkTypes: Record<string, number> = {};
  for (const [linkType, n] of decode.byLinkType) {
    const name = LINK_COUNTER[linkType];
    if (name !== undefined) decoder[name] = ((decoder[name] as number | undefined) ?? 0) + n;
    else otherLinkTypes[String(linkType)] = n;
  }
  const suricataEvents: Record<string, Record<string, number>> = {};
  const ownEvents: Record<string, number> = {};
  const reasons: Array<[string, number]> = [...decode.invalidByReason, ...decode.anomalies];
  for (const [reason, n] of reasons) {
    const name = (SURICATA_DECODER_EVENT as Record<string, string | null | undefined>)[reason];
    if (name) addNested(suricataEvents, name, n);
    else ownEvents[reason] = (ownEvents[reason] ?? 0) + n;
  }
  if (Object.keys(suricataEvents).length > 0) decoder.event = suricataEvents;

  const stats: EveRecord = {
    uptime: Math.max(0, Math.round(input.uptimeSec)),
    decoder,
    flow: { total: flows.total, tcp: flows.tcp, udp: flows.udp, active: flows.active },
    tcp: {
      midstream_pickups: flows.midstream,
      reassembly_gap: reassembly.gaps,
      overlap: reassembly.overlaps,
      overlap_diff_data: reassembly.overlapConflicts,
      segment_memcap_drop: reassembly.segmentsDroppedMemcap,
      stream_depth_reached: reassembly.depthReached,
    },
    detect: { alert: detect.alerts, alerts_suppressed: detect.suppressed },
  };
  if (input.capture) {
    stats.capture = {
      kernel_packets: input.capture.kernelPackets,
      kernel_drops: input.capture.kernelDrops,
      ...(input.capture.ifDrops !== undefined && { kernel_ifdrops: input.capture.ifDrops }),
    };
  }

  const alertsByRule: Record<string, number> = {};
  for (const [id, n] of detect.alertsByRule) alertsByRule[String(id)] = n;
  const wardwatch: EveRecord = {
    decoder: {
      non_ip: decode.nonIp,
      other_ip_proto: decode.otherIpProto,
      truncated_by_snaplen: decode.truncatedBySnaplen,
      ...(Object.keys(otherLinkTypes).length > 0 && { link_types: otherLinkTypes }),
    },
    decoder_events: ownEvents,
    defrag: {
      fragments: defrag.fragments,
      reassembled: defrag.reassembled,
      timeouts: defrag.timeouts,
      evicted: defrag.evicted,
      overlap_conflicts: defrag.overlapConflicts,
      too_large: defrag.tooLarge,
    },
    flow: {
      icmp: flows.icmp,
      other: flows.other,
      ended: { timeout: flows.endedTimeout, closed: flows.endedClosed, evicted: flows.endedEvicted, end_of_input: flows.endedEndOfInput },
      refused: flows.refused,
      tcp_invalid_flags: flows.tcpInvalidFlags,
    },
    reassembly: {
      bytes_delivered: reassembly.bytesDelivered,
      gap_bytes: reassembly.gapBytes,
      out_of_order: reassembly.outOfOrder,
      retransmissions: reassembly.retransmissions,
      sequence_jumps: reassembly.sequenceJumps,
      buffered_bytes: reassembly.bufferedBytes,
    },
    dedup: { checked: dedup.checked, suppressed: dedup.suppressed },
    app_layer: {
      // Suricata's app_layer.flow names are per protocol and transport (nfs_tcp...) and forbid others.
      flow: Object.fromEntries(app.flowsByProto),
      events: app.events,
      analyzer_errors: app.analyzerErrors,
      expectations_learnt: app.expectationsLearnt,
      expectations_used: app.expectationsUsed,
    },
    detect: { alerts_by_rule: alertsByRule },
  };
  if (input.memoryRssBytes !== undefined) wardwatch.memory_rss_bytes = input.memoryRssBytes;

  return { timestamp: eveTimestampOfMs(nowMs), event_type: 'stats', stats, wardwatch };
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
        first_seen: eveTimestamp(d.firstSec, d.firstNsec),
        last_seen: eveTimestamp(d.lastSec, d.lastNsec),
        speaks: [...d.speaks],
        names: d.names.map((n) => ({ protocol: n.protocol, name: n.name })),
        indicators: [...d.indicators],
        alerts: d.rules.map((r) => ({ signature_id: r.id, signature: r.name, count: r.count })),
        flows: d.flows,
        unanswered_syns: d.unansweredSyns,
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
