/**
 * The network outputs against real servers started here on loopback (redis-server, rsyslogd):
 * every record of a replay arrives complete and in order, a server stopped in the middle of a run
 * loses no alert, a spool that fills keeps alerts before other records and counts what it lost,
 * and what is left in the spool at exit is sent first at the next start.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI_MAIN, CLI_NODE_FLAGS, cms8000Flow, merge, ofType, parseEveLines, pcapOf, REPO_ROOT, runCli, tempDir, type EveRecord, type TempDir } from '../support/cli.js';
import { eventually, freePort, makeTestCa, RedisServer, Rsyslog } from '../support/servers.js';

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir('wardwatch-netout-');
});
afterEach(() => {
  tmp.remove();
});

/** A capture of `n` CMS8000 streams to the backdoor address, ten seconds apart: two alerts each. */
function streams(n: number, firstPort = 40000): Buffer {
  return pcapOf(merge(...Array.from({ length: n }, (_, i) => cms8000Flow({ clientPort: firstPort + i, startSec: i * 10 }))));
}

/** Records as the outputs should carry them; stats and inventory records are stamped by each output as it writes them. */
function comparable(records: readonly EveRecord[]): EveRecord[] {
  return records.map((r) => (r.event_type === 'stats' || r.event_type === 'inventory' ? { ...r, timestamp: undefined } : r));
}

/**
 * A replay of `pcap` from standard input in three parts, the server down during the second:
 * `stop` is called once the first part's alerts have reached the server, `start` once the second
 * part's alerts were raised. Resolves with what the command wrote.
 */
