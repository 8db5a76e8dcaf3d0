import { Worker } from 'node:worker_threads';
import type { CapturedPacket } from '../capture/packet.js';
import type { DetectSink, PacketContext } from '../detect/alert.js';
import type { CompiledRule } from '../detect/rule.js';
import type { RuleSet } from '../detect/rule-set.js';
import { PacketDecoder } from '../decode/decoder.js';
import { PacketView } from '../decode/packet-view.js';
import { DECODE_HELD, DECODE_OK } from '../decode/result.js';
import type { StatsInput } from '../output/eve.js';
import type { DetectorOptions } from './detector.js';
import type { FromWorker, ToWorker, WorkerSetup } from './worker.js';
import { BATCH_BYTES, RECORD_HEADER, addCounters, restoreAlert, restoreFlowRecord, type Finding } from './worker-messages.js';

/** Batches a worker may have queued before the reader waits for it. */
const MAX_IN_FLIGHT = 4;

export interface RuleSource {
  rulesDir: string;
  homeNet: string[] | undefined;
  indicatorFiles: string[];
}

interface Shard {
  worker: Worker;
  buffer: ArrayBuffer;
  bytes: Uint8Array;
  view: DataView;
  length: number;
  inFlight: number;
  spare: ArrayBuffer[];
  wake: (() => void) | null;
  finished: ((stats: unknown) => void) | null;
}

/**
 * Replay across worker threads. This thread reads and routes each packet by a symmetric hash of
 * its two addresses, so both directions of a flow, and every flow between the same two hosts
 * (fragments, the portmap/MOUNT/NFS sequence), reach the same worker; each worker runs a whole
 * Detector. Findings come back with each batch and go to the sinks here, so outputs, inventory and
 * summary are the same code as single-threaded.
 */
export class ShardedDetector {
  readonly context: PacketContext = { captureFile: null, packetNumber: 0, interfaceName: null };
  private readonly shards: Shard[];
  private readonly rules: Map<number, CompiledRule>;
  // Decoding here only finds the addresses; a tiny fragment cache keeps it from holding datagrams.
  private readonly decoder = new PacketDecoder({ timeoutSec: 1, maxDatagrams: 1, maxBytes: 65536 });
  private readonly view = new PacketView();
  private readonly fileIndex = new Map<string, number>();
  private lastFile: string | null = null;
  private lastFileIndex = 0;
  private merged: StatsInput | null = null;
  private failure: Error | null = null;
  private terminating = false;
  alerts = 0;

