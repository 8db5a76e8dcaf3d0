/**
 * The flow-layer samples (pcaps/flow-*.pcap) through the built command line: `wardwatch replay
 * <capture> --format json --flows` must report, in its final stats record and its flow records,
 * exactly what each capture holds: reordered, retransmitted and overlapping segments, a lost
 * segment, a mid-stream pickup, SPAN duplicates, flows ending by time-out, close and end of input.
 * `--format text` must show the same figures in its summary. Every figure below is worked out
 * from how tools/scenarios/flows.ts builds the capture (see the comments), not from a run.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOW_PAYLOAD_BYTES, GAP_CUTS, SPAN_VLANS } from '../../tools/scenarios/flows.js';
import { SAMPLES_DIR } from '../support/captures.js';
import { ofType, parseEveLines, runCli, tempDir, type EveRecord } from '../support/cli.js';

interface Counters {
  flows: { total: number; tcp: number; udp: number };
  ended: { timeout: number; closed: number; end_of_input: number; reused: number };
  midstream: number;
  gaps: number;
  gapBytes: number;
  outOfOrder: number;
  retransmissions: number;
  overlaps: number;
  dedup: { checked: number; suppressed: number };
}

/** A flow record reduced to what these cases are about. */
interface FlowFacts {
  proto: string;
  from: string;
  to: string;
  pkts: [toServer: number, toClient: number];
  /** wardwatch's own end reason. */
  endReason: string;
  /** Suricata's word for it. */
  reason: string;
  tcpState?: string;
  rst?: boolean;
  midstream: boolean;
  vlan?: number[];
}

interface Case {
  file: string;
  counters: Counters;
  /** Flows ended while packets were still coming, in the order they ended. */
  endedDuringRun: FlowFacts[];
  /** Flows still open when the capture ended, in any order. */
  endedAtEnd: FlowFacts[];
}

const QUIET = { gaps: 0, gapBytes: 0, outOfOrder: 0, retransmissions: 0, overlaps: 0 };
const ONE_TCP_FLOW = { total: 1, tcp: 1, udp: 0 };
const AT_END = { timeout: 0, closed: 0, end_of_input: 1, reused: 0 };

/**
 * A rule pack with one rule that applies to the flows to the HL7 engine and the printer and never
 * fires, so they are followed to their end: a flow no rule can use is only followed until its
 * protocol is known.
 */
const rulesDir = tempDir('wardwatch-flow-counters-');
afterAll(() => rulesDir.remove());
rulesDir.file(
  'watch.yaml',
  ['rules:', '  - id: 9000001', '    name: Watches the HL7 engine and the printer, never fires', '    category: Test', '    severity: 3', '    match:', '      server: [10.1.5.20, 10.1.40.21]', '      event: { type: cms8000.detected }', ''].join('\n'),
);
const WATCHED = ['--rules', rulesDir.path];

const MONITOR = '10.20.30.40';
const ENGINE = '10.1.5.20:2575';

const hl7Flow = (from: string, pkts: [number, number], extra: Partial<FlowFacts> = {}): FlowFacts => ({
  proto: 'TCP',
  from,
  to: ENGINE,
  pkts,
  endReason: 'end-of-input',
  reason: 'shutdown',
  tcpState: 'closed',
  midstream: false,
  ...extra,
});

