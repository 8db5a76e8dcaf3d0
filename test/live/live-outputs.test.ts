/**
 * Outputs in a live run: one that fails is reported at once and not again within the minute, its
 * dropped records are counted in every stats record, and the other outputs get every alert; a
 * Redis server stopped in the middle of the run and started again loses no alert; a stop signal
 * ends the run within 2 s even while Redis does not answer, and what was not sent waits in the
 * spool for the next start; nor does an EVE FIFO nobody reads hold the stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stalledFifo } from '../support/stalled-fifo.js';
import { LiveRun, PCAPS, VethBench, liveTestsEnabled, type EveRecord } from './live-harness.js';

const SAMPLE = join(PCAPS, 'cms8000-to-indicator.pcap');

function records(path: string): EveRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => JSON.parse(l) as EveRecord);
}

type OutputCounters = Record<'sent' | 'dropped' | 'spooled' | 'reconnects', Record<string, number>>;
const countersOf = (r: EveRecord) => (r as unknown as { wardwatch: { output: OutputCounters } }).wardwatch.output;

describe.runIf(liveTestsEnabled())('outputs of a live run', () => {
  let bench: VethBench;
  let tmp: string;
  let runs: LiveRun[] = [];
  let servers: ChildProcess[] = [];

  beforeAll(async () => {
    bench = await VethBench.create();
    tmp = mkdtempSync(join(tmpdir(), 'wardwatch-live-outputs-'));
    // The servers listen on the capture namespace's loopback.
    await new Promise<void>((resolve, reject) =>
      spawn('ip', ['-n', bench.captureNs, 'link', 'set', 'lo', 'up'])
        .on('close', (code) => (code === 0 ? resolve() : reject(new Error('lo up failed'))))
        .on('error', reject),
    );
  });

  afterEach(() => {
    for (const r of runs) r.kill();
    runs = [];
    for (const s of servers) if (s.exitCode === null) s.kill('SIGKILL');
    servers = [];
  });

  afterAll(async () => {
    await bench?.destroy();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('reports a failing output once, counts its dropped records in the stats, and keeps the others whole', async () => {
    const good = join(tmp, 'good.json');
    const run = new LiveRun(bench.captureNs, ['-i', bench.captureIf, '--format', 'json', '--eve', '/dev/full', '--output', `file:${good}`, '--stats-interval', '0.5'], good);
    runs.push(run);
    await run.waitForLog(/^capture started$/);
    await bench.send([SAMPLE]);
    await run.waitFor('the alerts in the good output', () => records(good).filter((r) => r.event_type === 'alert').length >= 2);
    // Several stats intervals, each with a record the failed output cannot take.
    await run.waitFor('stats counting the dropped records', () => {
      const stats = records(good).filter((r) => r.event_type === 'stats');
      return stats.length >= 4 && (countersOf(stats.at(-1)!).dropped['eve:/dev/full'] ?? 0) >= 5;
    });
    expect(run.running).toBe(true);
    const stats = records(good).filter((r) => r.event_type === 'stats');
    const dropped = stats.map((s) => countersOf(s).dropped['eve:/dev/full']);
    expect([...dropped].sort((a, b) => a - b)).toEqual(dropped);
    expect(countersOf(stats.at(-1)!).sent[`eve:${good}`]).toBeGreaterThan(2);
    // Once at once; not again within the minute.
    expect(run.stderr.match(/output eve:\/dev\/full: write failed: ENOSPC/g)).toHaveLength(1);
    expect(run.stderr).not.toMatch(/output still failing/);
    const end = await run.stop();
    expect(end.code).toBe(2);
    expect(run.stderr).toMatch(/^output\s+eve:\/dev\/full failed: ENOSPC/m);
  });

  /** redis-server inside the capture namespace, its data in `dir`. */
  async function startRedis(port: number, dir = tmp): Promise<ChildProcess> {
    const server = spawn('ip', ['netns', 'exec', bench.captureNs, 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir], { stdio: 'ignore' });
    servers.push(server);
    await waitForRedis(bench.captureNs, port);
    return server;
  }

  function redisCli(port: number, ...args: string[]): Promise<string> {
    return new Promise<string>((resolve) => {
      let out = '';
      const child = spawn('ip', ['netns', 'exec', bench.captureNs, 'redis-cli', '-p', String(port), '--raw', ...args]);
      child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
      child.on('close', () => resolve(out));
    });
  }

  const eveLines = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as EveRecord);

  it('loses no alert when the Redis server stops in the middle of the run and starts again', async () => {
    const ns = bench.captureNs;
    const port = 16379;
    let server = await startRedis(port);

    const eve = join(tmp, 'live-redis.json');
    const url = `redis://127.0.0.1:${port}/eve?mode=rpush&spool_dir=${join(tmp, 'spool')}`;
    const run = new LiveRun(ns, ['-i', bench.captureIf, '--format', 'json', '--eve', eve, '--output', url, '--stats-interval', '0.5'], eve);
    runs.push(run);
    await run.waitForLog(/^capture started$/);
    const alertsIn = async () => (await redisCli(port, 'LRANGE', 'eve', '0', '-1')).split('\n').filter((l) => l.includes('"event_type":"alert"')).length;

    await bench.send([SAMPLE]);
    await run.waitFor('the first alerts', () => run.eve().filter((r) => r.event_type === 'alert').length >= 2);
    await waitUntil(async () => (await alertsIn()) >= 2, 'the first alerts in Redis');

    const stopped = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await stopped;
    await run.waitForLog(/output unreachable/);
    // The same conversation again, on other ports: new flows, new alerts, while Redis is down.
    await bench.send([join(PCAPS, 'hl7-to-indicator-511.pcap')]);
    await run.waitFor('alerts while Redis is down', () => run.eve().filter((r) => r.event_type === 'alert').length > 2);
    server = await startRedis(port);
    await run.waitForLog(/output reachable again/, 30_000);
    const end = await run.stop();
    expect(end.code).toBe(0);

    const expected = run.eve().filter((r) => r.event_type === 'alert');
    const got = eveLines(await redisCli(port, 'LRANGE', 'eve', '0', '-1'));
    expect(got.filter((r) => r.event_type === 'alert')).toEqual(expected);
    const last = got.filter((r) => r.event_type === 'stats').at(-1)!;
    const name = `redis://127.0.0.1:${port}/eve`;
    expect(countersOf(last).spooled[name]).toBeGreaterThan(0);
    expect(countersOf(last).reconnects[name]).toBe(1);
  }, 90_000);

  it('ends within 2 s of SIGINT while Redis has stopped answering; what it could not send is delivered at the next start', async () => {
    const port = 16380;
    const server = await startRedis(port, mkdtempSync(join(tmp, 'redis-stalled-')));
    const spool = join(tmp, 'spool-stalled');
    const url = `redis://127.0.0.1:${port}/eve?mode=rpush&spool_dir=${spool}`;
    const eve = join(tmp, 'stalled.json');
    const run = new LiveRun(bench.captureNs, ['-i', bench.captureIf, '--format', 'json', '--eve', eve, '--output', url, '--log-level', 'info'], eve);
    runs.push(run);
    await run.waitForLog(/^capture started$/);
    // A server that takes connections and commands and answers none (its drain_timeout is 5 s).
    server.kill('SIGSTOP');
    try {
      await bench.send([SAMPLE]);
      await run.waitFor('the alerts', () => run.eve().filter((r) => r.event_type === 'alert').length >= 2);
      const sent = performance.now();
      const end = await run.stop('SIGINT', 10_000);
      const elapsedMs = performance.now() - sent;
      expect(end.code).toBe(0);
      expect(elapsedMs).toBeLessThan(2000);
      expect(run.logs().find((l) => /stay in the spool/.test(l.msg))?.records).toBeGreaterThan(0);
      expect(run.stderr).toMatch(/left in the spool for the next start/);
    } finally {
      server.kill('SIGCONT');
    }
    const expected = run.eve().filter((r) => r.event_type === 'alert');

    const next = new LiveRun(bench.captureNs, ['-i', bench.captureIf, '--format', 'json', '--output', url, '--log-level', 'info'], null);
    runs.push(next);
    await next.waitForLog(/sent first/);
    await waitUntil(async () => eveLines(await redisCli(port, 'LRANGE', 'eve', '0', '-1')).filter((r) => r.event_type === 'alert').length >= expected.length, 'the spooled alerts in Redis');
    expect((await next.stop()).code).toBe(0);
    const got = eveLines(await redisCli(port, 'LRANGE', 'eve', '0', '-1'));
    expect(got.filter((r) => r.event_type === 'alert')).toEqual(expected);
  }, 60_000);

  it('ends within 2 s of SIGTERM while the connection to Redis is never accepted', async () => {
    const port = 16381;
    // A listener whose accept queue is full and never served: SYNs go unanswered, as behind a
    // firewall that drops them, and the client's connect stays pending (its timeout is 10 s).
    const blackhole = spawn('ip', ['netns', 'exec', bench.captureNs, process.execPath, '-e', NEVER_ACCEPTS, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    servers.push(blackhole);
    await new Promise((resolve) => blackhole.stdout!.once('data', resolve));
    const run = new LiveRun(bench.captureNs, ['-i', bench.captureIf, '--format', 'json', '--output', `redis://127.0.0.1:${port}/eve?spool_dir=${join(tmp, 'spool-blackhole')}`, '--log-level', 'info'], null);
    runs.push(run);
    await run.waitForLog(/^capture started$/);
    await bench.send([SAMPLE]);
    await run.waitFor('the alerts', () => /"event_type":"alert"/.test(run.stdout));
    const sent = performance.now();
    const end = await run.stop('SIGTERM', 15_000);
    expect(end.code).toBe(0);
    expect(performance.now() - sent).toBeLessThan(2000);
    expect(run.stderr).toMatch(/^output\s+redis:\/\/127\.0\.0\.1:16381\/eve: 0 sent, .* left in the spool for the next start/m);
  }, 30_000);

  it('ends within 2 s of SIGTERM while its EVE file is not being read, and counts what it could not write', async () => {
    const fifo = join(tmp, 'stalled-eve.fifo');
    const { reader, ready } = stalledFifo(fifo);
    servers.push(reader);
    await ready;
    const run = new LiveRun(bench.captureNs, ['-i', bench.captureIf, '--format', 'json', '--eve', fifo, '--stats-interval', '0.2'], null);
    runs.push(run);
    await run.waitForLog(/^capture started$/);
    await bench.send([SAMPLE]);
    // Stats records every 0.2 s (a kilobyte and more each) soon fill the page.
    await new Promise((r) => setTimeout(r, 1500));
    const sent = performance.now();
    const end = await run.stop('SIGTERM', 15_000);
    expect(performance.now() - sent, run.stderr).toBeLessThan(2000);
    expect(end.code).toBe(2);
    const line = /^output\s+eve:\S+stalled-eve\.fifo failed: not taking records by the stop deadline; \d+ records written, (\d+) not delivered$/m.exec(run.stderr);
    expect(line, run.stderr).not.toBeNull();
    expect(Number(line![1])).toBeGreaterThan(0);
  }, 30_000);
});

/** Listens with room for two pending connections, fills them itself, then never runs its event loop again. */
const NEVER_ACCEPTS = `
const net = require('node:net');
const port = Number(process.argv[1]);
net.createServer().listen({ host: '127.0.0.1', port, backlog: 1 }, () => {
  for (let i = 0; i < 3; i++) net.connect(port, '127.0.0.1');
  process.nextTick(() => {
    process.stdout.write('ready\\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  });
});
`;

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForRedis(ns: string, port: number): Promise<void> {
  await waitUntil(
    () =>
      new Promise<boolean>((resolve) => {
        let out = '';
        const child = spawn('ip', ['netns', 'exec', ns, 'redis-cli', '-p', String(port), 'PING']);
        child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
        child.on('close', () => resolve(out.trim() === 'PONG'));
      }),
    'redis-server to answer',
  );
}