  constructor(
    ruleSet: RuleSet,
    private readonly sink: DetectSink,
    options: DetectorOptions,
    source: RuleSource,
    workers: number,
  ) {
    this.rules = new Map(ruleSet.rules.map((r) => [r.id, r]));
    this.shards = [];
    for (let index = 0; index < workers; index++) {
      const setup: WorkerSetup = { index, count: workers, ...source, options };
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: setup });
      const shard: Shard = { worker, buffer: new ArrayBuffer(BATCH_BYTES), bytes: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)), length: 0, inFlight: 0, spare: [], wake: null, finished: null };
      this.useBuffer(shard, shard.buffer);
      worker.on('message', (message: FromWorker) => this.onMessage(shard, message));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (!this.terminating) this.fail(new Error(`analysis worker ${index} stopped (exit code ${code})`));
      });
      this.shards.push(shard);
    }
  }

  process(pkt: CapturedPacket): void | Promise<void> {
    if (this.failure !== null) throw this.failure;
    const shard = this.shards[this.shardOf(pkt)];
    const need = RECORD_HEADER + pkt.caplen;
    if (shard.length + need > shard.buffer.byteLength) this.send(shard, need);
    const at = shard.length;
    const v = shard.view;
    v.setUint32(at, pkt.caplen, true);
    v.setUint32(at + 4, pkt.origlen, true);
    v.setUint32(at + 8, pkt.tsSec, true);
    v.setUint32(at + 12, pkt.tsNsec, true);
    v.setUint16(at + 16, pkt.linkType, true);
    v.setUint16(at + 18, this.fileOf(this.context.captureFile), true);
    v.setUint32(at + 20, pkt.index, true);
    shard.bytes.set(pkt.data.subarray(pkt.offset, pkt.offset + pkt.caplen), at + RECORD_HEADER);
    shard.length += need;
    if (shard.inFlight >= MAX_IN_FLIGHT) return new Promise((resolve) => (shard.wake = resolve));
  }

  async finish(): Promise<void> {
    const done = this.shards.map(
      (shard) =>
        new Promise<unknown>((resolve) => {
          shard.finished = resolve;
          if (shard.length > 0) this.send(shard, 0);
          shard.worker.postMessage({ type: 'finish' } satisfies ToWorker);
        }),
    );
    const stats = await Promise.race([Promise.all(done), this.failed()]);
    if (this.failure !== null) throw this.failure;
    const totals: Record<string, unknown> = {};
    for (const s of stats as Array<Record<string, unknown>>) addCounters(totals, s);
    // Time and memory are not sums: the run's uptime, and this process's resident memory.
    totals.uptimeSec = Math.max(...(stats as StatsInput[]).map((s) => s.uptimeSec));
    totals.memoryRssBytes = process.memoryUsage.rss();
    this.merged = totals as unknown as StatsInput;
    this.terminating = true;
    await Promise.all(this.shards.map((s) => s.worker.terminate()));
  }

  stats(capture?: StatsInput['capture']): StatsInput {
    if (this.merged === null) throw new Error('worker statistics are only known once the run has finished');
    return { ...this.merged, capture };
  }

  /** Replay only: packet time drives the workers. */
  advanceClock(): void {}

  reload(): void {
    throw new Error('rules cannot be reloaded while replaying with workers');
  }

  /**
   * Routes by the OUTERMOST IP address pair: a tunnelled packet's fragments only show the
   * tunnel's addresses until they are whole, so routing by the inner pair would split them.
   */
  private shardOf(pkt: CapturedPacket): number {
    const result = this.decoder.decode(pkt, this.view);
    if (result !== DECODE_OK && result !== DECODE_HELD) return 0;
    const h = this.view.outerPairHash;
    return (Math.imul(h ^ (h >>> 16), 0x45d9f3b) >>> 0) % this.shards.length;
  }

  private fileOf(name: string | null): number {
    if (name === this.lastFile) return this.lastFileIndex;
    const key = name ?? '';
    let index = this.fileIndex.get(key);
    if (index === undefined) {
      index = this.fileIndex.size;
      this.fileIndex.set(key, index);
      for (const shard of this.shards) shard.worker.postMessage({ type: 'file', index, name: key } satisfies ToWorker);
    }
    this.lastFile = name;
    this.lastFileIndex = index;
    return index;
  }

  /** Hands the filled batch to the worker and starts a new one with room for `need` bytes. */
  private send(shard: Shard, need: number): void {
    if (shard.length > 0) {
      shard.worker.postMessage({ type: 'batch', buffer: shard.buffer, length: shard.length } satisfies ToWorker, [shard.buffer]);
      shard.inFlight++;
    }
    const size = Math.max(BATCH_BYTES, need);
    const spare = shard.spare.pop();
    this.useBuffer(shard, spare !== undefined && spare.byteLength >= size ? spare : new ArrayBuffer(size));
  }

  private useBuffer(shard: Shard, buffer: ArrayBuffer): void {
    shard.buffer = buffer;
    shard.bytes = new Uint8Array(buffer);
    shard.view = new DataView(buffer);
    shard.length = 0;
  }

  private onMessage(shard: Shard, message: FromWorker): void {
    switch (message.type) {
      case 'batch-done':
        shard.inFlight--;
        if (message.buffer.byteLength === BATCH_BYTES && shard.spare.length < MAX_IN_FLIGHT) shard.spare.push(message.buffer);
        this.deliver(message.findings);
        if (shard.wake !== null && shard.inFlight < MAX_IN_FLIGHT) {
          const wake = shard.wake;
          shard.wake = null;
          wake();
        }
        return;
      case 'finished':
        this.deliver(message.findings);
        shard.finished?.(message.stats);
        return;
      case 'failed':
        this.fail(new Error(`analysis worker failed: ${message.message}`));
        return;
    }
  }

  private deliver(findings: Finding[]): void {
    for (const f of findings) {
      if (f.kind === 'alert') {
        const alert = restoreAlert(f.alert, this.rules);
        if (alert === null) continue;
        this.alerts++;
        this.sink.alert(alert);
      } else {
        this.sink.flowEnd(restoreFlowRecord(f.record));
      }
    }
  }

  private failureWaiters: Array<() => void> = [];

  private failed(): Promise<never> {
    return new Promise((_, reject) => {
      if (this.failure !== null) reject(this.failure);
      else this.failureWaiters.push(() => reject(this.failure));
    });
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    for (const shard of this.shards) shard.wake?.();
    for (const waiter of this.failureWaiters) waiter();
  }
}