const CASES: Case[] = [
  {
    // 16 frames. Client: SYN, ACK, segments 1, 3, 2, segment 1 again, [200, 314), ACK, FIN, ACK (10);
    // engine: SYN-ACK, ACK to 240, the same ACK again, ACK to 314, its HL7 ACK, FIN (6).
    // Segment 3 waits for segment 2 (out of order); the resent segment 1 brings nothing new
    // (retransmission); [200, 314) starts 40 bytes before the stream's next byte (overlap).
    file: 'flow-reorder-retransmit.pcap',
    counters: { flows: ONE_TCP_FLOW, ended: AT_END, midstream: 0, ...QUIET, outOfOrder: 1, retransmissions: 1, overlaps: 1, dedup: { checked: 16, suppressed: 0 } },
    endedDuringRun: [],
    endedAtEnd: [hl7Flow(`${MONITOR}:40720`, [10, 6])],
  },
  {
    // 15 frames. Client: SYN, ACK, segment 1, segment 3, ACK, the second result, ACK, FIN, ACK (9);
    // engine: SYN-ACK, ACK of all three segments, HL7 ACK, ACK, HL7 ACK, FIN (6).
    // Segment 3 arrives ahead of the stream (out of order); the engine's ACK covers the hole, so
    // segment 2's bytes are one gap.
    file: 'flow-gap.pcap',
    counters: { flows: ONE_TCP_FLOW, ended: AT_END, midstream: 0, ...QUIET, gaps: 1, gapBytes: GAP_CUTS[2] - GAP_CUTS[1], outOfOrder: 1, dedup: { checked: 15, suppressed: 0 } },
    endedDuringRun: [],
    endedAtEnd: [hl7Flow(`${MONITOR}:40731`, [9, 6])],
  },
  {
    // 9 frames, no SYN; the first comes from port 2575, a service port, so the engine is the server.
    // Client: ACK, result, ACK, FIN, ACK (5); engine: HL7 ACK, ACK, HL7 ACK, FIN (4).
    file: 'flow-midstream.pcap',
    counters: { flows: ONE_TCP_FLOW, ended: AT_END, midstream: 1, ...QUIET, dedup: { checked: 9, suppressed: 0 } },
    endedDuringRun: [],
    endedAtEnd: [hl7Flow(`${MONITOR}:40612`, [5, 4], { midstream: true })],
  },
  {
    // 13 frames. Client: SYN, ACK, segments 1, 3, 2, ACK, FIN, ACK (8); engine: SYN-ACK, duplicate
    // ACK to the end of segment 1 (below 2^32), ACK of all (past the wrap), HL7 ACKs, FIN (5).
    // Only segment 3 waits; nothing is lost, jumped or resent across the wrap.
    file: 'flow-seq-wrap.pcap',
    counters: { flows: ONE_TCP_FLOW, ended: AT_END, midstream: 0, ...QUIET, outOfOrder: 1, dedup: { checked: 13, suppressed: 0 } },
    endedDuringRun: [],
    endedAtEnd: [hl7Flow('10.20.30.42:40688', [8, 5])],
  },
  {
    // 48 frames, three connections. Each print job: handshake, five client pieces each answered by
    // a zero octet and ACKed, FIN/FIN/ACK: 14 frames from the workstation, 7 from the printer. The
    // second job's SYN on the same ports ends the first, closed, connection. The HL7 connection:
    // SYN, ACK, result from the monitor; SYN-ACK, ACK, RST from the engine.
    file: 'flow-fin-rst.pcap',
    counters: { flows: { total: 3, tcp: 3, udp: 0 }, ended: { timeout: 0, closed: 1, end_of_input: 2, reused: 0 }, midstream: 0, ...QUIET, dedup: { checked: 48, suppressed: 0 } },
    endedDuringRun: [
      { proto: 'TCP', from: '192.168.10.25:721', to: '10.1.40.21:515', pkts: [14, 7], endReason: 'closed', reason: 'timeout', tcpState: 'closed', rst: false, midstream: false },
    ],
    endedAtEnd: [
      { proto: 'TCP', from: '192.168.10.25:721', to: '10.1.40.21:515', pkts: [14, 7], endReason: 'end-of-input', reason: 'shutdown', tcpState: 'closed', rst: false, midstream: false },
      hl7Flow('10.20.30.43:40790', [3, 3], { rst: true }),
    ],
  },
  {
    // 12 packets, each twice: 24 frames. Client: SYN, ACK, result, ACK, duplicate ACK, FIN, ACK (7);
    // engine: SYN-ACK, ACK, HL7 ACK, the same HL7 ACK 300 ms later, FIN (5). Each second copy
    // (5-50 µs, other VLAN) is suppressed; the 300 ms resend is not, and reaches the stream as a
    // retransmission. Unsuppressed copies would make a second flow in VLAN 31.
    file: 'flow-span-duplicates.pcap',
    counters: { flows: ONE_TCP_FLOW, ended: AT_END, midstream: 0, ...QUIET, retransmissions: 1, dedup: { checked: 24, suppressed: 12 } },
    endedDuringRun: [],
    endedAtEnd: [hl7Flow('10.20.30.44:40802', [7, 5], { vlan: [SPAN_VLANS.original] })],
  },
  {
    // 23 frames, seconds after 10:46:00. SYN at 0 (TCP new: 60 s), HL7 closed by 0.5 (closed: 10 s),
    // syslog at 1.5 and 41.5 (one-way UDP: 30 s), NTP both ways at 6, 22, 38, 54, 70 (established
    // UDP: 300 s). At 22 the HL7 flow has been closed 22 s; at 38 the first syslog flow has been
    // idle 37 s; at 70 the SYN has waited 70 s. The second syslog message (41.5) starts a new flow,
    // idle only 29 s at 70, and ends with the NTP flow when the input does.
    file: 'flow-timeouts.pcap',
    counters: { flows: { total: 5, tcp: 2, udp: 3 }, ended: { timeout: 2, closed: 1, end_of_input: 2, reused: 0 }, midstream: 0, ...QUIET, dedup: { checked: 23, suppressed: 0 } },
    endedDuringRun: [
      hl7Flow(`${MONITOR}:40655`, [6, 4], { endReason: 'closed', reason: 'timeout' }),
      { proto: 'UDP', from: `${MONITOR}:514`, to: '10.1.5.30:514', pkts: [1, 0], endReason: 'timeout', reason: 'timeout', midstream: false },
      { proto: 'TCP', from: '192.168.10.25:50233', to: '10.1.40.21:9100', pkts: [1, 0], endReason: 'timeout', reason: 'timeout', tcpState: 'syn_sent', midstream: false },
    ],
    endedAtEnd: [
      { proto: 'UDP', from: `${MONITOR}:514`, to: '10.1.5.30:514', pkts: [1, 0], endReason: 'end-of-input', reason: 'shutdown', midstream: false },
      { proto: 'UDP', from: `${MONITOR}:123`, to: '10.1.1.123:123', pkts: [5, 5], endReason: 'end-of-input', reason: 'shutdown', midstream: false },
    ],
  },
];

