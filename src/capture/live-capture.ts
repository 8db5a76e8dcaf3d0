/**
 * Live capture from a network interface, typically a mirror (SPAN) port.
 *
 * Packets are captured by a tcpdump child process that writes a pcap stream to its stdout; the
 * same PcapReader as replay reads that stream, so live traffic and a replayed file take the same
 * path through the analysis. Why a child process rather than the `cap` libpcap binding in-process
 * (measured on `cap` 0.2.1):
 *  - `cap` hands over no packet timestamps and no pcap_stats: no libpcap time, no drop counters;
 *  - in immediate mode with a 65535 snap length each packet takes a 64 KiB slot of its buffer on
 *    interfaces with offloads, so a 10 MB buffer holds only 160 packets and bursts are lost
 *    (64 MB or more caught 100 % of a 1M-packet burst); it tops out near 250 kpps doing nothing;
 *  - deleting the interface while capturing aborts the whole Node process with an assertion that
 *    cannot be caught.
 * tcpdump gives nanosecond libpcap timestamps, the kernel buffer size asked for (-B), drop counters
 * on SIGUSR1, and when the interface vanishes or anything crashes only the child dies: we report
 * it, wait and re-open, keeping every flow. `cap` is still used to list devices (see
 * live-interfaces.ts), where none of this matters.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { CaptureCounters } from './capture-stats.js';
import { StreamInput } from './byte-input.js';
import { ByteWindow } from './byte-window.js';
import { DeviceListError, listCaptureDevices } from './live-interfaces.js';
import { CapturedPacket } from './packet.js';
import { PcapReader } from './pcap-reader.js';

export const DEFAULT_SNAPLEN = 262144;
export const DEFAULT_BUFFER_MB = 64;

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;
/**
 * How long tcpdump gets to exit on SIGINT before it is killed: it takes some tens of milliseconds,
 * and a stopped sensor must be gone within two seconds, start-up and final stats included.
 */
const STOP_GRACE_MS = 600;

export interface LiveCaptureOptions {
  interfaceName: string;
  /** Capture filter in tcpdump (BPF) syntax, or null for everything. */
  filter: string | null;
  snapLen: number;
  bufferMb: number;
  promiscuous: boolean;
  /** The tcpdump program; `tcpdump` on PATH by default. */
  tcpdump?: string;
}

export type LiveFailure = 'not-installed' | 'no-such-interface' | 'permission' | 'bad-filter' | 'interface-down' | 'failed';

/** Why a capture could not start, as one line for the operator. */
export class LiveCaptureError extends Error {
  constructor(
    readonly kind: LiveFailure,
    message: string,
  ) {
    super(message);
    this.name = 'LiveCaptureError';
  }
}

/**
 * The tcpdump command line: pcap on stdout, flushed after each packet (-U), nanosecond time.
 * Not --immediate-mode: with it libpcap falls back from TPACKET_V3 blocks to TPACKET_V2 slots of
 * the snap length each, so 64 MiB held only 256 packets and a 100,000-packet burst at 300 kpps lost
 * half (measured on a veth pair); without it the same burst arrives whole, at the cost of up to
 * tcpdump's 1 s block time-out of delay when traffic is light.
 */
export function tcpdumpArgs(o: LiveCaptureOptions): string[] {
  const args = ['-i', o.interfaceName, '-w', '-', '-U', '-B', String(o.bufferMb * 1024), '-s', String(o.snapLen), '--time-stamp-precision=nano'];
  if (!o.promiscuous) args.push('--no-promiscuous-mode');
  if (o.filter !== null && o.filter.trim() !== '') args.push('--', o.filter);
  return args;
}

/**
 * How tcpdump is started so that it dies with wardwatch, even by SIGKILL: otherwise it lives until
 * its next write to the closed pipe fails, which on a quiet interface is never. setpriv (util-linux)
 * asks the kernel to kill it when its parent dies (PR_SET_PDEATHSIG). The kernel forgets that
 * request when the process changes user, and tcpdump started as root switches to the user
 * `tcpdump` once the capture is open: as root it is told to stay root (`-Z root`). It also forgets
 * it for a tcpdump with file capabilities (setcap); under systemd the unit's control group ends it.
 */
