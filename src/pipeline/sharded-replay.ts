import { Worker } from 'node:worker_threads';
import type { CaptureCounters } from '../capture/capture-stats.js';
import { CaptureError } from '../capture/errors.js';
import type { DetectSink } from '../detect/alert.js';
import { DetectStats } from '../detect/alert-delivery.js';
import { RoleResolver, type RoleChannel } from '../detect/host-roles.js';
import type { CompiledRule } from '../detect/rule.js';
import type { RuleSet } from '../detect/rule-set.js';
import type { RunStats } from '../stats/run-stats.js';
import type { Analysis } from './analysis.js';
import { Detector, type DetectorOptions } from './detector.js';
import { PacketShare } from './packet-share.js';
import { replay, type InputOutcome, type ReplayHooks, type ReplayInput } from './replay.js';
import { addCounters, restoreAlert, unpackFlowRecords, type Finding, type FromWorker, type InputReport, type RuleSource, type ToWorker, type WorkerSetup } from './worker-messages.js';

/** This thread lets the workers' findings in at least this often, in packets of its own reading. */
const YIELD_PACKETS = 1 << 14;

/**
 * Replay across threads: this one and N-1 workers. Every thread reads all the captures and
 * analyses the packets whose outermost address pair hashes to it (see outer-pair.ts), so both
 * directions of a flow, every flow between the same two hosts (the portmap/MOUNT/NFS sequence)
 * and every fragment stay in one thread. This thread also hands every thread's findings to the
 * sinks, so outputs, inventory and summary are the same code as single-threaded. Nothing per
 * packet crosses threads.
 *
 * Host roles are the exception to "one thread sees it all": a monitor identified by its flows
 * with the central station (one host pair, one thread) may be reached from outside in another
 * (another pair, another thread). So no thread decides a role alert: each reports the hosts it
 * identified and the alerts that need a role, and this thread resolves them with the same
 * RoleResolver one thread uses. Threads report out of time order, so an alert whose flow began
 * before every identification known so far is held until the end of the run: an earlier one may
 * still come from a thread that lags, and the alert must say what one thread would have said.
 */
export class ShardedReplay implements Analysis {
  private readonly rules: Map<number, CompiledRule>;
  /** Every alert to the sink passes here, counted. */
  private readonly counted: DetectSink;
  private merged: RunStats | null = null;
  alerts = 0;
  private readonly roleStats = new DetectStats();
  private readonly roles: RoleResolver;

  constructor(
    private readonly ruleSet: RuleSet,
    private readonly sink: DetectSink,
    private readonly options: DetectorOptions,
    private readonly source: RuleSource,
    private readonly workers: number,
  ) {
    this.rules = new Map(ruleSet.rules.map((r) => [r.id, r]));
    this.counted = {
      alert: (alert) => {
        this.alerts++;
        this.sink.alert(alert);
      },
      flowEnd: (record) => this.sink.flowEnd(record),
    };
    this.roles = new RoleResolver(ruleSet, this.roleStats, this.counted, true);
  }

