/**
 * Outputs in a live run: one that fails is reported at once and not again within the minute, its
 * dropped records are counted in every stats record, and the other outputs get every alert; a
 * Redis server stopped in the middle of the run and started again loses no alert.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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

  it('loses no alert when the Redis server stops in the middle of the run and starts again', async () => {
    const ns = bench.captureNs;
    await new Promise<void>((resolve, reject) =>
      spawn('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
        .on('close', (code) => (code === 0 ? resolve() : reject(new Error('lo up failed'))))
        .on('error', reject),
    );
    const port = 16379;
    const startRedis = async () => {
      const server = spawn('ip', ['netns', 'exec', ns, 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', tmp], { stdio: 'ignore' });
      servers.push(server);
      await waitForRedis(ns, port);
      return server;
    };
    const redisCli = (...args: string[]) =>
      new Promise<string>((resolve) => {
        let out = '';
        const child = spawn('ip', ['netns', 'exec', ns, 'redis-cli', '-p', String(port), '--raw', ...args]);
        child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
        child.on('close', () => resolve(out));
      });
    let server = await startRedis();

    const eve = join(tmp, 'live-redis.json');
    const url = `redis://127.0.0.1:${port}/eve?mode=rpush&spool_dir=${join(tmp, 'spool')}`;
    const run = new LiveRun(ns, ['-i', bench.captureIf, '--format', 'json', '--eve', eve, '--output', url, '--stats-interval', '0.5'], eve);
    runs.push(run);
    await run.waitForLog(/^capture started$/);
    const alertsIn = async () => (await redisCli('LRANGE', 'eve', '0', '-1')).split('\n').filter((l) => l.includes('"event_type":"alert"')).length;

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
    server = await startRedis();
    await run.waitForLog(/output reachable again/, 30_000);
    const end = await run.stop();
    expect(end.code).toBe(0);

    const expected = run.eve().filter((r) => r.event_type === 'alert');
    const got = (await redisCli('LRANGE', 'eve', '0', '-1'))
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as EveRecord);
    expect(got.filter((r) => r.event_type === 'alert')).toEqual(expected);
    const last = got.filter((r) => r.event_type === 'stats').at(-1)!;
    const name = `redis://127.0.0.1:${port}/eve`;
    expect(countersOf(last).spooled[name]).toBeGreaterThan(0);
    expect(countersOf(last).reconnects[name]).toBe(1);
  }, 90_000);
});

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