export function tcpdumpCommand(o: LiveCaptureOptions, setpriv: string | null = pdeathsigRunner()): { file: string; args: string[] } {
  const tcpdump = o.tcpdump ?? 'tcpdump';
  if (setpriv === null) return { file: tcpdump, args: tcpdumpArgs(o) };
  const stayRoot = process.geteuid?.() === 0 ? ['-Z', 'root'] : [];
  return { file: setpriv, args: ['--pdeathsig', 'KILL', '--', tcpdump, ...stayRoot, ...tcpdumpArgs(o)] };
}

let setprivFound: string | null | undefined;

/** setpriv when it is installed and knows --pdeathsig (util-linux 2.33 and later); null otherwise. */
function pdeathsigRunner(): string | null {
  if (setprivFound === undefined) {
    const probe = spawnSync('setpriv', ['--help'], { encoding: 'utf8', timeout: 5000 });
    setprivFound = probe.status === 0 && probe.stdout.includes('--pdeathsig') ? 'setpriv' : null;
  }
  return setprivFound;
}

/** libpcap's counters as tcpdump reports them (pcap_stats), for one tcpdump process. */
export interface TcpdumpCounters {
  /** Packets tcpdump wrote out. */
  captured: number;
  /** ps_recv: packets that passed the filter in the kernel. */
  received: number;
  /** ps_drop: packets the kernel dropped for want of buffer space. */
  dropped: number;
  /** ps_ifdrop: packets the interface dropped; tcpdump prints it only when not zero. */
  ifDropped: number;
}

const STATS_LINE = /^(?:[^\s:]+: )?(\d+) packets? captured, (\d+) packets? received by filter, (\d+) packets? dropped by kernel(?:, (\d+) packets? dropped by interface)?\s*$/;
const STATS_PART = /^(\d+) packets? (captured|received by filter|dropped by kernel|dropped by interface)\s*$/;

/**
 * Reads tcpdump's statistics from its stderr lines: one line on SIGUSR1,
 * `tcpdump: 5 packets captured, 5 packets received by filter, 0 packets dropped by kernel`
 * (`, N packets dropped by interface` when there are such drops), and the same figures one per line
 * when it exits.
 */
export class TcpdumpStatsParser {
  /** The latest complete report. */
  latest: TcpdumpCounters | null = null;
  /** Complete reports seen so far. */
  reports = 0;
  private partial: Partial<TcpdumpCounters> = {};

  /** Takes one stderr line; true when it was part of a statistics report. */
  push(line: string): boolean {
    const whole = STATS_LINE.exec(line);
    if (whole !== null) {
      this.complete({ captured: Number(whole[1]), received: Number(whole[2]), dropped: Number(whole[3]), ifDropped: Number(whole[4] ?? 0) });
      return true;
    }
    const part = STATS_PART.exec(line);
    if (part === null) return false;
    const n = Number(part[1]);
    switch (part[2]) {
      case 'captured':
        this.partial = { captured: n };
        break;
      case 'received by filter':
        this.partial.received = n;
        break;
      case 'dropped by kernel':
        this.complete({ captured: this.partial.captured ?? 0, received: this.partial.received ?? 0, dropped: n, ifDropped: 0 });
        break;
      case 'dropped by interface':
        // Follows the kernel line of the same report.
        if (this.latest !== null) this.latest = { ...this.latest, ifDropped: n };
        break;
    }
    return true;
  }

  private complete(counters: TcpdumpCounters): void {
    this.latest = counters;
    this.partial = {};
    this.reports++;
  }
}

/**
 * Turns what tcpdump wrote before it gave up into one line saying what is wrong and how to fix it.
 * Device problems are prefixed with the device name (`tcpdump: eth9: No such device exists`);
 * filter problems are not (`tcpdump: can't parse filter expression: syntax error`).
 */
