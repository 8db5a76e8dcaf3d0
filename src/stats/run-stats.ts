/**
 * The run's counters. Each stage keeps its own counter object (the decoder's DecodeStats, the
 * flow table's FlowStats...); RunStats collects them, and COUNTERS lists every counter once: where
 * the EVE stats record puts it (under Suricata's name inside `stats`, or in wardwatch's extension
 * object) and where the end-of-run summary shows it. The EVE record and the summary are both
 * rendered from that table, so a new counter is one line in it.
 */
import type { AppLayerStats } from '../analyzers/app-layer.js';
import type { CaptureCounters } from '../capture/capture-stats.js';
import type { DecodeStats } from '../decode/decode-stats.js';
import type { DefragStats } from '../decode/defrag.js';
import type { DetectStats } from '../detect/alert-delivery.js';
import type { DedupStats, FlowStats, ReassemblyStats } from '../flow/flow-stats.js';
import type { OutputHealth } from '../output/output.js';

/** Every stage's counters at one moment of the run. */
export interface RunStats {
  uptimeSec: number;
  decode: DecodeStats;
  defrag: DefragStats;
  flows: FlowStats;
  reassembly: ReassemblyStats;
  dedup: DedupStats;
  app: AppLayerStats;
  detect: DetectStats;
  /** Live capture only: what the kernel reports. */
  capture?: CaptureCounters;
  /** Each output's delivery counters (the session adds them). */
  outputs?: OutputHealth[];
  memoryRssBytes?: number;
  /** In the final counters of a run that did not end cleanly: why. */
  end?: RunEnd;
}

/** A run that failed (an input could not be read, an output lost records) or was interrupted by a signal. */
export interface RunEnd {
  state: 'failed' | 'interrupted';
  reasons: string[];
}

/** A counter's value: a number, counts by name, or nothing (a counter this run does not have). */
export type CounterValue = number | ReadonlyMap<string | number, number> | undefined;

/**
 * Where the EVE stats record puts a counter: at `path` inside Suricata's `stats` object (Suricata
 * has the name) or inside wardwatch's own `wardwatch` object; decoder reasons and link types are
 * translated to Suricata's decoder names by the EVE output.
 */
export type EvePlace = { in: 'stats' | 'wardwatch'; path: string } | { in: 'decoder-events' } | { in: 'link-types' };

/** The lists of the summary's lines a counter can appear in (see formatSummary). */
export type SummaryList = 'packets' | 'flows' | 'flows.ended' | 'flows.notes' | 'apps' | 'apps.notes' | 'tcp' | 'frags' | 'errors' | 'anomaly' | 'snaplen';

export interface Counter {
  /** `stage.field` of the stage's counter object, or the name of a value derived from them. */
  name: string;
  value(stats: RunStats): CounterValue;
  eve: EvePlace;
  /**
   * The summary list it is shown in when not zero, and its label there: `label N`, or the label
   * with `#` replaced by N. Counts by name show each name as the label.
   */
  summary: { list: SummaryList; label: string } | null;
}

type Stages = Required<Omit<RunStats, 'uptimeSec' | 'memoryRssBytes' | 'outputs'>>;
type CounterFields<T> = { [K in keyof T]: T[K] extends CounterValue ? K : never }[keyof T];
type FieldName = { [S in keyof Stages]: `${S}.${CounterFields<Stages[S]> & string}` }[keyof Stages];
type SummaryPlace = SummaryList | `${SummaryList}: ${string}`;

const suricata = (path: string): EvePlace => ({ in: 'stats', path });
const own = (path: string): EvePlace => ({ in: 'wardwatch', path });

function summaryOf(place: SummaryPlace | undefined): Counter['summary'] {
  if (place === undefined) return null;
  const colon = place.indexOf(': ');
  return colon < 0 ? { list: place as SummaryList, label: '' } : { list: place.slice(0, colon) as SummaryList, label: place.slice(colon + 2) };
}

/** A field of a stage's counter object. */
function field(name: FieldName, eve: EvePlace, summary?: SummaryPlace): Counter {
  const [stage, key] = name.split('.') as [keyof Stages, string];
  return { name, value: (s) => (s[stage] as unknown as Record<string, CounterValue> | undefined)?.[key], eve, summary: summaryOf(summary) };
}

function derived(name: string, value: (s: RunStats) => CounterValue, eve: EvePlace, summary?: SummaryPlace): Counter {
  return { name, value, eve, summary: summaryOf(summary) };
}

