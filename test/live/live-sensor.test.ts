/**
 * wardwatch live as a service: log rotation (rename, SIGHUP) loses and repeats no record, output
 * files are appended to across restarts, a stop signal at any moment ends the run within 2 s with
 * its final stats, tcpdump dies with a killed wardwatch, and a quiet mirror port is reported.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ethernet, ipv4, LINKTYPE, PcapWriter, udp } from '../../tools/craft/index.js';
import { LiveRun, REPO_ROOT, VethBench, liveTestsEnabled, type EveRecord } from './live-harness.js';

function records(path: string): EveRecord[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  // Every line whole: a record cut by the rotation would fail to parse here.
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as EveRecord);
}

const alertsOf = (rs: readonly EveRecord[]) => rs.filter((r) => r.event_type === 'alert');
const sourcePort = (r: EveRecord) => (r as unknown as { src_port: number }).src_port;

/** `count` UDP flows from a HOME_NET host to the backdoor address, one packet each: one indicator alert per flow. */
function indicatorFlows(path: string, count: number, firstPort: number): void {
  const pcap = new PcapWriter({ linkType: LINKTYPE.ETHERNET });
  for (let i = 0; i < count; i++) {
    const frame = ethernet({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' }, ipv4({ src: '10.1.6.10', dst: '202.114.4.119' }, udp({ sport: firstPort + i, dport: 9999 }, Buffer.from('x'))));
    pcap.add({ sec: 1_738_231_200 + i, nsec: 0, data: frame });
  }
  writeFileSync(path, pcap.toBuffer());
}

/** The tcpdump processes whose parent is `pid`. */
function tcpdumpChildren(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (/^Name:\s+tcpdump$/m.test(status) && new RegExp(`^PPid:\\s+${pid}$`, 'm').test(status)) found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(liveTestsEnabled())('wardwatch live as a service', () => {
  let bench: VethBench;
  let tmp: string;
  let runs: LiveRun[] = [];

  beforeAll(async () => {
    bench = await VethBench.create();
    tmp = mkdtempSync(join(tmpdir(), 'wardwatch-sensor-'));
  });

  afterEach(() => {
    for (const r of runs) r.kill();
    runs = [];
  });

  afterAll(async () => {
    await bench?.destroy();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  function start(eve: string, extra: string[] = []): LiveRun {
    const run = new LiveRun(bench.captureNs, ['-i', bench.captureIf, '--format', 'json', '--eve', eve, ...extra], eve);
    runs.push(run);
    return run;
  }

  it('on SIGHUP after a rename, the old file keeps what came before and the new one what came after, nothing lost or repeated', async () => {
    const flows = 60;
    const sample = join(tmp, 'rotation.pcap');
    indicatorFlows(sample, flows, 20000);
    const eve = join(tmp, 'rotate.json');
    const rotated = `${eve}.1`;
    const run = start(eve, ['--stats-interval', '0.3']);
    await run.waitForLog(/^capture started$/);

    // 60 flows at 30 packets/s: the rename and SIGHUP land in the middle of the traffic.
    const sending = bench.send([sample], 30);
    await run.waitFor('a third of the alerts', () => alertsOf(records(eve)).length >= flows / 3);
    renameSync(eve, rotated);
    run.signal('SIGHUP');
    await run.waitForLog(/^output files reopened$/);
    await sending;
    await run.waitFor('every alert', () => alertsOf(records(rotated)).length + alertsOf(records(eve)).length >= flows);
    expect((await run.stop('SIGINT')).code).toBe(0);

    const before = records(rotated);
    const after = records(eve);
    const ports = [...alertsOf(before), ...alertsOf(after)].map(sourcePort);
    expect(ports.sort((a, b) => a - b)).toEqual(Array.from({ length: flows }, (_, i) => 20000 + i));
    expect(alertsOf(before).length).toBeGreaterThan(0);
    expect(alertsOf(after).length).toBeGreaterThan(0);
    // What came before the reopen, then what came after: neither the packets' times (alerts) nor
    // the clock's (stats records) interleave.
    for (const type of ['alert', 'stats']) {
      const times = (rs: readonly EveRecord[]) => rs.filter((r) => r.event_type === type).map((r) => String(r.timestamp));
      expect(times(before).sort().at(-1)! <= times(after).sort()[0], type).toBe(true);
    }
    // The run ends in the new file, and every stats record is in exactly one file.
    expect(after.slice(-2).map((r) => r.event_type)).toEqual(['stats', 'inventory']);
    const stats = [...before, ...after].filter((r) => r.event_type === 'stats').map((r) => (r as unknown as { stats: { uptime: number; decoder: { pkts: number } } }).stats.decoder.pkts);
    expect([...stats].sort((a, b) => a - b)).toEqual(stats);
    expect(stats.at(-1)).toBe(flows);
  });

  it('rotates with the shipped logrotate file: the rotated file and the new one hold every alert once', async () => {
    const logs = join(tmp, 'logrotate');
    mkdirSync(logs);
    const eve = join(logs, 'eve.json');
    const sample = join(tmp, 'logrotate.pcap');
    indicatorFlows(sample, 40, 24000);
    const run = start(eve, ['--stats-interval', '0.3']);
    await run.waitForLog(/^capture started$/);
    // The shipped file with this test's directory, no owner to create files for (no such user
    // here), and the signal sent to this run rather than to the service.
    const conf = join(tmp, 'logrotate.conf');
    writeFileSync(
      conf,
      readFileSync(join(REPO_ROOT, 'deploy/logrotate/wardwatch'), 'utf8')
        .replace('/var/log/wardwatch/*.json', `${logs}/*.json`)
        .replace(/create 0640 wardwatch wardwatch/, 'create 0640')
        .replace(/systemctl kill .*$/m, `kill -HUP ${run.child.pid}`),
    );
    const sending = bench.send([sample], 30);
    await run.waitFor('some alerts', () => alertsOf(records(eve)).length >= 10);
    const rotation = spawnSync('logrotate', ['-f', '-s', join(tmp, 'logrotate.state'), conf], { encoding: 'utf8' });
    expect(rotation.status, rotation.stderr).toBe(0);
    await run.waitForLog(/^output files reopened$/);
    await sending;
    const rotatedFile = () => readdirSync(logs).find((f) => f !== 'eve.json');
    await run.waitFor('every alert', () => alertsOf(records(join(logs, rotatedFile()!))).length + alertsOf(records(eve)).length >= 40);
    expect((await run.stop('SIGINT')).code).toBe(0);
    expect(rotatedFile()).toMatch(/^eve\.json-\d{8}$/);
    const before = alertsOf(records(join(logs, rotatedFile()!)));
    const after = alertsOf(records(eve));
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    expect([...before, ...after].map(sourcePort).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => 24000 + i));
  });

  it('appends to the EVE file across two runs', async () => {
    const eve = join(tmp, 'append.json');
    const first = join(tmp, 'append-1.pcap');
    const second = join(tmp, 'append-2.pcap');
    indicatorFlows(first, 3, 21000);
    indicatorFlows(second, 2, 22000);
    for (const [sample, n] of [
      [first, 3],
      [second, 2],
    ] as const) {
      const run = start(eve, ['--stats-interval', '0.3']);
      await run.waitForLog(/^capture started$/);
      const had = alertsOf(records(eve)).length;
      await bench.send([sample], 100);
      await run.waitFor(`${n} alerts`, () => alertsOf(records(eve)).length >= had + n);
      expect((await run.stop('SIGINT')).code).toBe(0);
    }
    const all = records(eve);
    expect(alertsOf(all).map(sourcePort)).toEqual([21000, 21001, 21002, 22000, 22001]);
    // Each run's own ending: stats, inventory; twice.
    expect(all.filter((r) => r.event_type === 'inventory')).toHaveLength(2);
  });

  it('ends within 2 s of a SIGINT or SIGTERM sent at any moment of start-up or capture, with its final stats', async () => {
    const delays = [0, 0, 5, 20, 50, 100, 200, 300, 500, 700, 1000, 1500, 2000, 3000];
    for (let i = 0; i < 6; i++) delays.push(Math.floor(Math.random() * 3000));
    const outcomes: string[] = [];
    for (const [i, delayMs] of delays.entries()) {
      const eve = join(tmp, `signal-${i}.json`);
      const run = start(eve, ['--log-level', 'info']);
      const sig: NodeJS.Signals = i % 2 === 0 ? 'SIGINT' : 'SIGTERM';
      if (delayMs > 0) await sleep(delayMs);
      const children = tcpdumpChildren(run.child.pid!);
      const sent = performance.now();
      run.signal(sig);
      const exit = await Promise.race([run.exited, sleep(5000).then(() => null)]);
      const elapsedMs = performance.now() - sent;
      expect(exit, `still running 5 s after ${sig} at ${delayMs} ms`).not.toBeNull();
      expect(elapsedMs, `${sig} at ${delayMs} ms`).toBeLessThan(2000);
      await sleep(200);
      for (const pid of children) expect(alive(pid), `tcpdump ${pid} after ${sig} at ${delayMs} ms`).toBe(false);
      if (exit!.code === 0) {
        // The summary (on stderr, stdout carries JSON) and the final stats record.
        expect(run.stderr).toMatch(/^alerts\s+\d+/m);
        expect(records(eve).slice(-2).map((r) => r.event_type)).toEqual(['stats', 'inventory']);
        outcomes.push(`stats in ${Math.round(elapsedMs)} ms`);
      } else {
        // Only inside Node's own start-up, before any of wardwatch's code runs: the signal's
        // default action ends it at once, and nothing had started.
        expect(exit, `${sig} at ${delayMs} ms: ${run.stderr}`).toEqual({ code: null, signal: sig });
        expect(run.stderr).toBe('');
        expect(existsSync(eve)).toBe(false);
        expect(delayMs).toBeLessThan(1000);
        outcomes.push(`before start, ${Math.round(elapsedMs)} ms`);
      }
    }
    // Most signals reach a running program.
    expect(outcomes.filter((o) => o.startsWith('stats')).length, outcomes.join(', ')).toBeGreaterThan(delays.length / 2);
    if (process.env.WARDWATCH_SHOW_OUTCOMES) process.stderr.write(`signal outcomes: ${delays.map((d, i) => `${d} ms: ${outcomes[i]}`).join('; ')}\n`);
  }, 180_000);

  it('leaves no tcpdump behind when wardwatch itself is killed with SIGKILL', async () => {
    const run = start(join(tmp, 'killed.json'));
    await run.waitForLog(/^capture started$/);
    const children = tcpdumpChildren(run.child.pid!);
    expect(children).toHaveLength(1);
    run.signal('SIGKILL');
    await run.exited;
    const deadline = Date.now() + 1000;
    while (alive(children[0]) && Date.now() < deadline) await sleep(20);
    expect(alive(children[0])).toBe(false);
  });

  it('warns once when the interface goes quiet and says so when packets arrive again', async () => {
    const eve = join(tmp, 'quiet.json');
    const sample = join(tmp, 'quiet.pcap');
    indicatorFlows(sample, 3, 23000);
    const run = start(eve, ['--stats-interval', '0.5', '--no-packet-warning', '2']);
    await run.waitForLog(/^capture started$/);
    await run.waitForLog(/^no packet captured for a while/, 10_000);
    const warning = run.logs().find((l) => /^no packet captured/.test(l.msg))!;
    expect(warning.level).toBe(40);
    expect(warning.interface).toBe(bench.captureIf);
    await sleep(1500);
    expect(run.logs().filter((l) => /^no packet captured/.test(l.msg))).toHaveLength(1);
    const quietStats = records(eve).filter((r) => r.event_type === 'stats').at(-1) as unknown as { wardwatch: { capture: { quiet_seconds: number; interval_packets: number } } };
    expect(quietStats.wardwatch.capture.quiet_seconds).toBeGreaterThanOrEqual(2);
    expect(quietStats.wardwatch.capture.interval_packets).toBe(0);

    await bench.send([sample], 100);
    await run.waitForLog(/^packets are arriving again$/, 10_000);
    await run.waitFor('stats counting the packets', () =>
      records(eve).some((r) => r.event_type === 'stats' && (r as unknown as { wardwatch: { capture: { interval_packets: number } } }).wardwatch.capture.interval_packets > 0),
    );
    expect((await run.stop('SIGINT')).code).toBe(0);
    const stats = records(eve).filter((r) => r.event_type === 'stats') as unknown as Array<{ wardwatch: { capture: { interval_packets: number } } }>;
    // Per interval, adding up to what was sent.
    expect(stats.reduce((sum, s) => sum + s.wardwatch.capture.interval_packets, 0)).toBe(3);
    expect(run.logs().filter((l) => /^no packet captured/.test(l.msg))).toHaveLength(1);
  });
});