export function describeStartFailure(o: LiveCaptureOptions, stderrLines: readonly string[], exitCode: number | null): LiveCaptureError {
  const iface = o.interfaceName;
  const messages = stderrLines
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^([^\s:]+: )?warning\b/i.test(l))
    .map((l) => l.replace(/^tcpdump: /, ''));
  const first = messages[0] ?? '';
  const all = messages.join(' ');
  if (exitCode === 127 || /error while loading shared libraries/.test(all)) return notInstalled(all);
  if (/No such device|doesn't exist|no such interface/i.test(all)) return new LiveCaptureError('no-such-interface', `interface '${iface}' does not exist`);
  if (/permission|not permitted|EPERM|EACCES/i.test(all)) {
    return new LiveCaptureError(
      'permission',
      `no permission to capture on '${iface}': capturing needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode); run as root or grant them to tcpdump: sudo setcap cap_net_raw,cap_net_admin=eip $(command -v tcpdump)`,
    );
  }
  if (/not up\b/i.test(all)) return new LiveCaptureError('interface-down', `interface '${iface}' is down`);
  if (o.filter !== null && first !== '' && !first.startsWith(`${iface}:`)) {
    return new LiveCaptureError('bad-filter', `bad capture filter '${o.filter}': ${first}`);
  }
  return new LiveCaptureError('failed', `tcpdump could not capture on '${iface}': ${first || `exit status ${exitCode}`}`);
}

function notInstalled(detail: string): LiveCaptureError {
  return new LiveCaptureError('not-installed', `live capture runs tcpdump, which is not installed${detail ? ` (${detail})` : ''}: apt-get install tcpdump libpcap0.8`);
}

interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One tcpdump process and the pcap stream it writes. */
class CaptureChild {
  readonly source: PcapReader;
  readonly stats = new TcpdumpStatsParser();
  /** Resolves when tcpdump is capturing; rejects with LiveCaptureError when it could not start. */
  readonly started: Promise<void>;
  /** Resolves once tcpdump has exited and its output is closed. */
  readonly closed: Promise<ChildExit>;
  /** The last message tcpdump wrote after it started, e.g. why it stopped. */
  lastMessage: string | null = null;
  private listening = false;
  private exited = false;
  private readonly startLines: string[] = [];
  private statsWaiters: Array<() => void> = [];
  private readonly process: ChildProcess;

  constructor(
    private readonly options: LiveCaptureOptions,
    private readonly log: Logger,
  ) {
    const command = tcpdumpCommand(options);
    const child: ChildProcess = spawn(command.file, command.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C on the terminal reaches wardwatch, which stops tcpdump
      // after it, instead of tcpdump vanishing first and looking like a lost interface. This
      // does not weaken the parent-death signal, which follows the parent, not the group.
      detached: true,
    });
    this.process = child;
    this.source = new PcapReader(`${options.interfaceName} (live)`, new ByteWindow(new StreamInput(child.stdout!)));

    let resolveStarted!: () => void;
    let rejectStarted!: (err: Error) => void;
    this.started = new Promise((resolve, reject) => {
      resolveStarted = resolve;
      rejectStarted = reject;
    });
    // Start failures are reported through `started`; nobody else needs to observe this promise.
    this.started.catch(() => undefined);