/**
 * Every counter, in the order the EVE record lists them. Within each summary list the order is
 * the order shown.
 */
export const COUNTERS: readonly Counter[] = [
  derived('uptime', (s) => Math.max(0, Math.round(s.uptimeSec)), suricata('uptime')),

  field('decode.packets', suricata('decoder.pkts')),
  field('decode.bytes', suricata('decoder.bytes')),
  field('decode.invalid', suricata('decoder.invalid')),
  field('decode.ipv4', suricata('decoder.ipv4'), 'packets: ipv4'),
  field('decode.ipv6', suricata('decoder.ipv6'), 'packets: ipv6'),
  field('decode.tcp', suricata('decoder.tcp'), 'packets: tcp'),
  field('decode.udp', suricata('decoder.udp'), 'packets: udp'),
  field('decode.icmpv4', suricata('decoder.icmpv4'), 'packets: icmp'),
  field('decode.icmpv6', suricata('decoder.icmpv6'), 'packets: icmpv6'),
  field('decode.nonIp', own('decoder.non_ip'), 'packets: non-ip'),
  field('decode.otherIpProto', own('decoder.other_ip_proto'), 'packets: other-ip'),
  field('decode.vlan', suricata('decoder.vlan'), 'packets: vlan'),
  field('decode.gre', suricata('decoder.gre'), 'packets: gre'),
  field('decode.erspan', suricata('decoder.erspan'), 'packets: erspan'),
  field('decode.vxlan', suricata('decoder.vxlan'), 'packets: vxlan'),
  derived('decode.avgPacketSize', (s) => (s.decode.packets > 0 ? Math.round(s.decode.bytes / s.decode.packets) : 0), suricata('decoder.avg_pkt_size')),
  field('decode.truncatedBySnaplen', own('decoder.truncated_by_snaplen'), 'snaplen: # packets cut by the snap length'),
  field('decode.timestampsCarried', own('decoder.timestamp_carried'), 'anomaly: # timestamps with a fraction of a second or more'),
  field('decode.byLinkType', { in: 'link-types' }),
  field('decode.invalidByReason', { in: 'decoder-events' }, 'errors'),
  field('decode.anomalies', { in: 'decoder-events' }, 'anomaly'),

  field('defrag.fragments', own('defrag.fragments')),
  field('defrag.reassembled', own('defrag.reassembled')),
  field('defrag.timeouts', own('defrag.timeouts'), 'frags: timed out'),
  field('defrag.evicted', own('defrag.evicted'), 'frags: evicted'),
  field('defrag.overlapConflicts', own('defrag.overlap_conflicts'), 'frags: overlap conflicts'),
  field('defrag.tooLarge', own('defrag.too_large'), 'frags: too large'),

  field('flows.total', suricata('flow.total')),
  field('flows.tcp', suricata('flow.tcp')),
  field('flows.udp', suricata('flow.udp')),
  field('flows.icmp', own('flow.icmp'), 'flows: icmp'),
  field('flows.other', own('flow.other'), 'flows: other'),
  field('flows.endedTimeout', own('flow.ended.timeout'), 'flows.ended: timeout'),
  field('flows.endedClosed', own('flow.ended.closed'), 'flows.ended: closed'),
  field('flows.endedEvicted', own('flow.ended.evicted'), 'flows.ended: evicted'),
  field('flows.endedEndOfInput', own('flow.ended.end_of_input'), 'flows.ended: end of input'),
  field('flows.endedReused', own('flow.ended.reused'), 'flows.ended: reused'),
  field('flows.active', suricata('flow.active'), 'flows.notes: # active'),
  field('flows.midstream', suricata('tcp.midstream_pickups'), 'flows.notes: # picked up mid-stream'),
  field('flows.refused', own('flow.refused'), 'flows.notes: # refused (table full)'),
  field('flows.tcpInvalidFlags', own('flow.tcp_invalid_flags')),
  field('flows.tcpChecksumInvalid', suricata('tcp.invalid_checksum'), 'tcp: bad checksums (not reassembled)'),
  field('flows.udpChecksumInvalid', own('udp.invalid_checksum'), 'flows.notes: # UDP datagrams with a bad checksum (not analysed)'),
  field('flows.checksumLeftToNic', own('flow.checksum_left_to_nic'), 'flows.notes: # packets with their checksum left to the sender\'s NIC (analysed)'),
  field('flows.checksumChecksOff', own('flow.checksum_checks_off'), 'flows.notes: checksum checks off (offloaded capture)'),

  field('reassembly.bytesDelivered', own('reassembly.bytes_delivered')),
  field('reassembly.gaps', suricata('tcp.reassembly_gap'), 'tcp: gaps'),
  field('reassembly.gapBytes', own('reassembly.gap_bytes'), 'tcp: gap bytes'),
  field('reassembly.outOfOrder', own('reassembly.out_of_order'), 'tcp: out of order'),
  field('reassembly.retransmissions', own('reassembly.retransmissions'), 'tcp: retransmissions'),
  field('reassembly.overlaps', suricata('tcp.overlap'), 'tcp: overlaps'),
  field('reassembly.overlapConflicts', suricata('tcp.overlap_diff_data'), 'tcp: conflicting overlaps'),
  field('reassembly.segmentsDroppedMemcap', suricata('tcp.segment_memcap_drop'), 'tcp: memcap drops'),
  field('reassembly.sequenceJumps', own('reassembly.sequence_jumps'), 'tcp: sequence jumps'),
  field('reassembly.depthReached', suricata('tcp.stream_depth_reached'), 'tcp: depth reached'),
  field('reassembly.bufferedBytes', own('reassembly.buffered_bytes')),

  field('dedup.checked', own('dedup.checked')),
  field('dedup.suppressed', own('dedup.suppressed')),

  // Suricata's app_layer.flow names are per protocol and transport (nfs_tcp...) and forbid others.
  field('app.flowsByProto', own('app_layer.flow'), 'apps'),
  field('app.events', own('app_layer.events')),
  field('app.analyzerErrors', own('app_layer.analyzer_errors'), 'apps.notes: analyzer faults'),
  field('app.expectationsLearnt', own('app_layer.expectations_learnt')),
  field('app.expectationsUsed', own('app_layer.expectations_used')),
  field('app.retries', own('app_layer.retries'), 'apps.notes: # analyses restarted mid-stream'),
  field('app.retriesExhausted', own('app_layer.retries_exhausted'), 'apps.notes: # flows given up after their retries'),
  field('app.anomalies', own('app_layer.anomalies'), 'anomaly'),

  field('detect.alerts', suricata('detect.alert')),
  field('detect.suppressed', suricata('detect.alerts_suppressed')),
  field('detect.alertsByRule', own('detect.alerts_by_rule')),
  field('detect.hostsIdentified', own('detect.hosts_identified')),
  field('detect.roleWaitsDropped', own('detect.role_waits_dropped')),

  field('capture.kernelPackets', suricata('capture.kernel_packets')),
  field('capture.kernelDrops', suricata('capture.kernel_drops')),
  field('capture.ifDrops', suricata('capture.kernel_ifdrops')),
  field('capture.intervalPackets', own('capture.interval_packets')),
  field('capture.quietSeconds', own('capture.quiet_seconds')),

  derived('memoryRssBytes', (s) => s.memoryRssBytes, own('memory_rss_bytes')),

  // Per output, by its name (`redis://host:6379/eve`...): records delivered, waiting (in memory
  // and the spool), written to the spool, lost, connections re-made, and whether the server is
  // reachable now (1 or 0).
  perOutput('output.sent', (h) => h.written),
  perOutput('output.queued', (h) => h.queued),
  perOutput('output.spooled', (h) => h.spooled),
  perOutput('output.dropped', (h) => h.dropped),
  perOutput('output.reconnects', (h) => h.reconnects),
  perOutput('output.oversize', (h) => h.oversize),
  perOutput('output.connected', (h) => (h.connected === undefined ? undefined : h.connected ? 1 : 0)),
  // 1 once the output has failed (see its error in the log): what it is given from then on is dropped.
  perOutput('output.failed', (h) => (h.error !== null ? 1 : 0)),
];

function perOutput(name: string, value: (h: OutputHealth) => number | undefined): Counter {
  return derived(
    name,
    (s) => {
      if (s.outputs === undefined) return undefined;
      const byName = new Map<string, number>();
      for (const h of s.outputs) {
        const n = value(h);
        if (n !== undefined) byName.set(h.name, n);
      }
      return byName.size > 0 ? byName : undefined;
    },
    own(name),
  );
}

