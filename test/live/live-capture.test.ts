import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ethernet, ipv4, LINKTYPE, PcapWriter, tcp } from '../../tools/craft/index.js';
import { ADT, ORU, mllp } from '../analyzers/hl7-fixtures.js';
import { LiveRun, PCAPS, REPO_ROOT, VethBench, alertKeys, liveTestsEnabled, packetCount, replayRecords, runCli, slicePcap, type EveRecord } from './live-harness.js';

/** The backdoor scenarios when present; otherwise Ethernet samples that raise alerts. */
function detectionSamples(): string[] {
  const scenarios = ['cms8000-to-indicator.pcap', 'busybox-nfs-mount-udp.pcap', 'hl7-to-indicator-511.pcap'].map((f) => join(PCAPS, f));
  if (scenarios.every((f) => existsSync(f))) return scenarios;
  return ['link-ethernet.pcap', 'tunnel-gre.pcap', 'link-vlan.pcap'].map((f) => join(PCAPS, f));
}

function lastStats(records: readonly EveRecord[]): { decoder: { pkts: number }; capture?: { kernel_packets: number; kernel_drops: number } } {
  const stats = records.filter((r) => r.event_type === 'stats');
  expect(stats.length).toBeGreaterThan(0);
  return (stats[stats.length - 1] as unknown as { stats: ReturnType<typeof lastStats> }).stats;
}

function countOf(records: readonly EveRecord[], sid: number): number {
  return records.filter((r) => r.event_type === 'alert' && (r as unknown as { alert: { signature_id: number } }).alert.signature_id === sid).length;
}