    let pending = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      pending += text;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!this.listening && /listening on /.test(line)) {
          this.listening = true;
          this.log.debug({ tcpdump: line }, 'tcpdump started');
          resolveStarted();
        } else if (this.stats.push(line)) {
          if (this.stats.reports > 0) this.wakeStatsWaiters();
        } else if (!this.listening) {
          this.startLines.push(line);
        } else if (line.trim() !== '') {
          this.lastMessage = line.replace(/^tcpdump: /, '').trim();
          this.log.debug({ tcpdump: line }, 'tcpdump message');
        }
      }
    });

    let spawnError: NodeJS.ErrnoException | null = null;
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError ??= err;
    });
    this.closed = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.exited = true;
        if (pending !== '') this.stats.push(pending);
        this.wakeStatsWaiters();
        if (!this.listening) {
          if (spawnError !== null) {
            rejectStarted(spawnError.code === 'ENOENT' ? notInstalled('') : new LiveCaptureError('failed', `cannot run tcpdump: ${spawnError.message}`));
          } else {
            rejectStarted(describeStartFailure(this.options, this.startLines, code));
          }
        }
        resolve({ code, signal });
      });
    });
  }

  /** Starts tcpdump and waits until it captures. */
  static async start(options: LiveCaptureOptions, log: Logger): Promise<CaptureChild> {
    const child = new CaptureChild(options, log);
    try {
      await child.started;
    } catch (err) {
      await child.closed;
      await child.source.close().catch(() => undefined);
      throw err;
    }
    return child;
  }

  get counters(): TcpdumpCounters | null {
    return this.stats.latest;
  }

  /** Asks tcpdump for its counters and waits for the answer, at most timeoutMs. */
  requestStats(timeoutMs: number): Promise<void> {
    if (this.exited || !this.listening) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.statsWaiters = this.statsWaiters.filter((w) => w !== done);
        resolve();
      }, timeoutMs);
      this.statsWaiters.push(done);
      this.process.kill('SIGUSR1');
    });
  }

  /** Asks tcpdump to stop; it flushes what it captured and exits. Killed if it does not. */
  stop(): void {
    if (this.exited) return;
    this.process.kill('SIGINT');
    const timer = setTimeout(() => this.kill(), STOP_GRACE_MS);
    timer.unref();
    void this.closed.then(() => clearTimeout(timer));
  }

  kill(): void {
    if (!this.exited) this.process.kill('SIGKILL');
  }

  describeExit(exit: ChildExit): string {
    if (this.lastMessage !== null) return this.lastMessage;
    return exit.signal !== null ? `tcpdump ended by ${exit.signal}` : `tcpdump exited with status ${exit.code}`;
  }

  private wakeStatsWaiters(): void {
    const waiters = this.statsWaiters;
    this.statsWaiters = [];
    for (const w of waiters) w();
  }
}

/**
 * A live capture that outlives its tcpdump processes: when one ends without being asked to (the
 * interface was deleted, tcpdump crashed) it reports, waits and re-opens with backoff (1 s doubling
 * to 30 s) until the interface is back. Packets keep flowing to the same handler, so the analysis
 * keeps all its flow state across the gap.
 */
export class LiveCapture {
  /** Packets handed to the handler, over every tcpdump process. */
  packets = 0;
  private child: CaptureChild | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  /** Counters of the tcpdump processes that have ended. */
  private readonly ended: TcpdumpCounters = { captured: 0, received: 0, dropped: 0, ifDropped: 0 };

  constructor(
    readonly options: LiveCaptureOptions,
    private readonly log: Logger,
  ) {}

  /**
   * Checks that the interface exists and starts capturing. Throws LiveCaptureError when that is
   * impossible (no such interface, no permission, no tcpdump, a bad filter). An interface that is
   * down is waited for, as when it goes away later.
   */
  async open(): Promise<void> {
    const iface = this.options.interfaceName;
    const available = await this.availableDevices();
    if (available !== null && !available.includes(iface)) throw noSuchInterface(iface, available);
    try {
      this.child = await CaptureChild.start(this.options, this.log);
    } catch (err) {
      if (!(err instanceof LiveCaptureError)) throw err;
      if (err.kind === 'no-such-interface') throw noSuchInterface(iface, available ?? []);
      if (err.kind !== 'interface-down') throw err;
      this.log.warn({ interface: iface }, `${err.message}; capturing once it is up`);
      return;
    }
    // Stopped while tcpdump started: it stops now, and run() hands out what it captured.
    if (this.stopping) this.child.stop();
    this.log.info(
      { interface: iface, filter: this.options.filter, snapLen: this.options.snapLen, bufferMb: this.options.bufferMb, promiscuous: this.options.promiscuous },
      'capture started',
    );
  }