/** Bytes reassembly hands on: every distinct payload byte the capture holds, each once. */
function delivered(file: string): number {
  const b = FLOW_PAYLOAD_BYTES[file];
  return b.client + b.server - b.notCaptured;
}

function facts(record: EveRecord, expected: FlowFacts): FlowFacts {
  const f: FlowFacts = {
    proto: record.proto,
    from: `${record.src_ip}:${record.src_port}`,
    to: `${record.dest_ip}:${record.dest_port}`,
    pkts: [record.flow.pkts_toserver, record.flow.pkts_toclient],
    endReason: record.wardwatch.end_reason,
    reason: record.flow.reason,
    midstream: record.wardwatch.midstream,
  };
  // Only what the expectation names, so a UDP flow is not asked about TCP state.
  if (expected.tcpState !== undefined) f.tcpState = record.tcp?.state;
  if (expected.rst !== undefined) f.rst = record.tcp?.rst === true;
  if (expected.vlan !== undefined) f.vlan = record.vlan;
  return f;
}

const byEndpoints = (a: FlowFacts, b: FlowFacts): number => `${a.from} ${a.to} ${a.pkts}`.localeCompare(`${b.from} ${b.to} ${b.pkts}`);

/** `name N` pairs of a summary line after its fixed part, e.g. "gaps 1, gap bytes 100". */
function figures(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (text ?? '').split(', ').filter((p) => p !== '')) {
    const m = /^(.*) (\d+)$/.exec(part);
    if (m === null) throw new Error(`not a figure: ${part}`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

function nonZero(entries: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(entries).filter(([, n]) => n !== 0));
}

for (const c of CASES) {
  describe(`wardwatch replay ${c.file}`, () => {
    const path = join(SAMPLES_DIR, c.file);
    const k = c.counters;
    let records: EveRecord[] = [];
    let summary: string[] = [];

    beforeAll(async () => {
      const json = await runCli(['replay', path, '--format', 'json', '--flows', ...WATCHED]);
      expect(json.code, json.stderr).toBe(0);
      records = parseEveLines(json.stdout);
      const text = await runCli(['replay', path, '--format', 'text', ...WATCHED]);
      expect(text.code, text.stderr).toBe(0);
      summary = text.stdout.split('\n');
    });

    const finalStats = (): EveRecord => {
      const all = ofType(records, 'stats');
      expect(all.length).toBeGreaterThan(0);
      return all[all.length - 1];
    };

    it('raises no alert', () => {
      expect(ofType(records, 'alert')).toEqual([]);
    });

    it('reports the flows, their ends and the mid-stream pickups in the final stats record', () => {
      const { stats, wardwatch } = finalStats();
      expect(stats.flow).toEqual({ ...k.flows, active: 0 });
      expect(wardwatch.flow.ended).toEqual({ ...k.ended, evicted: 0 });
      expect(stats.tcp.midstream_pickups).toBe(k.midstream);
    });

    it('reports what reassembly met: order, resends, overlaps, gaps, bytes handed on', () => {
      const { stats, wardwatch } = finalStats();
      expect(stats.tcp).toMatchObject({ reassembly_gap: k.gaps, overlap: k.overlaps, overlap_diff_data: 0, segment_memcap_drop: 0, stream_depth_reached: 0 });
      expect(wardwatch.reassembly).toEqual({
        bytes_delivered: delivered(c.file),
        gap_bytes: k.gapBytes,
        out_of_order: k.outOfOrder,
        retransmissions: k.retransmissions,
        sequence_jumps: 0,
        buffered_bytes: 0,
      });
    });

    it('suppresses exactly the mirror copies', () => {
      expect(finalStats().wardwatch.dedup).toEqual(k.dedup);
    });

    it('writes one flow record per connection or conversation, with its counts and end reason', () => {
      const flows = ofType(records, 'flow');
      expect(flows).toHaveLength(k.flows.total);
      expect(new Set(flows.map((f) => f.flow_id)).size).toBe(flows.length);
      const during = c.endedDuringRun.length;
      expect(flows.slice(0, during).map((f, i) => facts(f, c.endedDuringRun[i]))).toEqual(c.endedDuringRun);
      const atEnd = flows.slice(during);
      const expectedAtEnd = [...c.endedAtEnd].sort(byEndpoints);
      const got = atEnd.map((f) => facts(f, c.endedAtEnd.find((e) => e.from === `${f.src_ip}:${f.src_port}` && e.to === `${f.dest_ip}:${f.dest_port}`) ?? c.endedAtEnd[0]));
      expect(got.sort(byEndpoints)).toEqual(expectedAtEnd);
    });

    it('shows the same figures in the text summary', () => {
      const line = (head: string): string => {
        const found = summary.find((l) => l.startsWith(head.padEnd(9)));
        expect(found, `no "${head}" line in:\n${summary.join('\n')}`).toBeDefined();
        return found!.slice(9);
      };
      const flows = /^(\d+) \(tcp (\d+), udp (\d+)\)(?:; ended by ([^;]*))?(?:; (.*))?$/.exec(line('flows'));
      expect(flows).not.toBeNull();
      expect([Number(flows![1]), Number(flows![2]), Number(flows![3])]).toEqual([k.flows.total, k.flows.tcp, k.flows.udp]);
      expect(figures(flows![4])).toEqual(nonZero({ timeout: k.ended.timeout, closed: k.ended.closed, 'end of input': k.ended.end_of_input }));
      expect(flows![5] ?? '').toBe(k.midstream > 0 ? `${k.midstream} picked up mid-stream` : '');

      const tcp = /^(\d+) bytes reassembled(?:; (.*))?$/.exec(line('tcp'));
      expect(tcp).not.toBeNull();
      expect(Number(tcp![1])).toBe(delivered(c.file));
      expect(figures(tcp![2])).toEqual(
        nonZero({ gaps: k.gaps, 'gap bytes': k.gapBytes, 'out of order': k.outOfOrder, retransmissions: k.retransmissions, overlaps: k.overlaps }),
      );

      expect(line('dedup')).toBe(`${k.dedup.suppressed} duplicates suppressed of ${k.dedup.checked} checked`);
    });
  });
}