describe.runIf(liveTestsEnabled())('wardwatch live on a mirror port (veth pair between namespaces)', () => {
  let bench: VethBench;
  let tmp: string;
  let runs: LiveRun[] = [];
  let eves = 0;

  beforeAll(async () => {
    bench = await VethBench.create();
    tmp = mkdtempSync(join(tmpdir(), 'wardwatch-live-'));
  });

  afterEach(() => {
    for (const r of runs) r.kill();
    runs = [];
  });

  afterAll(async () => {
    await bench?.destroy();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** Starts `wardwatch live` on the capture end and waits until it captures. */
  async function startLive(args: string[] = []): Promise<LiveRun> {
    const eve = join(tmp, `eve-${++eves}.json`);
    const run = new LiveRun(bench.captureNs, ['-i', bench.captureIf, '--format', 'json', '--eve', eve, '--stats-interval', '0.5', ...args], eve);
    runs.push(run);
    await run.waitForLog(/^capture started$/);
    return run;
  }

  it('raises the same alerts live as replay does on the same captures', async () => {
    const files = detectionSamples();
    const replayed = await replayRecords(files);
    const expected = alertKeys(replayed);
    expect(expected.length).toBeGreaterThan(0);
    const packets = packetCount(replayed);

    const run = await startLive();
    await bench.send(files, 2000);
    await run.waitFor(`${packets} packets analysed`, () => run.packetsSeen() >= packets);
    const exit = await run.stop('SIGINT');

    expect(exit.code).toBe(0);
    const records = run.eve();
    expect(alertKeys(records)).toEqual(expected);
    for (const alert of records.filter((r) => r.event_type === 'alert')) expect(alert.in_iface).toBe(bench.captureIf);
    const final = lastStats(records);
    expect(final.decoder.pkts).toBe(packets);
    expect(final.capture).toEqual({ kernel_packets: packets, kernel_drops: 0 });
  });

  it('captures a burst at full speed without losing packets', async () => {
    const file = join(PCAPS, 'link-ethernet.pcap');
    const perLoop = packetCount(await replayRecords([file]));
    const loops = 2000;
    const run = await startLive();
    await bench.send([file], 'topspeed', loops);
    await run.waitFor('the burst analysed', () => run.packetsSeen() >= perLoop * loops, 30_000);
    expect((await run.stop('SIGINT')).code).toBe(0);

    const final = lastStats(run.eve());
    expect(final.decoder.pkts).toBe(perLoop * loops);
    expect(final.capture).toEqual({ kernel_packets: perLoop * loops, kernel_drops: 0 });
  });

  it('on SIGTERM ends open flows, writes final stats and exits 0', async () => {
    const file = join(PCAPS, 'link-ethernet.pcap');
    const replayed = await replayRecords([file]);
    const run = await startLive();
    await bench.send([file]);
    await run.waitFor('the capture analysed', () => run.packetsSeen() >= packetCount(replayed));
    const exit = await run.stop('SIGTERM');

    expect(exit).toEqual({ code: 0, signal: null });
    const records = run.eve();
    expect(alertKeys(records)).toEqual(alertKeys(replayed));
    // The run ends with the final stats record, then the inventory.
    expect(records.slice(-2).map((r) => r.event_type)).toEqual(['stats', 'inventory']);
    const final = lastStats(records) as unknown as { flow: { active: number }; capture: { kernel_packets: number } };
    expect(final.flow.active).toBe(0);
    expect(final.capture.kernel_packets).toBe(packetCount(replayed));
  });

  it('reloads rules on SIGHUP, keeping the rules in force when the new ones are broken', async () => {
    const rules = join(tmp, 'rules-hup');
    cpSync(join(REPO_ROOT, 'rules'), rules, { recursive: true });
    const run = await startLive(['--rules', rules]);

    await bench.send([join(PCAPS, 'link-ethernet.pcap')]);
    await run.waitFor('the indicator alert', () => countOf(run.eve(), 1000001) === 1);

    // A broken rule file: the reload fails, the rules in force stay.
    writeFileSync(join(rules, 'contec-cms8000.yaml'), 'rules:\n  - id: [broken\n');
    run.signal('SIGHUP');
    await run.waitForLog(/rule reload failed/);
    expect(run.running).toBe(true);
    await bench.send([join(PCAPS, 'tunnel-gre.pcap')]);
    // tunnel-gre carries the LPD session to the indicator twice, in two flows.
    await run.waitFor('indicator alerts under the old rules', () => countOf(run.eve(), 1000001) === 3);

    // A good change: the shipped pack back, plus a rule for DNS.
    cpSync(join(REPO_ROOT, 'rules', 'contec-cms8000.yaml'), join(rules, 'contec-cms8000.yaml'));
    writeFileSync(
      join(rules, 'local.yaml'),
      'rules:\n  - id: 9000001\n    name: DNS query\n    category: Local policy\n    severity: 3\n    match:\n      proto: udp\n      server_port: 53\n      at: packet\n',
    );
    expect(countOf(run.eve(), 9000001)).toBe(0);
    run.signal('SIGHUP');
    await run.waitForLog(/^rules reloaded$/);
    await bench.send([join(PCAPS, 'link-vlan.pcap')]);
    await run.waitFor('an alert from the new rule', () => countOf(run.eve(), 9000001) === 1);
    expect(countOf(run.eve(), 1000001)).toBe(4);
    expect((await run.stop('SIGINT')).code).toBe(0);
  });

  it('follows a flow no rule watched, so a rule added on SIGHUP sees its next message', async () => {
    const rules = join(tmp, 'rules-watch');
    cpSync(join(REPO_ROOT, 'rules'), rules, { recursive: true });
    const run = await startLive(['--rules', rules]);
    // Internal HL7 (monitor to interface engine): no shipped rule applies to it.
    const mac = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
    const frame = (fromClient: boolean, flags: string, seq: number, ack: number, payload?: Uint8Array) =>
      ethernet(
        mac,
        ipv4(
          fromClient ? { src: '10.1.6.10', dst: '10.1.5.20' } : { src: '10.1.5.20', dst: '10.1.6.10' },
          tcp({ sport: fromClient ? 40100 : 2575, dport: fromClient ? 2575 : 40100, flags, seq, ack }, payload === undefined ? undefined : Buffer.from(payload)),
        ),
      );
    const first = mllp(ORU);
    const second = mllp(ADT);
    const t = 1_738_231_200;
    const opening = new PcapWriter({ linkType: LINKTYPE.ETHERNET });
    opening.add({ sec: t, nsec: 0, data: frame(true, 'S', 1000, 0) });
    opening.add({ sec: t, nsec: 100_000, data: frame(false, 'SA', 5000, 1001) });
    opening.add({ sec: t, nsec: 200_000, data: frame(true, 'A', 1001, 5001) });
    opening.add({ sec: t, nsec: 300_000, data: frame(true, 'PA', 1001, 5001, first) });
    opening.add({ sec: t, nsec: 400_000, data: frame(false, 'A', 5001, 1001 + first.length) });
    const later = new PcapWriter({ linkType: LINKTYPE.ETHERNET });
    later.add({ sec: t + 1, nsec: 0, data: frame(true, 'PA', 1001 + first.length, 5001, second) });
    later.add({ sec: t + 1, nsec: 100_000, data: frame(false, 'A', 5001, 1001 + first.length + second.length) });
    const openingFile = join(tmp, 'hl7-opening.pcap');
    const laterFile = join(tmp, 'hl7-later.pcap');
    writeFileSync(openingFile, opening.toBuffer());
    writeFileSync(laterFile, later.toBuffer());

    await bench.send([openingFile]);
    await run.waitFor('the opening analysed', () => run.eve().some((r) => r.event_type === 'stats' && lastStats([r]).decoder.pkts >= 5));
    writeFileSync(
      join(rules, 'local.yaml'),
      'rules:\n  - id: 9000002\n    name: HL7 to the interface engine\n    category: Local policy\n    severity: 3\n    match:\n      server: 10.1.5.20\n      event: { type: hl7.message }\n',
    );
    run.signal('SIGHUP');
    await run.waitForLog(/^rules reloaded$/);
    await bench.send([laterFile]);
    await run.waitFor('an alert on the message after the reload', () => countOf(run.eve(), 9000002) === 1);
    expect((await run.stop('SIGINT')).code).toBe(0);
  });

  it('keeps its flows and re-opens the capture when the interface is deleted and comes back', async () => {
    const file = join(PCAPS, 'link-ethernet.pcap');
    const later = join(PCAPS, 'tunnel-gre.pcap');
    const replayed = await replayRecords([file]);
    const replayedLater = await replayRecords([later]);
    // The LPD session to the indicator is split across the outage: SYN and first data before it,
    // the rest after. Had the flow been lost, its second half would be a new flow and alert again.
    const before = join(tmp, 'before.pcap');
    const after = join(tmp, 'after.pcap');
    slicePcap(file, before, 0, 6);
    slicePcap(file, after, 6, Infinity);
    const run = await startLive();
    await bench.send([before]);
    await run.waitFor('the first part analysed', () => run.packetsSeen() >= 6);

    await bench.deleteLink();
    await run.waitForLog(/^capture stopped/);
    const warning = run.logs().find((l) => /^capture stopped/.test(l.msg))!;
    expect(warning.level).toBe(40);
    expect(warning.interface).toBe(bench.captureIf);
    await new Promise((r) => setTimeout(r, 1500));
    expect(run.running).toBe(true);

    await bench.createLink();
    await run.waitForLog(/^capture re-opened$/, 40_000);
    // The rest of the session, then new traffic that alerts on its own.
    await bench.send([after, later]);
    const total = packetCount(replayed) + packetCount(replayedLater);
    await run.waitFor('everything after the outage analysed', () => run.packetsSeen() >= total);
    expect((await run.stop('SIGINT')).code).toBe(0);

    const records = run.eve();
    expect(alertKeys(records)).toEqual([...alertKeys(replayed), ...alertKeys(replayedLater)].sort());
    expect(lastStats(records).decoder.pkts).toBe(total);
  });

  it('lists the capture devices of the namespace with wardwatch interfaces', async () => {
    const json = await runCli(['interfaces', '--json'], { ns: bench.captureNs });
    expect(json.code).toBe(0);
    const devices = JSON.parse(json.stdout) as Array<{ name: string; addresses: string[]; loopback: boolean }>;
    expect(devices.map((d) => d.name)).toEqual(expect.arrayContaining([bench.captureIf, 'lo', 'any']));
    expect(devices.find((d) => d.name === 'lo')!.loopback).toBe(true);

    const table = await runCli(['interfaces'], { ns: bench.captureNs });
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+ADDRESSES\s+DESCRIPTION$/);
    expect(table.stdout).toMatch(new RegExp(`^${bench.captureIf}\\s`, 'm'));
  });

  it('exits 2 with one line naming a missing interface and listing the others', async () => {
    const result = await runCli(['live', '-i', 'ww-missing0'], { ns: bench.captureNs });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^wardwatch: error: interface 'ww-missing0' does not exist/);
    expect(lines[0]).toContain(bench.captureIf);
  });

  it('exits 2 with tcpdump\'s own message for a bad capture filter', async () => {
    const result = await runCli(['live', '-i', bench.captureIf, '-f', 'tcp port'], { ns: bench.captureNs });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual(["wardwatch: error: bad capture filter 'tcp port': can't parse filter expression: syntax error"]);
  });

  it('exits 2 explaining the capabilities needed when capturing is not permitted', async () => {
    // Root without CAP_NET_RAW and CAP_NET_ADMIN, for the whole process tree.
    const result = await runCli(['live', '-i', bench.captureIf], {
      ns: bench.captureNs,
      wrap: ['setpriv', '--inh-caps=-all', '--bounding-set=-net_raw,-net_admin'],
    });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`no permission to capture on '${bench.captureIf}'`);
    expect(lines[0]).toContain('CAP_NET_RAW');
    expect(lines[0]).toContain('setcap cap_net_raw,cap_net_admin=eip');
  });

  it('exits 2 saying how to install tcpdump when it is missing', async () => {
    const result = await runCli(['live', '-i', bench.captureIf], { ns: bench.captureNs, wrap: ['env', 'PATH=/nonexistent'] });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/tcpdump, which is not installed.*apt-get install tcpdump libpcap0\.8/);
  });
});