  /**
   * Analyses the captures; resolves with what was read of each once every share is done. This
   * thread analyses the first share itself from the captures already open, while the worker
   * threads, which open them again, analyse the others. Progress is this thread's; the
   * backpressure hook holds back this thread's reading and every worker's findings.
   */
  async replay(opened: readonly ReplayInput[], hooks: ReplayHooks = {}): Promise<InputOutcome[]> {
    const inputs = opened.map((o) => ({ path: o.path, name: o.name }));
    const workers: Worker[] = [];
    let failed = false;
    const workerHooks: ReplayHooks = { backpressure: hooks.backpressure, interrupted: () => failed || hooks.interrupted?.() === true };
    try {
      const followed = Array.from({ length: this.workers - 1 }, (_, i) => {
        const setup: WorkerSetup = { index: i + 1, count: this.workers, ...this.source, options: this.options, inputs };
        const worker = new Worker(new URL('./replay-worker.js', import.meta.url), { workerData: setup });
        workers.push(worker);
        return this.follow(worker, workerHooks).catch((err: unknown) => {
          failed = true;
          throw err;
        });
      });
      const own = this.analyseFirstShare(opened, { ...hooks, interrupted: workerHooks.interrupted });
      const [mine, ...theirs] = await Promise.all([own, ...followed]);
      this.roles.finish();
      const totals: Record<string, unknown> = {};
      for (const o of [mine, ...theirs]) addCounters(totals, o.stats as Record<string, unknown>);
      addCounters(totals, { detect: this.roleStats });
      // Time and memory are not sums: the run's uptime, and this process's resident memory.
      totals.uptimeSec = Math.max(...[mine, ...theirs].map((o) => (o.stats as RunStats).uptimeSec));
      totals.memoryRssBytes = process.memoryUsage.rss();
      this.merged = totals as unknown as RunStats;
      // Every thread read every packet: this one tells what the captures held.
      return mine.outcomes;
    } finally {
      failed = true;
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }

  /**
   * Share 0, on this thread, with a detector of its own that reports host roles here as a worker
   * does. Every so many packets it lets the workers' findings in: the next chunk is often read
   * already, and the loop would not otherwise wait for anything.
   */
  private async analyseFirstShare(opened: readonly ReplayInput[], hooks: ReplayHooks): Promise<{ stats: unknown; outcomes: InputOutcome[] }> {
    const roles: RoleChannel = {
      identified: (role, address, tsSec, tsNsec) => this.roles.identified(role, address, tsSec, tsNsec),
      awaiting: (alert, role) => {
        this.roles.awaiting(alert, role);
        return false;
      },
    };
    const detector = new Detector(this.ruleSet, this.counted, { ...this.options, roles, flows: { ...this.options.flows, idOffset: 0, idStride: this.workers } });
    let sinceYield = 0;
    const outcomes = await replay(opened, new PacketShare(detector, 0, this.workers), {
      ...hooks,
      backpressure: () => {
        const wait = hooks.backpressure?.();
        if (wait !== undefined || ++sinceYield < YIELD_PACKETS) return wait;
        sinceYield = 0;
        return new Promise((resolve) => setImmediate(resolve));
      },
    });
    detector.finish();
    // The same shape as the workers' statistics, which come as structured clones.
    return { stats: structuredClone(detector.stats()), outcomes };
  }

  /** Nothing left to do once replay() is over: each thread ended its own flows. */
  finish(): void {}

  stats(capture?: CaptureCounters): RunStats {
    if (this.merged === null) throw new Error('worker statistics are only known once the run has finished');
    return { ...this.merged, capture };
  }

  /** Each worker loaded the rules itself. */
  canReload(): boolean {
    return false;
  }

  reload(): void {
    throw new Error('rules cannot be reloaded while replaying with workers');
  }

  /** Delivers one worker's findings until it finishes; rejects if it fails or stops early. */
  private follow(worker: Worker, hooks: ReplayHooks): Promise<{ stats: unknown; inputs: InputReport[] }> {
    return new Promise((resolve, reject) => {
      let done = false;
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'batch': {
            this.deliver(message.findings);
            hooks.progress?.(message.position);
            if (hooks.interrupted?.() === true) worker.postMessage({ type: 'stop' } satisfies ToWorker);
            const wait = hooks.backpressure?.();
            const ack = () => worker.postMessage({ type: 'ack' } satisfies ToWorker);
            if (wait === undefined) ack();
            else wait.then(ack, ack);
            return;
          }
          case 'finished':
            this.deliver(message.findings);
            hooks.progress?.(message.position);
            done = true;
            resolve({ stats: message.stats, inputs: message.inputs });
            return;
          case 'capture-failed':
            reject(new CaptureError(message.file, message.offset, message.reason));
            return;
          case 'failed':
            reject(new Error(`analysis worker failed: ${message.message}`));
            return;
        }
      });
      worker.on('error', reject);
      worker.on('exit', (code) => {
        if (!done) reject(new Error(`analysis worker stopped (exit code ${code})`));
      });
    });
  }

  private deliver(findings: Finding[]): void {
    for (const f of findings) {
      switch (f.kind) {
        case 'alert': {
          const alert = restoreAlert(f.alert, this.rules);
          if (alert === null) continue;
          this.alerts++;
          this.sink.alert(alert);
          break;
        }
        case 'flows':
          unpackFlowRecords(f.columns, (record) => this.sink.flowEnd(record));
          break;
        case 'identified':
          this.roles.identified(f.role, f.address, f.tsSec, f.tsNsec);
          break;
        case 'awaiting': {
          const alert = restoreAlert(f.alert, this.rules);
          if (alert !== null) this.roles.awaiting(alert, f.role);
          break;
        }
      }
    }
  }
}
