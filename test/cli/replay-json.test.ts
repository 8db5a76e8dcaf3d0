import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINKTYPE, PcapngWriter } from '../../tools/craft/index.js';
import {
  emptyTcpFlow,
  expectedEveTime,
  hl7Flow,
  HOST,
  lines,
  merge,
  MLLP_END,
  ofType,
  packetEndingWith,
  parseEveLines,
  pcapOf,
  runCli,
  tempDir,
  type EveRecord,
  type TempDir,
} from '../support/cli.js';

const EVE_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+0000$/;

let dir: TempDir;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => dir.remove());

function expectValidFlowId(id: unknown): void {
  expect(Number.isSafeInteger(id)).toBe(true);
  expect(id as number).toBeGreaterThan(0);
  expect(id as number).toBeLessThan(2 ** 51);
}

describe('replay --format json', () => {
  it('writes only EVE JSON lines: the alert names the triggering packet, then one stats and one inventory record end the run', async () => {
    const records = hl7Flow();
    const file = dir.file('hl7.pcap', pcapOf(records));
    const trigger = packetEndingWith(records, MLLP_END);
    expect(trigger).toBe(4); // handshake, then the whole message in one segment

    const run = await runCli(['replay', file, '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const eve = parseEveLines(run.stdout);
    expect(eve.map((r) => r.event_type)).toEqual(['alert', 'run', 'stats', 'inventory']);

    const [alert] = ofType(eve, 'alert');
    expect(alert.timestamp).toMatch(EVE_TIMESTAMP);
    expect(alert.timestamp).toBe(expectedEveTime(records[trigger - 1]));
    expectValidFlowId(alert.flow_id);
    expect(alert.pcap_filename).toBe(file);
    expect(alert.pcap_cnt).toBe(trigger);
    expect(alert).toMatchObject({
      src_ip: HOST.monitor,
      src_port: 40422,
      dest_ip: HOST.external,
      dest_port: 515,
      proto: 'TCP',
      direction: 'to_server',
      app_proto: 'hl7',
      alert: { signature_id: 1000002, rev: 1, severity: 1 },
      hl7: { message_type: 'ORU^R01', framing: 'mllp' },
    });

    const [stats] = ofType(eve, 'stats');
    expect(stats.stats.decoder.pkts).toBe(records.length);
    expect(stats.stats.flow.total).toBe(1);
    expect(stats.stats.detect.alert).toBe(1);
    const [inventory] = ofType(eve, 'inventory');
    expect(inventory.inventory.hosts.map((h: EveRecord) => h.address)).toEqual([HOST.monitor]);
    expect(inventory.inventory.hosts[0]).toMatchObject({ speaks: ['HL7'], alerts: [{ signature_id: 1000002, count: 1 }] });
  });

  it('is the default when stdout is not a terminal', async () => {
    const file = dir.file('default-format.pcap', pcapOf(hl7Flow()));
    const run = await runCli(['replay', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(parseEveLines(run.stdout).map((r) => r.event_type)).toEqual(['alert', 'run', 'stats', 'inventory']);
  });

  it('keeps operational logs and the summary on stderr, whatever the log level', async () => {
    const file = dir.file('logs.pcap', pcapOf(hl7Flow()));
    const run = await runCli(['replay', file, '--format', 'json', '--log-level', 'debug']);
    expect(run.code, run.stderr).toBe(0);
    const eve = parseEveLines(run.stdout);
    for (const record of eve) {
      expect(record).not.toHaveProperty('level');
      expect(record).not.toHaveProperty('msg');
      expect(['alert', 'run', 'stats', 'inventory']).toContain(record.event_type);
    }
    // pino's JSON lines: the indicator list of the shipped pack is logged when it loads.
    const logs = lines(run.stderr).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as EveRecord);
    expect(logs.some((l) => typeof l.level === 'number' && /indicator list loaded/.test(l.msg))).toBe(true);
    expect(run.stderr).toMatch(/^alerts\s+1$/m);
  });

  it('--flows adds one flow record per flow; without it there are none', async () => {
    const records = merge(hl7Flow(), emptyTcpFlow({ startSec: 2 }));
    const file = dir.file('two-flows.pcap', pcapOf(records));

    const plain = parseEveLines((await runCli(['replay', file, '--format', 'json'])).stdout);
    expect(ofType(plain, 'flow')).toEqual([]);

    const run = await runCli(['replay', file, '--format', 'json', '--flows']);
    expect(run.code, run.stderr).toBe(0);
    const eve = parseEveLines(run.stdout);
    const flows = ofType(eve, 'flow');
    expect(flows).toHaveLength(2);
    flows.forEach((f) => expectValidFlowId(f.flow_id));
    expect(new Set(flows.map((f) => f.flow_id)).size).toBe(2);
    expect(flows.map((f) => f.dest_port).sort()).toEqual([443, 515]);
    const [alert] = ofType(eve, 'alert');
    const hl7 = flows.find((f) => f.dest_port === 515)!;
    expect(hl7.flow_id).toBe(alert.flow_id);
    expect(hl7.flow.alerted).toBe(true);
    expect(hl7.flow.pkts_toserver + hl7.flow.pkts_toclient).toBe(hl7Flow().length);
    const quiet = flows.find((f) => f.dest_port === 443)!;
    expect(quiet.flow.alerted).toBe(false);
    expect(quiet.flow.pkts_toserver + quiet.flow.pkts_toclient).toBe(emptyTcpFlow().length);
    // Flow records come before the run's closing stats and inventory.
    expect(eve.slice(-2).map((r) => r.event_type)).toEqual(['stats', 'inventory']);
    expect(ofType(eve, 'stats')).toHaveLength(1);
  });
});

describe('replay inputs', () => {
  /**
   * One HL7 conversation whose message is cut into three segments, split between two files: the
   * handshake and the first two segments in b.pcap, the rest in a.pcap.
   */
  function splitConversation(sub: string): { records: ReturnType<typeof hl7Flow>; a: string; b: string; firstOfA: number } {
    const records = hl7Flow({ mss: 120 });
    const trigger = packetEndingWith(records, MLLP_END);
    expect(trigger).toBe(6); // 3 handshake packets, then three segments of the message
    const firstOfA = trigger - 1; // 0-based index of the first record written to a.pcap
    const b = dir.file(`${sub}-b.pcap`, pcapOf(records.slice(0, firstOfA)));
    const a = dir.file(`${sub}-a.pcap`, pcapOf(records.slice(firstOfA)));
    return { records, a, b, firstOfA };
  }

  it('merges several files in timestamp order, so a conversation split across them is one flow', async () => {
    const { records, a, b, firstOfA } = splitConversation('split');
    // a.pcap is named first, but b.pcap holds the earlier packets.
    const run = await runCli(['replay', a, b, '--format', 'json', '--flows']);
    expect(run.code, run.stderr).toBe(0);
    const eve = parseEveLines(run.stdout);
    const alerts = ofType(eve, 'alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0].alert.signature_id).toBe(1000002);
    // The message ends in a.pcap's first packet.
    expect(alerts[0].pcap_filename).toBe(a);
    expect(alerts[0].pcap_cnt).toBe(1);
    expect(alerts[0].timestamp).toBe(expectedEveTime(records[firstOfA]));
    const flows = ofType(eve, 'flow');
    expect(flows).toHaveLength(1);
    expect(flows[0].flow.pkts_toserver + flows[0].flow.pkts_toclient).toBe(records.length);
    expect(flows[0].flow.start).toBe(expectedEveTime(records[0]));
    expect(flows[0].flow.end).toBe(expectedEveTime(records[records.length - 1]));
    expect(ofType(eve, 'stats')[0].stats.decoder.pkts).toBe(records.length);
  });

  it('reads the capture files of a directory argument and skips other files', async () => {
    const sub = tempDir();
    try {
      const records = hl7Flow({ mss: 120 });
      const cut = packetEndingWith(records, MLLP_END) - 1;
      sub.file('b.pcap', pcapOf(records.slice(0, cut)));
      sub.file('a.pcap', pcapOf(records.slice(cut)));
      sub.file('README.txt', 'notes about these captures\n');
      sub.file('a.pcap.expected.json', '{"alerts":{"1000002":1}}\n');
      const run = await runCli(['replay', sub.path, '--format', 'json', '--flows']);
      expect(run.code, run.stderr).toBe(0);
      const eve = parseEveLines(run.stdout);
      expect(ofType(eve, 'alert').map((r) => r.alert.signature_id)).toEqual([1000002]);
      expect(ofType(eve, 'alert')[0].pcap_filename).toBe(join(sub.path, 'a.pcap'));
      expect(ofType(eve, 'flow')).toHaveLength(1);
      expect(ofType(eve, 'stats')[0].stats.decoder.pkts).toBe(records.length);
    } finally {
      sub.remove();
    }
  });

  it('-r reads a capture as in tcpdump, and is repeatable', async () => {
    const { records, a, b } = splitConversation('dash-r');
    const run = await runCli(['replay', '-r', a, '-r', b, '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const eve = parseEveLines(run.stdout);
    expect(ofType(eve, 'alert').map((r) => r.alert.signature_id)).toEqual([1000002]);
    expect(ofType(eve, 'stats')[0].stats.decoder.pkts).toBe(records.length);
  });

  it('- reads a capture piped to standard input', async () => {
    const records = hl7Flow();
    const run = await runCli(['replay', '-', '--format', 'json'], { stdin: pcapOf(records) });
    expect(run.code, run.stderr).toBe(0);
    const eve = parseEveLines(run.stdout);
    const alerts = ofType(eve, 'alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0].pcap_filename).toBe('<stdin>');
    expect(alerts[0].pcap_cnt).toBe(packetEndingWith(records, MLLP_END));
    expect(ofType(eve, 'stats')[0].stats.decoder.pkts).toBe(records.length);
  });

  it('reads pcapng (nanosecond timestamps) from a file and from standard input', async () => {
    const records = hl7Flow();
    const w = new PcapngWriter();
    w.section();
    const iface = w.addInterface({ linkType: LINKTYPE.ETHERNET, tsresol: { base: 10, exponent: 9 } });
    for (const r of records) w.enhanced(iface, r);
    const file = dir.file('hl7.pcapng', w.toBuffer());
    const fromFile = parseEveLines((await runCli(['replay', file, '--format', 'json'])).stdout);
    const fromStdin = parseEveLines((await runCli(['replay', '-', '--format', 'json'], { stdin: readFileSync(file) })).stdout);
    for (const eve of [fromFile, fromStdin]) {
      const [alert] = ofType(eve, 'alert');
      expect(alert.alert.signature_id).toBe(1000002);
      expect(alert.pcap_cnt).toBe(packetEndingWith(records, MLLP_END));
      expect(alert.timestamp).toBe(expectedEveTime(records[alert.pcap_cnt - 1]));
    }
  });
});
