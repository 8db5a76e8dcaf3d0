/** Where records go: EVE JSON lines on a stream, several sinks at once, and the output files. */
import { closeSync, createWriteStream, fchmodSync, openSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { EvidenceMode } from '../analyzers/analyzer.js';
import type { Alert, DetectSink, FlowRecord } from '../detect/alert.js';
import { alertRecord, type EveRecord, flowRecord, inventoryRecord, type StatsInput, statsRecord } from './eve.js';
import { Inventory, type InventorySnapshot } from './inventory.js';

export interface EveSinkOptions {
  evidence: EvidenceMode;
  /** Write a `flow` record for every ended flow. */
  flows: boolean;
}

/**
 * One EVE JSON record per line. Write errors (disk full, closed pipe) do not throw on the packet
 * path: the first one is kept in `error` and later records are dropped.
 */
export class EveSink implements DetectSink {
  private failure: Error | null = null;

  constructor(
    private readonly out: Writable,
    private readonly options: EveSinkOptions,
  ) {
    out.on('error', (err: Error) => {
      this.failure ??= err;
    });
  }

  get error(): Error | null {
    return this.failure;
  }

  alert(alert: Alert): void {
    this.write(alertRecord(alert, { evidence: this.options.evidence }));
  }

  flowEnd(record: FlowRecord): void {
    if (this.options.flows) this.write(flowRecord(record));
  }

  writeStats(input: StatsInput, nowMs?: number): void {
    this.write(statsRecord(input, nowMs));
  }

  writeInventory(inventory: Inventory | InventorySnapshot, nowMs?: number): void {
    this.write(inventoryRecord(inventory instanceof Inventory ? inventory.snapshot() : inventory, nowMs));
  }

  /** The stream holds more than its high-water mark; a caller that can pause should await drain(). */
  get backlogged(): boolean {
    return this.out.writableNeedDrain;
  }

  drain(): Promise<void> {
    if (!this.out.writableNeedDrain || this.failure !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('error', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('error', done);
      this.out.on('close', done);
    });
  }

  /** Flushes and, unless it is stdout or stderr, closes the stream. Rejects with a write error. */
  async end(): Promise<void> {
    const out = this.out;
    if (out === process.stdout || out === process.stderr) {
      await this.drain();
    } else if (!out.writableFinished && !out.destroyed) {
      await new Promise<void>((resolve) => {
        out.once('close', resolve);
        out.once('error', () => resolve());
        out.end();
      });
    }
    if (this.failure !== null) throw this.failure;
  }

  private write(record: EveRecord): void {
    if (this.failure !== null || this.out.destroyed) return;
    this.out.write(JSON.stringify(record) + '\n');
  }
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
