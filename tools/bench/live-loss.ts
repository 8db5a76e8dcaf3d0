/**
 * Live-capture loss at increasing packet rates: `wardwatch live` captures on one end of a veth
 * pair between two network namespaces while tcpreplay sends a fixed number of packets from the
 * other end at each rate. Traffic never leaves the namespaces. Needs root, tcpdump, tcpreplay and
 * iproute2.
 *
 * Each rate gets a wardwatch of its own, stopped with SIGINT once it has analysed everything it
 * will: its final stats record then holds exact counts for that rate alone.
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { launcherNodeFlags } from '../launcher-flags.js';

const execFileAsync = promisify(execFile);

/** Loss below this share of the packets sent counts as none. */
export const LOSS_THRESHOLD_PERCENT = 0.1;
export const DEFAULT_LIVE_PACKETS = 200_000;
/** How often wardwatch writes stats while a rate runs. */
const STATS_INTERVAL_SEC = 0.5;
/**
 * The analysed count must stand still this long before wardwatch is stopped: longer than
 * tcpdump's 1 s buffer time-out plus one stats interval, so nothing is still on its way.
 */
const SETTLE_MS = 2500;

export interface LiveLossOptions {
  /** A classic pcap whose first packets are sent (looped when it holds fewer). */
  capture: string;
  /** Requested packets per second, in the order they run. */
  rates: number[];
  /** Packets sent at each rate. */
  packets?: number;
  /** The built CLI, dist/bin/wardwatch.js. */
  cli: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface LiveLossRow {
  requestedPps: number;
  /** What tcpreplay reports it achieved ("Rated: ... pps"). */
  achievedPps: number;
  achievedMbitPerSecond: number;
  /** tcpreplay's successful packets. */
  sent: number;
  /** Packets tcpreplay could not send (not counted in `sent`). */
  sendFailed: number;
  /** stats.decoder.pkts of wardwatch's final stats record. */
  analysed: number;
  /** stats.capture.kernel_packets: packets libpcap received from the kernel. */
  kernelPackets: number;
  /** stats.capture.kernel_drops: packets the kernel dropped for want of capture buffer. */
  kernelDrops: number;
  /** Packets the veth pair dropped before any capture could see them (sender's tx_dropped). */
  linkDrops: number;
  /** (sent - analysed) / sent, in percent. */
  lossPercent: number;
}

export interface LiveLossResult {
  packetsPerRate: number;
  /** The sample sent: the capture's first `packets` packets, looped `loops` times at most. */
  sample: { packets: number; meanFrameBytes: number; loops: number };
  rows: LiveLossRow[];
  thresholdPercent: number;
  /** The highest requested rate with loss under the threshold, or null. */
  highestCleanPps: number | null;
  seconds: number;
}

/** Why the live section cannot run here, or null when it can. */
export function liveLossBlocker(cli: string): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, raw sockets)';
  for (const tool of ['tcpdump', 'tcpreplay', 'ip']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0) return `needs ${tool} (apt-get install tcpdump tcpreplay iproute2)`;
  }
  if (!existsSync(cli)) return `${cli} is missing`;
  return null;
}

/** Raised when the namespaces or the veth pair cannot be created: the environment, not wardwatch. */
export class LiveRigError extends Error {}

