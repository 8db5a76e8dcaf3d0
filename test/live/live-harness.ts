/**
 * Live-capture test bench: two network namespaces joined by a veth pair, wardwatch capturing on
 * one end, tcpreplay sending sample captures from the other. Traffic never leaves the namespaces.
 * Needs root (namespaces, raw sockets) and tcpdump, tcpreplay and iproute2.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CLI_MAIN, CLI_NODE_FLAGS } from '../support/cli.js';

const run = promisify(execFile);

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export { CLI_MAIN };
export const PCAPS = join(REPO_ROOT, 'pcaps');

/** Why live tests cannot run here, or null when they can. */
export function liveTestBlocker(): string | null {
  if (process.getuid?.() !== 0) return 'live-capture tests need root (network namespaces, raw sockets)';
  for (const tool of ['tcpdump', 'tcpreplay', 'ip']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `live-capture tests need ${tool}: apt-get install tcpdump tcpreplay iproute2`;
    }
  }
  if (!existsSync(CLI_MAIN)) return `${CLI_MAIN} is missing: build first with "npx tsc -p tsconfig.build.json" (npm test does)`;
  return null;
}

/**
 * Runs the live tests where they can run; in CI a missing prerequisite is a failure, never a
 * silent skip. Locally, a non-root user skips them.
 */
export function liveTestsEnabled(): boolean {
  const blocker = liveTestBlocker();
  if (blocker === null) return true;
  if (process.env.CI) throw new Error(`${blocker} (CI is set, so these tests must run)`);
  if (process.getuid?.() !== 0) return false;
  throw new Error(blocker);
}

let benches = 0;

/** Two namespaces and a veth pair with names unique to this run; IPv6 is off so the links stay silent. */
export class VethBench {
  readonly captureNs: string;
  readonly senderNs: string;
  readonly captureIf: string;
  readonly senderIf: string;

  private constructor(tag: number) {
    const id = `${process.pid}-${tag}`;
    this.captureNs = `ww-${id}-a`;
    this.senderNs = `ww-${id}-b`;
    // Interface names are at most 15 bytes.
    this.captureIf = `ww${process.pid % 1e6}x${tag}a`;
    this.senderIf = `ww${process.pid % 1e6}x${tag}b`;
  }

  static async create(): Promise<VethBench> {
    const bench = new VethBench(++benches);
    try {
      for (const ns of [bench.captureNs, bench.senderNs]) {
        await ip('netns', 'add', ns);
        // Without IPv6 the interfaces send no router solicitations or MLD reports: the only
        // packets on the link are the ones a test sends.
        await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      }
      await bench.createLink();
    } catch (err) {
      await bench.destroy();
      throw err;
    }
    return bench;
  }

  async createLink(): Promise<void> {
    await ip('link', 'add', this.captureIf, 'netns', this.captureNs, 'type', 'veth', 'peer', 'name', this.senderIf, 'netns', this.senderNs);
    await ip('-n', this.captureNs, 'link', 'set', this.captureIf, 'up');
    await ip('-n', this.senderNs, 'link', 'set', this.senderIf, 'up');
  }

  /** Deletes the capture end of the link (which takes its peer with it). */
  async deleteLink(): Promise<void> {
    await ip('-n', this.captureNs, 'link', 'del', this.captureIf);
  }

  /** Sends capture files from the sender end, in order, as tcpreplay does. */
  async send(files: readonly string[], rate: 'topspeed' | number = 2000, loop = 1): Promise<void> {
    const speed = rate === 'topspeed' ? ['--topspeed'] : ['--pps', String(rate)];
    await run('ip', ['netns', 'exec', this.senderNs, 'tcpreplay', '-q', '-i', this.senderIf, ...speed, '--loop', String(loop), ...files], { timeout: 60_000 });
  }

  async destroy(): Promise<void> {
    for (const ns of [this.captureNs, this.senderNs]) {
      await ip('netns', 'del', ns).catch(() => undefined);
    }
  }
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args, { timeout: 10_000 });
}