async function replayAcrossAnOutage(
  pcap: Buffer,
  url: string,
  server: { delivered: () => Promise<number>; stop: () => Promise<void>; start: () => Promise<void> },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cut = [0, Math.floor(pcap.length / 3), Math.floor((2 * pcap.length) / 3), pcap.length];
  const child = spawn(process.execPath, [...CLI_NODE_FLAGS, CLI_MAIN, 'replay', '-', '--format', 'json', '--output', url, '--log-level', 'info'], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const raised = () => ofType(parseEveLines(stdout), 'alert').length;

  child.stdin.write(pcap.subarray(cut[0], cut[1]));
  const first = await eventually(() => (raised() > 0 ? raised() : undefined), 'alerts of the first part');
  await eventually(async () => ((await server.delivered()) >= first ? true : undefined), 'the first alerts at the server');
  await server.stop();
  child.stdin.write(pcap.subarray(cut[1], cut[2]));
  await eventually(() => (raised() > first ? true : undefined), 'alerts while the server is down');
  await eventually(() => (/output unreachable/.test(stderr) ? true : undefined), 'the output to say the server is unreachable');
  await server.start();
  await eventually(() => (/output reachable again/.test(stderr) ? true : undefined), 'the output to say the server is back', 20_000);
  child.stdin.end(pcap.subarray(cut[2], cut[3]));
  return { code: await exited, stdout, stderr };
}

function outputLine(summary: string, name: string): string {
  return summary.split('\n').find((l) => l.startsWith('output') && l.includes(name)) ?? '';
}

describe('the Redis output', () => {
  let redis: RedisServer;
  beforeEach(async () => {
    redis = await RedisServer.start(tmp.path);
  });
  afterEach(async () => {
    await redis.stop();
  });

  const withClient = <T>(use: (client: RedisTestClient) => Promise<T>) => withClientOn(redis.port, use);

  for (const mode of ['list', 'rpush', 'stream', 'channel'] as const) {
    it(`delivers every record of a replay, complete and in order (mode ${mode})`, async () => {
      const capture = tmp.file('streams.pcap', streams(5));
      const key = `eve-${mode}`;
      const received: string[] = [];
      const subscriber = newClient(redis.port);
      if (mode === 'channel') {
        await subscriber.connect();
        await subscriber.subscribe(key, (message) => received.push(message));
      }
      try {
        const url = `redis://127.0.0.1:${redis.port}/${key}?mode=${mode}&spool_dir=${join(tmp.path, 'spool')}`;
        const run = await runCli(['replay', capture, '--format', 'json', '--flows', '--output', url]);
        expect(run.stderr).not.toMatch(/error|unreachable/i);
        expect(run.code).toBe(0);
        const expected = parseEveLines(run.stdout);
        expect(ofType(expected, 'alert')).toHaveLength(10);
        let got: string[];
        if (mode === 'channel') {
          got = await eventually(() => (received.length >= expected.length ? received : undefined), 'published records');
        } else {
          got = await withClient(async (client) => {
            if (mode === 'stream') return (await client.xRange(key, '-', '+'))!.map((entry) => (entry as unknown as { message: Record<string, string> }).message.eve);
            const items = await client.lRange(key, 0, -1);
            // LPUSH puts the newest first: a consumer takes the oldest with RPOP.
            return mode === 'list' ? items.reverse() : items;
          });
        }
        expect(comparable(got.map((j) => JSON.parse(j) as EveRecord))).toEqual(comparable(expected));
        expect(outputLine(run.stderr, key)).toContain(`${expected.length} sent, 0 spooled, 0 dropped`);
      } finally {
        subscriber.destroy();
      }
    });
  }

  it('loses no alert when the server stops in the middle of a run and starts again, and says what was spooled', async () => {
    const url = `redis://127.0.0.1:${redis.port}/eve?mode=rpush&spool_dir=${join(tmp.path, 'spool')}`;
    const delivered = () => withClient(async (c) => (await c.lRange('eve', 0, -1)).filter((j) => JSON.parse(j).event_type === 'alert').length);
    const { code, stdout, stderr } = await replayAcrossAnOutage(streams(12), url, { delivered, stop: () => redis.stop(), start: () => redis.start() });
    expect(code).toBe(0);

    const expected = ofType(parseEveLines(stdout), 'alert');
    expect(expected).toHaveLength(24);
    const got = await withClient(async (c) => (await c.lRange('eve', 0, -1)).map((j) => JSON.parse(j) as EveRecord));
    expect(ofType(got, 'alert')).toEqual(expected);
    expect(stderr.match(/output unreachable/g)).toHaveLength(1);
    expect(stderr.match(/output reachable again/g)).toHaveLength(1);
    const line = outputLine(stderr, 'redis://');
    const spooled = Number(/(\d+) spooled/.exec(line)?.[1]);
    expect(spooled).toBeGreaterThan(0);
    expect(line).toMatch(/ 0 dropped, 1 reconnects$/);
    // The final stats record, in Redis too, says the same.
    const stats = ofType(got, 'stats').at(-1)!;
    const name = `redis://127.0.0.1:${redis.port}/eve`;
    // It was made before the output closed: what was spooled after (the final records themselves) is not in it.
    expect(stats.wardwatch.output.spooled[name]).toBeGreaterThan(0);
    expect(stats.wardwatch.output.spooled[name]).toBeLessThanOrEqual(spooled);
    expect(stats.wardwatch.output.reconnects[name]).toBe(1);
  }, 60_000);

  it('keeps what it could not send in the spool and sends it first at the next start', async () => {
    const port = await freePort();
    const spool = join(tmp.path, 'spool');
    const url = `redis://127.0.0.1:${port}/eve?mode=rpush&spool_dir=${spool}`;
    const first = await runCli(['replay', tmp.file('a.pcap', streams(2)), '--format', 'json', '--output', url]);
    // A server down at start is no configuration error: the records wait in the spool.
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/output unreachable/);
    expect(outputLine(first.stderr, 'redis://')).toMatch(/0 sent, (\d+) spooled, 0 dropped, 0 reconnects; \1 left in the spool/);

    const later = await RedisServer.start(tmp.path, port);
    try {
      const second = await runCli(['replay', tmp.file('b.pcap', streams(1, 41000)), '--format', 'json', '--output', url]);
      expect(second.code).toBe(0);
      const got = await withClientOn(port, async (c) => (await c.lRange('eve', 0, -1)).map((j) => JSON.parse(j) as EveRecord));
      const expected = [...parseEveLines(first.stdout), ...parseEveLines(second.stdout)];
      expect(comparable(got)).toEqual(comparable(expected));
    } finally {
      await later.stop();
    }
  });

  it('when the spool fills, drops flow records before alerts, and counts and logs the alerts it loses', async () => {
    const port = await freePort();
    const spool = join(tmp.path, 'spool');
    // Room for a few records: the first ones are kept, then flow records are dropped and pushed out
    // to keep alerts, then alerts themselves are lost.
    const url = `redis://127.0.0.1:${port}/eve?mode=rpush&spool_dir=${spool}&spool_max_bytes=8192&queue_max=1`;
    const run = await runCli(['replay', tmp.file('many.pcap', streams(6)), '--format', 'json', '--flows', '--output', url]);
    const all = parseEveLines(run.stdout);
    const line = outputLine(run.stderr, 'redis://');
    const dropped = Number(/(\d+) dropped/.exec(line)?.[1]);
    expect(dropped).toBeGreaterThan(0);
    expect(run.stderr).toMatch(/spool full \(8192 bytes\): flow, stats and inventory records are being dropped to keep alerts/);
    expect(run.stderr).toMatch(/spool full \(8192 bytes\): alerts are being lost/);
    // Losing alerts fails the run.
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/failed: alerts lost: spool full/);

    const later = await RedisServer.start(tmp.path, port);
    try {
      await runCli(['replay', tmp.file('none.pcap', pcapOf([])), '--format', 'json', '--output', url.replace('queue_max=1', 'queue_max=100')]);
      const got = await withClientOn(port, async (c) => (await c.lRange('eve', 0, -1)).map((j) => JSON.parse(j) as EveRecord));
      const kept = got.filter((r) => r.timestamp < '2026').filter((r) => r.event_type !== 'stats' && r.event_type !== 'inventory');
      // What was kept are alerts only, in the order they were raised, none of them twice.
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.every((r) => r.event_type === 'alert')).toBe(true);
      const raised = ofType(all, 'alert').map((r) => JSON.stringify(r));
      const positions = kept.map((r) => raised.indexOf(JSON.stringify(r)));
      expect(positions.every((p) => p >= 0)).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      expect(new Set(positions).size).toBe(positions.length);
      // Every record is either delivered or counted as dropped.
      expect(kept.length + ofType(all, 'flow').length).toBeLessThanOrEqual(all.length);
    } finally {
      await later.stop();
    }
  });
});