export async function measureLiveLoss(options: LiveLossOptions): Promise<LiveLossResult> {
  const started = performance.now();
  const packets = options.packets ?? DEFAULT_LIVE_PACKETS;
  const log = options.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'wardwatch-live-loss-'));
  let rig: NamespacePair | null = null;
  try {
    const samplePath = join(dir, 'sample.pcap');
    const sample = writePrefix(options.capture, samplePath, packets);
    const loops = Math.ceil(packets / sample.packets);
    rig = NamespacePair.create();
    const rows: LiveLossRow[] = [];
    for (const rate of options.rates) {
      const row = await measureRate(rig, options.cli, samplePath, loops, packets, rate, join(dir, `eve-${rate}.json`));
      rows.push(row);
      log(`${rate.toLocaleString('en-US')} pps: sent ${row.sent.toLocaleString('en-US')} at ${Math.round(row.achievedPps).toLocaleString('en-US')} pps, analysed ${row.analysed.toLocaleString('en-US')}, loss ${row.lossPercent.toFixed(3)} %`);
    }
    const clean = rows.filter((r) => r.lossPercent < LOSS_THRESHOLD_PERCENT).map((r) => r.requestedPps);
    return {
      packetsPerRate: packets,
      sample: { packets: sample.packets, meanFrameBytes: (sample.bytes - 24 - 16 * sample.packets) / sample.packets, loops },
      rows,
      thresholdPercent: LOSS_THRESHOLD_PERCENT,
      highestCleanPps: clean.length > 0 ? Math.max(...clean) : null,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    rig?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureRate(rig: NamespacePair, cli: string, sample: string, loops: number, packets: number, rate: number, eve: string): Promise<LiveLossRow> {
  const droppedBefore = rig.senderTxDropped();
  const ward = new WardwatchLive(rig, cli, eve);
  try {
    await ward.waitUntil('capturing', () => ward.latestStats() !== null, 20_000);
    const replay = await sendAt(rig, sample, loops, packets, rate);
    await ward.waitForSettled(replay.sent);
    const final = await ward.stop();
    const analysed = final.decoder.pkts;
    return {
      requestedPps: rate,
      achievedPps: replay.pps,
      achievedMbitPerSecond: replay.mbps,
      sent: replay.sent,
      sendFailed: replay.failed,
      analysed,
      kernelPackets: final.capture?.kernel_packets ?? 0,
      kernelDrops: final.capture?.kernel_drops ?? 0,
      linkDrops: rig.senderTxDropped() - droppedBefore,
      lossPercent: replay.sent > 0 ? ((replay.sent - analysed) / replay.sent) * 100 : 0,
    };
  } finally {
    ward.kill();
  }
}

interface Replayed {
  sent: number;
  failed: number;
  pps: number;
  mbps: number;
}

/** Sends `packets` packets of the sample (looped) from the sender end at `rate` pps. */
async function sendAt(rig: NamespacePair, sample: string, loops: number, packets: number, rate: number): Promise<Replayed> {
  const args = ['netns', 'exec', rig.senderNs, 'tcpreplay', '-i', rig.senderIf, '--pps', String(rate), '--loop', String(loops), '--limit', String(packets), '--preload-pcap', sample];
  const timeout = Math.max(30, (3 * packets) / rate) * 1000;
  const sending = execFileAsync('ip', args, { timeout, maxBuffer: 1 << 20 });
  rig.adopt(sending.child);
  return parseTcpreplayOutput((await sending).stdout);
}

/**
 * Reads tcpreplay's summary:
 *   Actual: 200000 packets (158000000 bytes) sent in 4.00 seconds
 *   Rated: 39500000.0 Bps, 316.00 Mbps, 50000.00 pps
 *   ...
 *   Successful packets:        200000
 *   Failed packets:            0
 */
export function parseTcpreplayOutput(text: string): Replayed {
  const rated = /^Rated:\s*[\d.]+ Bps, ([\d.]+) Mbps, ([\d.]+) pps/m.exec(text);
  const ok = /^\s*Successful packets:\s*(\d+)/m.exec(text);
  const failed = /^\s*Failed packets:\s*(\d+)/m.exec(text);
  if (rated === null || ok === null) throw new Error(`cannot read tcpreplay's summary:\n${text}`);
  return { sent: Number(ok[1]), failed: failed === null ? 0 : Number(failed[1]), mbps: Number(rated[1]), pps: Number(rated[2]) };
}

interface StatsRecord {
  decoder: { pkts: number };
  capture?: { kernel_packets: number; kernel_drops: number };
}

/** `wardwatch live` on the capture end, writing EVE records (stats among them) to a file. */
class WardwatchLive {
  private readonly child: ChildProcess;
  private stderr = '';
  private readonly exited: Promise<number | null>;

  constructor(
    rig: NamespacePair,
    cli: string,
    private readonly eve: string,
  ) {
    const args = ['live', '-i', rig.captureIf, '--format', 'json', '--eve', eve, '--log-level', 'warn', '--stats-interval', String(STATS_INTERVAL_SEC)];
    // `ip netns exec` execs node: the child is wardwatch itself, so signals reach it directly.
    this.child = spawn('ip', ['netns', 'exec', rig.captureNs, process.execPath, ...launcherNodeFlags(), cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderr = `${this.stderr}${s}`.slice(-8000)));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
    rig.adopt(this.child);
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The latest stats record, or null before the first. */
  latestStats(): StatsRecord | null {
    if (!existsSync(this.eve)) return null;
    const lines = readFileSync(this.eve, 'utf8').split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      if (lines[i].includes('"event_type":"stats"') && lines[i].endsWith('}')) return (JSON.parse(lines[i]) as { stats: StatsRecord }).stats;
    }
    return null;
  }

  async waitUntil(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (!this.running) throw new Error(`wardwatch live exited while waiting until ${what}:\n${this.stderr.trim()}`);
      if (Date.now() > deadline) throw new Error(`wardwatch live: timed out waiting until ${what}:\n${this.stderr.trim()}`);
      await sleep(100);
    }
  }

  /** Waits until every packet sent was analysed, or the count has stood still for SETTLE_MS. */
  async waitForSettled(sent: number): Promise<void> {
    let last = -1;
    let changedAt = Date.now();
    await this.waitUntil(
      'the traffic is analysed',
      () => {
        const pkts = this.latestStats()?.decoder.pkts ?? 0;
        if (pkts >= sent) return true;
        if (pkts !== last) {
          last = pkts;
          changedAt = Date.now();
        }
        return Date.now() - changedAt >= SETTLE_MS;
      },
      120_000,
    );
  }

  /** SIGINT, then the final stats record wardwatch writes on its way out. */
  async stop(): Promise<StatsRecord> {
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.kill(), 15_000);
    const code = await this.exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`wardwatch live exited with ${code ?? 'a signal'} on SIGINT:\n${this.stderr.trim()}`);
    const final = this.latestStats();
    if (final === null) throw new Error('wardwatch live wrote no stats record');
    return final;
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

let pairs = 0;

/**
 * Two namespaces joined by a veth pair, with names unique to this process. IPv6 is off so that
 * the link carries only the packets sent. Removed, with the processes adopted, on destroy(), and
 * also when the process exits or is interrupted first.
 */
class NamespacePair {
  readonly captureNs: string;
  readonly senderNs: string;
  readonly captureIf: string;
  readonly senderIf: string;
  private readonly children = new Set<ChildProcess>();
  private readonly onExit = () => this.destroy();
  /**
   * Listening keeps a second interrupt (Ctrl-C reaches tsx, which passes it on) from killing the
   * process halfway through the clean-up. When nobody else listens, the signal is raised again
   * once the pair is gone, so it still ends the process.
   */
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.destroy();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  private destroyed = false;

  private constructor(tag: number) {
    this.captureNs = `wwbench-${process.pid}-${tag}-a`;
    this.senderNs = `wwbench-${process.pid}-${tag}-b`;
    // Interface names are at most 15 bytes.
    this.captureIf = `wwb${process.pid % 1e6}x${tag}a`;
    this.senderIf = `wwb${process.pid % 1e6}x${tag}b`;
  }

  static create(): NamespacePair {
    const pair = new NamespacePair(++pairs);
    process.on('exit', pair.onExit);
    process.on('SIGINT', pair.onSignal);
    process.on('SIGTERM', pair.onSignal);
    try {
      for (const ns of [pair.captureNs, pair.senderNs]) {
        ip('netns', 'add', ns);
        ip('netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
      }
      ip('link', 'add', pair.captureIf, 'netns', pair.captureNs, 'type', 'veth', 'peer', 'name', pair.senderIf, 'netns', pair.senderNs);
      ip('-n', pair.captureNs, 'link', 'set', pair.captureIf, 'up');
      ip('-n', pair.senderNs, 'link', 'set', pair.senderIf, 'up');
    } catch (err) {
      pair.destroy();
      throw new LiveRigError(`cannot create the namespaces and veth pair: ${(err as Error).message.split('\n')[0]}`);
    }
    return pair;
  }

  /** A process running inside the namespaces, killed on destroy() if it still runs. */
  adopt(child: ChildProcess): void {
    this.children.add(child);
    child.on('close', () => this.children.delete(child));
  }

  /** Packets the sender's end of the pair could not hand to the capture end. */
  senderTxDropped(): number {
    const out = execFileSync('ip', ['-n', this.senderNs, '-s', '-j', 'link', 'show', 'dev', this.senderIf], { encoding: 'utf8' });
    const [link] = JSON.parse(out) as Array<{ stats64: { tx: { dropped: number } } }>;
    return link.stats64.tx.dropped;
  }

  /**
   * Deleting the link first ends any tcpdump still capturing on it (a namespace lives on while
   * a process is inside), then the namespaces go.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const child of this.children) child.kill('SIGKILL');
    for (const args of [
      ['-n', this.captureNs, 'link', 'del', this.captureIf],
      ['netns', 'del', this.captureNs],
      ['netns', 'del', this.senderNs],
    ]) {
      try {
        ip(...args);
      } catch {
        // not created, or already gone
      }
    }
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

/**
 * Copies the first `packets` records of a classic pcap (header kept) to `out`, reading in
 * chunks so a capture of any size costs no more memory than one chunk.
 */
function writePrefix(file: string, out: string, packets: number): { packets: number; bytes: number } {
  const CHUNK = 8 << 20;
  const buf = Buffer.allocUnsafe(CHUNK);
  const input = openSync(file, 'r');
  const output = openSync(out, 'w');
  try {
    if (readSync(input, buf, 0, 24, 0) !== 24) throw new Error(`${file}: not a pcap (too short)`);
    const magicLE = buf.readUInt32LE(0);
    const le = magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d;
    const magicBE = buf.readUInt32BE(0);
    if (!le && magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) throw new Error(`${file}: not a classic pcap`);
    writeSync(output, buf, 0, 24);
    let position = 24;
    let count = 0;
    let filled = 0;
    let used = 0;
    while (count < packets) {
      if (filled - used < 16 || filled - used < 16 + caplenAt(buf, used, le)) {
        // Move the partial record to the front and read more.
        writeSync(output, buf, 0, used);
        buf.copy(buf, 0, used, filled);
        filled -= used;
        used = 0;
        const n = readSync(input, buf, filled, CHUNK - filled, position);
        if (n === 0) break;
        position += n;
        filled += n;
        continue;
      }
      used += 16 + caplenAt(buf, used, le);
      count++;
    }
    writeSync(output, buf, 0, used);
    if (count === 0) throw new Error(`${file} holds no packets`);
    return { packets: count, bytes: position - (filled - used) };
  } finally {
    closeSync(input);
    closeSync(output);
  }
}

function caplenAt(buf: Buffer, at: number, le: boolean): number {
  return le ? buf.readUInt32LE(at + 8) : buf.readUInt32BE(at + 8);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