export interface EveRecord {
  event_type: string;
  [key: string]: unknown;
}

/** A running `wardwatch live` inside the capture namespace. */
export class LiveRun {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(ns: string, args: readonly string[], readonly evePath: string | null) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...CLI_NODE_FLAGS, CLI_MAIN, 'live', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.stdout += s));
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** Log records (pino JSON lines on stderr). */
  logs(): Array<{ level: number; msg: string; [key: string]: unknown }> {
    return this.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string });
  }

  eve(): EveRecord[] {
    if (this.evePath === null || !existsSync(this.evePath)) return [];
    return readFileSync(this.evePath, 'utf8')
      .split('\n')
      .filter((l) => l.endsWith('}'))
      .map((l) => JSON.parse(l) as EveRecord);
  }

  /** Packets analysed, by the latest stats record. */
  packetsSeen(): number {
    const stats = this.eve().filter((r) => r.event_type === 'stats');
    const last = stats[stats.length - 1] as unknown as { stats: { decoder: { pkts: number } } } | undefined;
    return last?.stats.decoder.pkts ?? 0;
  }

  async waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (!this.running) throw new Error(`wardwatch exited while waiting for ${what}; stderr:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async waitForLog(msg: RegExp, timeoutMs?: number): Promise<void> {
    await this.waitFor(`log ${msg}`, () => this.logs().some((l) => msg.test(l.msg)), timeoutMs);
  }

  async stop(sig: NodeJS.Signals = 'SIGINT', timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.signal(sig);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

/**
 * Runs the built CLI to completion: in a namespace when `ns` is given, under `wrap` (a command
 * such as setpriv or env that then runs node) when given.
 */
export async function runCli(args: readonly string[], options: { ns?: string; wrap?: string[] } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const command = [...(options.ns ? ['ip', 'netns', 'exec', options.ns] : []), ...(options.wrap ?? []), process.execPath, ...CLI_NODE_FLAGS, CLI_MAIN, ...args];
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Alerts as comparable keys: signature id and both endpoints. */
export function alertKeys(records: readonly EveRecord[]): string[] {
  return records
    .filter((r) => r.event_type === 'alert')
    .map((r) => {
      const a = r as unknown as { alert: { signature_id: number }; src_ip: string; src_port?: number; dest_ip: string; dest_port?: number };
      return `${a.alert.signature_id} ${a.src_ip}:${a.src_port ?? ''} -> ${a.dest_ip}:${a.dest_port ?? ''}`;
    })
    .sort();
}

/** What `wardwatch replay` finds in the same files: its EVE records. */
export async function replayRecords(files: readonly string[], extra: readonly string[] = []): Promise<EveRecord[]> {
  const result = await runCli(['replay', ...files, '--format', 'json', '--log-level', 'warn', ...extra]);
  if (result.code !== 0) throw new Error(`replay failed (${result.code}): ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as EveRecord);
}

/** Packets the decoder saw in a replay (its final stats record). */
export function packetCount(records: readonly EveRecord[]): number {
  const stats = records.filter((r) => r.event_type === 'stats');
  return (stats[stats.length - 1] as unknown as { stats: { decoder: { pkts: number } } }).stats.decoder.pkts;
}

/**
 * Writes the records [from, to) of a classic pcap file (header kept) to `out`, so a capture can be
 * sent in two parts.
 */
export function slicePcap(file: string, out: string, from: number, to: number): void {
  const buf = readFileSync(file);
  const le = buf.readUInt32LE(0) === 0xa1b2c3d4 || buf.readUInt32LE(0) === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${file} is not a classic pcap`);
  const parts: Buffer[] = [buf.subarray(0, 24)];
  let at = 24;
  for (let n = 0; at + 16 <= buf.length; n++) {
    const caplen = le ? buf.readUInt32LE(at + 8) : buf.readUInt32BE(at + 8);
    if (n >= from && n < to) parts.push(buf.subarray(at, at + 16 + caplen));
    at += 16 + caplen;
  }
  writeFileSync(out, Buffer.concat(parts));
}