const newClient = (port: number, password?: string) => createClient({ socket: { host: '127.0.0.1', port }, password });
type RedisTestClient = ReturnType<typeof newClient>;

async function withClientOn<T>(port: number, use: (client: RedisTestClient) => Promise<T>): Promise<T> {
  const client = newClient(port);
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

describe('the Redis output to a server that asks for a password', () => {
  it('authenticates with the password of the URL, which no message shows', async () => {
    const port = await freePort();
    const server = await RedisServer.start(tmp.path, port, 'w4rd-s3cret');
    try {
      const url = `redis://:w4rd-s3cret@127.0.0.1:${port}/eve?mode=rpush&spool_dir=${join(tmp.path, 'spool')}`;
      const run = await runCli(['replay', tmp.file('one.pcap', streams(1)), '--format', 'json', '--output', url]);
      expect(run.code).toBe(0);
      expect(run.stderr).not.toContain('w4rd-s3cret');
      const client = newClient(port, 'w4rd-s3cret');
      await client.connect();
      try {
        expect(comparable((await client.lRange('eve', 0, -1)).map((j) => JSON.parse(j) as EveRecord))).toEqual(comparable(parseEveLines(run.stdout)));
      } finally {
        client.destroy();
      }
      // A wrong password is a server that does not take the records: they wait in the spool.
      const wrong = await runCli(['replay', tmp.file('two.pcap', streams(1, 41000)), '--format', 'json', '--output', url.replace('w4rd-s3cret', 'wrong')]);
      expect(wrong.code).toBe(0);
      expect(wrong.stderr).toMatch(/output unreachable/);
      expect(outputLine(wrong.stderr, 'redis://')).toMatch(/0 sent, \d+ spooled/);
    } finally {
      await server.stop();
    }
  });
});

describe('the syslog output', () => {
  let rsyslog: Rsyslog | null = null;
  afterEach(async () => {
    await rsyslog?.stop();
    rsyslog = null;
  });

  /** RFC 5424 severities: alert severity 1 critical (2), 2 error (3), 3 warning (4); other records informational (6). */
  function expectSyslog(lines: Awaited<ReturnType<Rsyslog['lines']>>, expected: EveRecord[]): void {
    expect(lines.map((l) => l.msgid)).toEqual(expected.map((r) => r.event_type));
    expect(comparable(lines.map((l) => JSON.parse(l.msg) as EveRecord))).toEqual(comparable(expected));
    for (const [i, l] of lines.entries()) {
      expect(l.app).toBe('wardwatch');
      expect(l.facility).toBe(21);
      expect(l.severity).toBe(expected[i].event_type === 'alert' ? expected[i].alert.severity + 1 : 6);
    }
  }

  for (const transport of ['tcp', 'udp', 'tls'] as const) {
    it(`delivers every record of a replay to rsyslog, complete and in order (syslog+${transport})`, async () => {
      const ca = transport === 'tls' ? makeTestCa(tmp.path) : undefined;
      rsyslog = await Rsyslog.start(tmp.path, { tls: ca });
      const port = transport === 'udp' ? rsyslog.udpPort : rsyslog.tcpPort;
      const options = [`spool_dir=${join(tmp.path, 'spool')}`];
      if (ca !== undefined) options.push(`ca=${ca.ca}`, `cert=${ca.clientCert}`, `key=${ca.clientKey}`);
      // Over UDP, records beyond what a datagram safely carries are not sent at all: raise the limit here.
      if (transport === 'udp') options.push('max_message=65000');
      const url = `syslog+${transport}://127.0.0.1:${port}?${options.join('&')}`;
      const run = await runCli(['replay', tmp.file('streams.pcap', streams(4)), '--format', 'json', '--flows', '--output', url]);
      expect(run.stderr).not.toMatch(/error|unreachable/i);
      expect(run.code).toBe(0);
      const expected = parseEveLines(run.stdout);
      expectSyslog(await rsyslog.waitForLines(expected.length), expected);
    });
  }

  it('loses no alert when rsyslog stops in the middle of a run and starts again (syslog+tcp)', async () => {
    const server = await Rsyslog.start(tmp.path);
    rsyslog = server;
    const url = `syslog+tcp://127.0.0.1:${server.tcpPort}?spool_dir=${join(tmp.path, 'spool')}`;
    const delivered = async () => server.lines().filter((l) => l.msgid === 'alert').length;
    const { code, stdout, stderr } = await replayAcrossAnOutage(streams(12), url, { delivered, stop: () => server.stop(), start: () => server.restart() });
    expect(code).toBe(0);
    const expected = ofType(parseEveLines(stdout), 'alert');
    expect(expected).toHaveLength(24);
    const received = await eventually(() => {
      const alerts = server.lines().filter((l) => l.msgid === 'alert');
      return alerts.length >= expected.length ? alerts : undefined;
    }, 'every alert in rsyslog');
    expect(received.map((l) => JSON.parse(l.msg) as EveRecord)).toEqual(expected);
    expect(outputLine(stderr, 'syslog+tcp://')).toMatch(/ [1-9]\d* spooled, 0 dropped, 1 reconnects$/);
  }, 60_000);

  it('refuses a TLS server whose certificate does not chain to the configured CA, and spools instead', async () => {
    const ca = makeTestCa(tmp.path);
    rsyslog = await Rsyslog.start(tmp.path, { tls: ca });
    const other = tempDir('wardwatch-otherca-');
    try {
      const otherCa = makeTestCa(other.path);
      const url = `syslog+tls://127.0.0.1:${rsyslog.tcpPort}?ca=${otherCa.ca}&cert=${ca.clientCert}&key=${ca.clientKey}&spool_dir=${join(tmp.path, 'spool')}&drain_timeout=1`;
      const run = await runCli(['replay', tmp.file('one.pcap', streams(1)), '--format', 'json', '--output', url]);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/output unreachable.*|certificate/);
      expect(outputLine(run.stderr, 'syslog+tls://')).toMatch(/0 sent, \d+ spooled/);
      expect(rsyslog.lines()).toEqual([]);
    } finally {
      other.remove();
    }
  });

  it('over UDP, counts a record longer than max_message and does not cut it; the alert is whole in the other outputs', async () => {
    rsyslog = await Rsyslog.start(tmp.path);
    const url = `syslog+udp://127.0.0.1:${rsyslog.udpPort}?max_message=1024&spool_dir=${join(tmp.path, 'spool')}`;
    const run = await runCli(['replay', tmp.file('streams.pcap', streams(2)), '--format', 'json', '--output', url]);
    expect(run.code).toBe(0);
    const all = parseEveLines(run.stdout);
    expect(ofType(all, 'alert')).toHaveLength(4);
    expect(run.stderr).toMatch(/alert record longer than a datagram may safely be: not sent over UDP \(not cut\); it is whole in the other outputs/);
    const oversize = Number(/(\d+) too long for a datagram/.exec(outputLine(run.stderr, 'syslog+udp://'))?.[1]);
    expect(oversize).toBeGreaterThan(0);
    const lines = await rsyslog.waitForLines(all.length - oversize);
    // What arrived is whole and in order; what did not is what could not fit.
    const received = comparable(lines.map((l) => JSON.parse(l.msg) as EveRecord)).map((r) => JSON.stringify(r));
    const sent = comparable(all)
      .map((r) => JSON.stringify(r))
      .filter((json) => received.includes(json));
    expect(received).toEqual(sent);
    for (const [i, r] of comparable(all).entries()) {
      const json = JSON.stringify(r);
      const size = Buffer.byteLength(JSON.stringify(all[i]));
      if (size > 1024) expect(received).not.toContain(json);
      if (size < 1024 - 300) expect(received).toContain(json);
    }
    expect(all.some((r) => r.event_type === 'alert' && Buffer.byteLength(JSON.stringify(r)) > 1024)).toBe(true);
  });
});
