/**
 * What every network output shares: records become EVE JSON envelopes, wait in a bounded queue in
 * memory and, when the server is unreachable or slower than the traffic, in an on-disk spool; they
 * are sent in order, in batches, over a Transport (syslog, Redis) that says when the server has
 * taken them. The connection is re-made with backoff; one line is logged when the server goes
 * away and one when it is back. On close the output gets a bounded time to send what is waiting;
 * the rest stays in the spool, sent first at the next start.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { EvidenceMode } from '../analyzers/analyzer.js';
import type { Alert, FlowRecord } from '../detect/alert.js';
import type { RunStats } from '../stats/run-stats.js';
import { alertRecord, flowRecord, inventoryRecord, runRecord, statsRecord, type EveRecord } from './eve.js';
import type { RunFacts } from './run-facts.js';
import type { InventorySnapshot } from './inventory.js';
import type { Output, OutputContext, OutputHealth, OutputLog } from './output.js';
import { checkSpoolDir, isAlert, Spool, type Envelope } from './spool.js';

/** A connection to a server that takes batches of records. */
export interface Transport {
  /** Resolves once connected; rejects when the server cannot be reached. */
  connect(): Promise<void>;
  /** Resolves once the server (or the kernel, for plain syslog) has taken every record; rejects when the connection failed. */
  send(batch: readonly Envelope[]): Promise<void>;
  /** Called when an idle connection is lost. */
  onLost(listener: (err: Error) => void): void;
  /** Releases the connection at once. */
  destroy(): void;
}

/** The options every network output has, in its config entry and as URL query parameters. */
export const deliveryOptions = {
  /** Directory of the on-disk spool; default: a directory per output under the state directory. */
  spool_dir: z.string().min(1).optional(),
  /** Cap of the spool's total size, in bytes. */
  spool_max_bytes: z.coerce.number().int().min(1024).default(256 * 1024 * 1024),
  /** Records held in memory before the spool is used. */
  queue_max: z.coerce.number().int().min(1).default(10_000),
  /** Seconds given to send what is waiting when the run ends. */
  drain_timeout: z.coerce.number().min(0).default(5),
  /** Write a `flow` record for every ended flow; default: the run's --flows. */
  flows: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional(),
};

export interface DeliveryOptions {
  spool_dir?: string;
  spool_max_bytes: number;
  queue_max: number;
  drain_timeout: number;
  flows?: boolean;
}

/** The spool directory of an output: the one configured, or one named after its destination. */
export function spoolDirOf(name: string, options: { spool_dir?: string }): string {
  if (options.spool_dir !== undefined) return options.spool_dir;
  // systemd's StateDirectory= sets STATE_DIRECTORY.
  const base = process.env.STATE_DIRECTORY?.split(':')[0] ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'wardwatch');
  return join(base, 'spool', name.replace(/[^A-Za-z0-9.-]+/g, '_'));
}