  /**
   * Hands every captured packet to `handle` until stop() (the packet is valid only during the
   * call). Re-opens the capture whenever tcpdump ends on its own.
   */
  async run(handle: (pkt: CapturedPacket) => void): Promise<void> {
    const pkt = new CapturedPacket();
    for (;;) {
      if (this.child === null && (this.stopping || !(await this.reopen()))) return;
      const child = this.child!;
      const source = child.source;
      for (;;) {
        while (source.next(pkt)) {
          pkt.index = ++this.packets;
          handle(pkt);
        }
        if (!(await source.refill())) break;
      }
      const exit = await child.closed;
      await source.close().catch(() => undefined);
      this.addEnded(child.counters);
      this.child = null;
      if (this.stopping) return;
      if (source.error !== null) this.log.debug({ reason: source.error.message }, 'capture stream ended inside a record');
      this.log.warn({ interface: this.options.interfaceName, reason: child.describeExit(exit) }, 'capture stopped; flows are kept, re-opening when the interface is back');
    }
  }

  /** Ends the capture: tcpdump stops, and run() returns once it has handed out what was captured. */
  stop(): void {
    this.stopping = true;
    this.wake?.();
    this.child?.stop();
  }

  /** Kills tcpdump at once (a second interrupt, or wardwatch exiting). */
  kill(): void {
    this.stopping = true;
    this.wake?.();
    this.child?.kill();
  }

  /** libpcap's counters over every tcpdump process of this capture. */
  get counters(): CaptureCounters {
    const c = this.child?.counters ?? null;
    const ifDrops = this.ended.ifDropped + (c?.ifDropped ?? 0);
    return {
      kernelPackets: this.ended.received + (c?.received ?? 0),
      kernelDrops: this.ended.dropped + (c?.dropped ?? 0),
      ...(ifDrops > 0 && { ifDrops }),
    };
  }

  /** Asks tcpdump for fresh counters (waiting at most timeoutMs) and returns the totals. */
  async refreshCounters(timeoutMs = 1000): Promise<CaptureCounters> {
    await this.child?.requestStats(timeoutMs);
    return this.counters;
  }

  private addEnded(c: TcpdumpCounters | null): void {
    if (c === null) return;
    this.ended.captured += c.captured;
    this.ended.received += c.received;
    this.ended.dropped += c.dropped;
    this.ended.ifDropped += c.ifDropped;
  }

  /** Tries to start tcpdump again with backoff; false when stopped meanwhile. */
  private async reopen(): Promise<boolean> {
    const iface = this.options.interfaceName;
    let delayMs = FIRST_RETRY_MS;
    let lastReason = '';
    while (!this.stopping) {
      await this.sleep(delayMs);
      if (this.stopping) return false;
      try {
        this.child = await CaptureChild.start(this.options, this.log);
      } catch (err) {
        if (!(err instanceof LiveCaptureError)) throw err;
        delayMs = Math.min(delayMs * 2, MAX_RETRY_MS);
        const fields = { interface: iface, reason: err.message, retryInSec: delayMs / 1000 };
        if (err.message !== lastReason) this.log.warn(fields, 'cannot re-open the capture yet');
        else this.log.debug(fields, 'cannot re-open the capture yet');
        lastReason = err.message;
        continue;
      }
      this.log.info({ interface: iface }, 'capture re-opened');
      if (this.stopping) this.child.stop();
      return true;
    }
    return false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** Names of the capture devices, or null when they cannot be listed (tcpdump then says why). */
  private async availableDevices(): Promise<string[] | null> {
    try {
      const list = await listCaptureDevices(this.options.tcpdump);
      if (list.capUnavailable !== null) this.log.debug({ reason: list.capUnavailable }, 'cap binding unavailable; listed devices with tcpdump -D');
      return list.devices.map((d) => d.name);
    } catch (err) {
      if (!(err instanceof DeviceListError)) throw err;
      this.log.debug({ reason: err.message }, 'cannot list capture devices before starting');
      return null;
    }
  }
}

function noSuchInterface(iface: string, available: readonly string[]): LiveCaptureError {
  const list = available.length > 0 ? available.join(', ') : 'none found';
  return new LiveCaptureError('no-such-interface', `interface '${iface}' does not exist (available: ${list}; see wardwatch interfaces)`);
}
