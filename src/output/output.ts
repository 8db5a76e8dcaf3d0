/**
 * An output: where alerts, flow records, stats and the inventory go, with one lifecycle for every
 * kind (EVE JSON, text...). Outputs know records, never packets. Writing never throws on the
 * packet path: an output that fails keeps its first error, reports it once, and counts what it
 * could not deliver; the run ends with that error on record (see OutputHealth).
 */
import { closeSync, constants, createWriteStream, fchmodSync, openSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { z } from 'zod';
import type { EvidenceMode } from '../analyzers/analyzer.js';
import type { Alert, DetectSink, FlowRecord } from '../detect/alert.js';
import type { RunStats } from '../stats/run-stats.js';
import type { InventorySnapshot } from './inventory.js';
import type { RunFacts } from './run-facts.js';

/** How an output is doing: what it delivered, what it could not, and why. */
export interface OutputHealth {
  /** The output's type and destination, e.g. `eve:/var/log/wardwatch/eve.json`, `text:-`. */
  name: string;
  /** Records handed on to the destination. */
  written: number;
  /** Records it could not deliver (after a write error). */
  dropped: number;
  /** The first write error; the output writes nothing more after it. */
  error: Error | null;
  /** Network outputs only: records waiting in memory and in the spool now. */
  queued?: number;
  /** Network outputs only: records written to the on-disk spool in this run. */
  spooled?: number;
  /** Network outputs only: connections re-established after a loss. */
  reconnects?: number;
  /** Syslog over UDP only: records longer than a datagram may safely be, not sent there (never cut). */
  oversize?: number;
  /** Network outputs only: whether the server is reachable now. */
  connected?: boolean;
}

/** The operational log (pino's shape), for outputs that report more than their first failure. */
export interface OutputLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Output extends DetectSink {
  readonly name: string;
  alert(alert: Alert): void;
  flowEnd(record: FlowRecord): void;
  stats(stats: RunStats): void;
  inventory(inventory: InventorySnapshot): void;
  /** What the run analysed, once, at its end (before the final stats); outputs that keep no such record leave it out. */
  run?(facts: RunFacts): void;
  /**
   * A promise while the output holds more than it should (a slow disk, a stalled reader): wait on
   * it before producing more. Undefined when the output can take more now.
   */
  drain(): Promise<void> | undefined;
  /**
   * Files only: closes the file and opens its path again, so that a file renamed by log rotation
   * is left whole and new records go to a new file. Every record goes to exactly one of the two.
   * Throws the system's error when the path cannot be opened; the old file then stays in use.
   */
  reopen?(): void;
  /**
   * Delivers what is queued and releases the destination; never rejects (see health).
   * `giveUpAtMs` (epoch ms): an output stops waiting then, so that a stopped sensor ends on time;
   * a network output keeps what it could not send in its spool, a file output counts it as not
   * delivered and fails.
   */
  close(giveUpAtMs?: number): Promise<void>;
  readonly health: OutputHealth;
}

/** What an output is doing now, for the operator: writing, connected, spooling (server unreachable) or failed. */
export type OutputState = 'writing' | 'connected' | 'spooling' | 'failed';

export function outputState(health: OutputHealth): OutputState {
  if (health.error !== null) return 'failed';
  if (health.connected === undefined) return 'writing';
  return health.connected ? 'connected' : 'spooling';
}

/** Told of an output's first failure, once. */
export type FailureListener = (health: OutputHealth) => void;

/** What every output of a run shares. */
export interface OutputContext {
  evidence: EvidenceMode;
  /** Flow records by default (the EVE output's `flows`). */
  flows: boolean;
  onFailure: FailureListener;
  /** Files are appended to rather than truncated (live: a restart keeps the last run's records). */
  append?: boolean;
  /** Where network outputs say that their server went down or came back. */
  log?: OutputLog;
}

/**
 * A kind of output: the schema of its entries in the config file's `outputs:` list (`type` names
 * the kind) and how to open one. Opening throws the system's error when the destination cannot
 * be opened.
 */
export interface OutputWriter<Spec extends z.ZodObject<{ type: z.ZodLiteral<string> }> = z.ZodObject<{ type: z.ZodLiteral<string> }>> {
  spec: Spec;
  /** The URL schemes of `--output URL` this kind answers. */
  schemes?: readonly string[];
  /** The config entry a URL of those schemes stands for; throws an Error saying what is wrong with it. */
  fromUrl?(url: string): z.input<Spec>;
  /**
   * Checks what can be checked before the run starts (a readable CA file, a writable spool):
   * throws an Error whose message is one line for the user.
   */
  check?(spec: z.infer<Spec>): void;
  open(spec: z.infer<Spec>, context: OutputContext): Output;
}

/** Hands every alert and flow end to each sink in turn. */
export class FanOutSink implements DetectSink {
  constructor(readonly sinks: readonly DetectSink[]) {}

  alert(alert: Alert): void {
    for (const sink of this.sinks) sink.alert(alert);
  }

  flowEnd(record: FlowRecord): void {
    for (const sink of this.sinks) sink.flowEnd(record);
  }
}

/**
 * Lines to a Node stream, as the stream outputs write them: counts what was delivered and what
 * was not, keeps the first error (whether `write` throws it, as a synchronous stdout on a full
 * disk does, or the stream reports it later) and drops everything after it.
 */
export class LineStream {
  readonly health: OutputHealth;
  private pending = 0;
  private settled: (() => void) | null = null;
  /** Set when close gave up: the writes still pending were counted as not delivered. */
  private abandoned = false;
  private reported = false;

  constructor(
    name: string,
    private out: Writable,
    private readonly onFailure: FailureListener,
  ) {
    this.health = { name, written: 0, dropped: 0, error: null };
    out.on('error', (err: Error) => this.fail(err));
  }

  /**
   * Writes to `next` from now on. Lines already written stay queued on the old stream, which
   * ends once they are delivered: each line reaches exactly one of the two.
   */
  replace(next: Writable): void {
    const old = this.out;
    this.out = next;
    next.on('error', (err: Error) => this.fail(err));
    if (old !== process.stdout && old !== process.stderr && !old.destroyed) old.end();
  }

  write(line: string): void {
    if (this.health.error !== null || this.out.destroyed) {
      this.health.dropped++;
      return;
    }
    this.pending++;
    try {
      this.out.write(line, this.written);
    } catch (err) {
      this.written(err as Error);
    }
  }

  drain(): Promise<void> | undefined {
    const out = this.out;
    if (!out.writableNeedDrain || this.health.error !== null || out.destroyed) return undefined;
    return new Promise((resolve) => {
      const done = () => {
        out.off('drain', done);
        out.off('error', done);
        out.off('close', done);
        resolve();
      };
      out.on('drain', done);
      out.on('error', done);
      out.on('close', done);
    });
  }

  /**
   * Waits for every write to be delivered or to fail; then ends the stream unless it is stdout or
   * stderr. At `giveUpAtMs` (epoch ms) it stops waiting for a destination that takes nothing (a
   * reader that stopped reading, a hung network mount): what is still unwritten is counted as not
   * delivered and the output fails with that reason.
   */
  async close(giveUpAtMs = Infinity): Promise<void> {
    const out = this.out;
    // A destroyed stream has called back every write by the time it closes.
    if (this.pending > 0 && !out.closed) {
      const settled = new Promise<void>((resolve) => {
        this.settled = resolve;
        out.once('close', resolve);
      });
      if (!(await settledBy(settled, giveUpAtMs))) return this.giveUp();
    }
    if (out === process.stdout || out === process.stderr || out.closed || this.health.error !== null) return;
    const ended = new Promise<void>((resolve) => {
      out.once('close', resolve);
      out.end();
    });
    // Every record was written: a close that hangs loses nothing, so it is let go without a failure.
    if (!(await settledBy(ended, giveUpAtMs))) out.destroy();
  }

  private giveUp(): void {
    this.health.dropped += this.pending;
    this.pending = 0;
    this.abandoned = true;
    this.fail(new Error('not taking records by the stop deadline'));
    if (this.out !== process.stdout && this.out !== process.stderr) this.out.destroy();
  }

  private readonly written = (err?: Error | null): void => {
    // Counted as not delivered when the output gave up on them.
    if (this.abandoned) return;
    this.pending--;
    if (err) {
      this.health.dropped++;
      this.fail(err);
    } else {
      this.health.written++;
    }
    if (this.pending === 0 && this.settled !== null) {
      const resolve = this.settled;
      this.settled = null;
      resolve();
    }
  };

  private fail(err: Error): void {
    this.health.error ??= err;
    if (this.reported) return;
    this.reported = true;
    this.onFailure(this.health);
  }
}

/** Whether `settled` resolves before `atMs` (epoch ms). */
function settledBy(settled: Promise<void>, atMs: number): Promise<boolean> {
  if (atMs === Infinity) return settled.then(() => true);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, atMs - Date.now()));
    void settled.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export interface OutputFileOptions {
  /** The file may hold patient data: created, or reset, to mode 0600 (owner only). */
  private: boolean;
  /** Append to an existing file instead of truncating it. */
  append?: boolean;
}

/**
 * Opens an output file for writing; `-` is stdout. Opening is synchronous so that a bad path
 * fails at start-up with the system's message, not on the first record.
 */
export function openOutputFile(path: string, options: OutputFileOptions): Writable {
  if (path === '-') return process.stdout;
  if (statSync(path, { throwIfNoEntry: false })?.isFIFO() === true) return openFifo(path);
  const flags = options.append ? 'a' : 'w';
  const fd = openSync(path, flags, options.private ? 0o600 : 0o644);
  if (options.private) {
    // The mode given to open applies only when the file is created.
    try {
      fchmodSync(fd, 0o600);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }
  return createWriteStream(path, { fd, flags });
}

/**
 * A FIFO (a log shipper reading the records) is opened without waiting for a reader: a plain
 * open would block, silently and past any signal, until one came; with none it fails now, saying
 * so. It is written through the event loop, like a pipe: a reader that stops reading then holds
 * back this output alone, and a stop can give up on it. A write blocked in one of Node's worker
 * threads would keep the process from exiting.
 */
function openFifo(path: string): Writable {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
    throw Object.assign(new Error(`no process is reading the FIFO '${path}' (start its reader first)`), { code: 'ENXIO' });
  }
  return new Socket({ fd, readable: false, writable: true });
}