/** Throws a one-line Error when the spool directory cannot be made or written. */
export function checkSpool(name: string, options: { spool_dir?: string }): void {
  const dir = spoolDirOf(name, options);
  try {
    checkSpoolDir(dir);
  } catch (err) {
    throw new Error(`spool directory ${dir} cannot be used: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

const BATCH_RECORDS = 500;
const BATCH_BYTES = 1024 * 1024;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** Repeated warnings (records lost) at most this often. */
const REMINDER_MS = 60_000;

const silentLog: OutputLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

export abstract class NetworkOutput implements Output {
  readonly health: OutputHealth;
  protected readonly log: OutputLog;
  private readonly spool: Spool;
  /** Older than everything in the spool. */
  private memory: Envelope[] = [];
  private inFlight: { batch: Envelope[]; fromSpool: boolean } | null = null;
  private seq: number;
  private state: 'connecting' | 'up' | 'down' | 'closed' = 'connecting';
  private transport: Transport | null = null;
  private backoffMs = BACKOFF_MIN_MS;
  private retry: NodeJS.Timeout | null = null;
  private downSince = 0;
  private everUp = false;
  private readonly evidence: EvidenceMode;
  private readonly flows: boolean;
  /** When each kind of loss was last logged. */
  private lossReported = { other: 0, alert: 0 };
  private alertsDropped = 0;
  private idle: (() => void) | null = null;

  constructor(
    readonly name: string,
    private readonly options: DeliveryOptions,
    context: OutputContext,
  ) {
    this.log = context.log ?? silentLog;
    this.evidence = context.evidence;
    this.flows = options.flows ?? context.flows;
    this.spool = new Spool(spoolDirOf(name, options), options.spool_max_bytes);
    this.seq = this.spool.nextSeq;
    this.health = { name, written: 0, dropped: 0, error: null, queued: this.spool.records, spooled: 0, reconnects: 0, connected: false };
  }

  /** Starts connecting (once the subclass is built: its transport needs its fields). */
  start(): this {
    if (!this.spool.isEmpty()) this.log.info({ output: this.name, records: this.spool.records, spool: this.spool.dir }, 'records spooled by an earlier run are sent first');
    this.connect();
    return this;
  }

  /** A new connection to the server. */
  protected abstract newTransport(): Transport;

  /**
   * Whether this output can carry a record at all; one it cannot (a datagram too long) is
   * counted by the output itself and never queued.
   */
  protected accepts(_e: Envelope): boolean {
    return true;
  }

  alert(alert: Alert): void {
    this.enqueue('alert', alert.severity, alertRecord(alert, { evidence: this.evidence }));
  }

  flowEnd(record: FlowRecord): void {
    if (this.flows) this.enqueue('flow', null, flowRecord(record));
  }

  stats(stats: RunStats): void {
    this.enqueue('stats', null, statsRecord(stats));
  }

  inventory(inventory: InventorySnapshot): void {
    this.enqueue('inventory', null, inventoryRecord(inventory));
  }

  run(facts: RunFacts): void {
    this.enqueue('run', null, runRecord(facts));
  }

  /** Never holds the analysis back: what the server cannot take goes to the spool. */
  drain(): undefined {
    return undefined;
  }

  async close(giveUpAtMs = Infinity): Promise<void> {
    if (this.state === 'closed') return;
    // A server still being connected to gets the same time: a short replay ends before it answers.
    const waitMs = Math.max(0, Math.min(this.options.drain_timeout * 1000, giveUpAtMs - Date.now()));
    if (this.waiting() > 0 && this.state !== 'down' && waitMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.idle = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs))),
      ]);
      clearTimeout(timer);
    }
    const wasUp = this.state === 'up';
    this.state = 'closed';
    if (this.retry !== null) clearTimeout(this.retry);
    this.transport?.destroy();
    this.transport = null;
    this.health.connected = false;
    this.keepUnsent();
    this.spool.close();
    this.health.queued = this.spool.records;
    if (this.spool.records > 0) {
      this.log.warn(
        { output: this.name, records: this.spool.records, spool: this.spool.dir, serverUp: wasUp },
        'records not yet sent stay in the spool for the next start',
      );
    }
  }

  private enqueue(kind: string, severity: number | null, record: EveRecord): void {
    const e: Envelope = { seq: this.seq++, kind, severity, timeMs: Date.now(), json: JSON.stringify(record) };
    if (this.state === 'closed' || !this.accepts(e)) return;
    if (this.state !== 'down' && this.spool.isEmpty() && this.memory.length < this.options.queue_max) {
      this.memory.push(e);
    } else {
      this.toSpool(e);
    }
    this.health.queued = this.waiting();
    this.pump();
  }

  private toSpool(e: Envelope): void {
    let kept: boolean;
    try {
      kept = this.spool.append(e);
    } catch (err) {
      this.lose([e], `spool write failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return;
    }
    if (kept) this.health.spooled!++;
    else this.lose([e], `spool full (${this.options.spool_max_bytes} bytes)`);
  }

  /** Counts lost records and says so: at once for the first of each kind (alerts, others), then at most once a minute. */
  private lose(records: readonly Envelope[], why: string): void {
    const alerts = records.filter(isAlert).length;
    this.health.dropped += records.length;
    this.alertsDropped += alerts;
    if (alerts > 0) this.health.error ??= new Error(`alerts lost: ${why}`);
    const now = Date.now();
    const fields = { output: this.name, dropped: this.health.dropped, alertsDropped: this.alertsDropped, spool: this.spool.dir };
    if (alerts > 0 && now - this.lossReported.alert >= REMINDER_MS) {
      this.lossReported.alert = now;
      this.log.error(fields, `${why}: alerts are being lost`);
    }
    if (records.length > alerts && now - this.lossReported.other >= REMINDER_MS) {
      this.lossReported.other = now;
      this.log.warn(fields, `${why}: flow, stats and inventory records are being dropped to keep alerts`);
    }
  }

  /** Records waiting: in memory, in flight and in the spool. */
  private waiting(): number {
    return this.memory.length + (this.inFlight !== null && !this.inFlight.fromSpool ? this.inFlight.batch.length : 0) + this.spool.records;
  }

  private connect(): void {
    this.retry = null;
    const transport = this.newTransport();
    this.transport = transport;
    transport.onLost((err) => {
      if (this.transport === transport) this.down(err);
    });
    transport.connect().then(
      () => {
        if (this.transport !== transport || this.state === 'closed') return transport.destroy();
        if (this.everUp) {
          this.health.reconnects!++;
          this.log.info({ output: this.name, downSeconds: Math.round((Date.now() - this.downSince) / 1000), spooled: this.spool.records }, 'output reachable again; sending what was spooled');
        }
        this.everUp = true;
        this.state = 'up';
        this.health.connected = true;
        this.backoffMs = BACKOFF_MIN_MS;
        this.pump();
      },
      (err: Error) => {
        if (this.transport === transport) this.down(err);
      },
    );
  }

  private down(err: Error): void {
    if (this.state === 'closed') return;
    const first = this.state === 'up' || (this.state === 'connecting' && !this.everUp && this.downSince === 0);
    this.transport?.destroy();
    this.transport = null;
    this.health.connected = false;
    if (first) {
      this.downSince = Date.now();
      this.log.warn({ output: this.name, reason: errorText(err), spool: this.spool.dir }, 'output unreachable; spooling records and retrying');
    }
    this.state = 'down';
    this.settle();
    // What waited in memory would be lost if the process ended now.
    this.keepUnsent();
    if (this.retry === null) {
      this.retry = setTimeout(() => this.connect(), this.backoffMs);
      this.retry.unref();
      this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
    }
  }

  /** Moves what waits in memory (and a batch from memory that was not confirmed) to the head of the spool. */
  private keepUnsent(): void {
    const unsent = this.inFlight !== null && !this.inFlight.fromSpool ? [...this.inFlight.batch, ...this.memory] : this.memory;
    this.memory = [];
    if (this.inFlight !== null) this.inFlight = null;
    if (unsent.length === 0) return;
    let lost: Envelope[];
    try {
      lost = this.spool.prepend(unsent);
    } catch (err) {
      this.lose(unsent, `spool write failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return;
    }
    this.health.spooled! += unsent.length - lost.length;
    if (lost.length > 0) this.lose(lost, `spool full (${this.options.spool_max_bytes} bytes)`);
    this.health.queued = this.waiting();
  }

  /** Ends the wait of close(): nothing left to send, or no server to send it to. */
  private settle(): void {
    const idle = this.idle;
    this.idle = null;
    idle?.();
  }

  /** Sends the next batch when connected and nothing is in flight. */
  private pump(): void {
    if (this.state !== 'up' || this.inFlight !== null || this.transport === null) return;
    let batch: Envelope[];
    let fromSpool = false;
    if (this.memory.length > 0) {
      batch = takeBatch(this.memory);
      this.memory = this.memory.slice(batch.length);
    } else {
      batch = takeBatch(this.spool.peek(BATCH_RECORDS));
      fromSpool = true;
    }
    if (batch.length === 0) {
      this.health.queued = 0;
      this.settle();
      return;
    }
    const flight = { batch, fromSpool };
    this.inFlight = flight;
    const transport = this.transport;
    transport.send(batch).then(
      () => {
        if (this.inFlight !== flight) return;
        this.inFlight = null;
        if (fromSpool) this.spool.commit(batch.length);
        this.health.written += batch.length;
        this.health.queued = this.waiting();
        this.pump();
      },
      (err: Error) => {
        if (this.inFlight !== flight) return;
        // A batch from memory goes back in front; one from the spool was never removed from it.
        if (!fromSpool) this.memory = [...batch, ...this.memory];
        this.inFlight = null;
        if (this.transport === transport) this.down(err);
      },
    );
  }
}

function takeBatch(records: readonly Envelope[]): Envelope[] {
  let bytes = 0;
  let n = 0;
  while (n < records.length && n < BATCH_RECORDS && (n === 0 || bytes + records[n].json.length <= BATCH_BYTES)) {
    bytes += records[n].json.length;
    n++;
  }
  return records.slice(0, n);
}

function errorText(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined ? `${code}${err.message.includes(code) ? '' : `: ${err.message}`}` : err.message;
}

/** A URL as messages show it: without the password it may carry. */
/**
 * An `outputs:` entry from a network output's URL: the URL without its query (checked by
 * `checkEndpoint`), and the query's parameters as the entry's options.
 */
export function specFromUrl(type: string, text: string, checkEndpoint: (base: string) => unknown): Record<string, string> {
  const q = text.indexOf('?');
  const base = q < 0 ? text : text.slice(0, q);
  checkEndpoint(base);
  return { type, url: base, ...(q < 0 ? {} : Object.fromEntries(new URLSearchParams(text.slice(q + 1)))) };
}

export function shown(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

/** Host and port of `scheme://HOST:PORT...`; throws an Error naming what is wrong. */
export function endpointOf(text: string, defaultPort?: number): { url: URL; host: string; port: number } {
  // Checked on the text: URL rejects a port above 65535 as a malformed URL, which says less.
  const portText = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^/:?#]*)(?::([^/?#]*))?/i.exec(text)?.[1];
  if (portText !== undefined && portText !== '' && !(/^\d+$/.test(portText) && Number(portText) >= 1 && Number(portText) <= 65535)) {
    throw new Error(`'${shown(text)}': port '${portText}' is not a number from 1 to 65535`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`'${shown(text)}' is not a valid URL`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new Error(`'${shown(text)}': no host`);
  // URL drops a port outside 0-65535 with an error above, and the scheme's default port silently.
  const port = url.port === '' ? defaultPort : Number(url.port);
  if (port === undefined) throw new Error(`'${shown(text)}': no port (HOST:PORT)`);
  return { url, host, port };
}
