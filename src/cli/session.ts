import type { CaptureCounters } from '../capture/capture-stats.js';
import type { DetectSink } from '../detect/alert.js';
import { RuleLoadError } from '../detect/rule-loader.js';
import { RuleSet } from '../detect/rule-set.js';
import { Inventory } from '../output/inventory.js';
import { FanOutSink, outputState, type Output, type OutputHealth } from '../output/output.js';
import { openOutput, outputLabel } from '../output/registry.js';
import { formatSummary, type CaptureSummary } from '../output/text.js';
import type { Analysis } from '../pipeline/analysis.js';
import { Detector } from '../pipeline/detector.js';
import { ShardedReplay } from '../pipeline/sharded-replay.js';
import type { RunEnd, RunStats } from '../stats/run-stats.js';
import { UsageError, type AnalysisSettings } from './analysis-options.js';
import type { Logger } from './logger.js';
import { DEFAULT_HOME_NET } from '../detect/address-set.js';
import { rulePackRevision } from '../detect/rule-pack.js';
import { VERSION } from '../lib/version.js';
import type { CaptureFacts, RunFacts } from '../output/run-facts.js';

/**
 * Everything one analysis run needs around the analysis, the same for replay and live: the rules,
 * the outputs, the inventory, periodic and final stats, and the summary.
 */
export class AnalysisSession<A extends Analysis = Analysis> {
  private constructor(
    readonly settings: AnalysisSettings,
    readonly analysis: A,
    readonly inventory: Inventory,
    private readonly outputs: Output[],
    private readonly log: Logger,
    private rulePack: RunFacts['rules'],
  ) {}

  /** Replay: on this thread, or across --workers threads. Throws RuleLoadError for bad rules. */
  static open(settings: AnalysisSettings, log: Logger): Promise<AnalysisSession> {
    return AnalysisSession.create(settings, log, false, (ruleSet, sink) => {
      if (settings.workers === 1) return new Detector(ruleSet, sink, settings.detector);
      // Each worker would count the windows of its own share of the traffic.
      if (ruleSet.gate.counts) throw new UsageError('the rules define thresholds, which are counted per analysis thread: run without --workers');
      const source = { rulesDir: settings.rulesDir, homeNet: settings.homeNet, indicatorFiles: settings.indicatorFiles, monitorFiles: settings.monitorFiles };
      return new ShardedReplay(ruleSet, sink, settings.detector, source, settings.workers);
    });
  }

  /**
   * Live capture: on this thread, which the clock and rule reloads reach. SIGHUP may bring rules
   * that watch any flow, so every flow is analysed to its end. Output files are appended to: a
   * restart of the sensor keeps what the last run wrote.
   */
  static openLive(settings: AnalysisSettings, log: Logger): Promise<AnalysisSession<Detector>> {
    return AnalysisSession.create(settings, log, true, (ruleSet, sink) => new Detector(ruleSet, sink, { ...settings.detector, rulesMayChange: true }));
  }

  private static async create<T extends Analysis>(settings: AnalysisSettings, log: Logger, append: boolean, analysisFor: (ruleSet: RuleSet, sink: DetectSink) => T): Promise<AnalysisSession<T>> {
    const ruleSet = await loadRules(settings, log);
    const context = {
      evidence: settings.evidence,
      flows: settings.flows,
      onFailure: (health: OutputHealth) => process.stderr.write(`wardwatch: error: ${failureLine(health)}\n`),
      log,
      append,
    };
    const outputs: Output[] = [];
    for (const spec of settings.outputs) {
      try {
        outputs.push(openOutput(spec, context));
      } catch (err) {
        throw new UsageError(`${outputLabel(spec)}: cannot write: ${(err as Error).message.replace(/^[A-Z]+: /, '')}`);
      }
    }
    const inventory = new Inventory();
    const analysis = analysisFor(ruleSet, new FanOutSink([inventory, ...outputs]));
    return new AnalysisSession(settings, analysis, inventory, outputs, log, await rulePackOf(settings, ruleSet));
  }

  /**
   * A promise to wait on when an output has more queued than it can take (a slow disk or a
   * stalled reader), so that replay slows down instead of queueing records in memory.
   */
  backpressure(): Promise<void> | undefined {
    for (const output of this.outputs) {
      const wait = output.drain();
      if (wait !== undefined) return wait;
    }
    return undefined;
  }

  /** Reloads rules and indicators; a failed reload keeps the rules in force and says why. */
  async reloadRules(): Promise<boolean> {
    if (!this.analysis.canReload()) {
      this.log.error('rules cannot be reloaded in this run; keeping the rules in force');
      return false;
    }
    try {
      const ruleSet = await loadRules(this.settings, this.log);
      this.analysis.reload(ruleSet);
      this.rulePack = await rulePackOf(this.settings, ruleSet);
      this.log.info('rules reloaded');
      return true;
    } catch (err) {
      if (!(err instanceof RuleLoadError)) throw err;
      this.log.error({ problems: err.problems }, 'rule reload failed; keeping the rules in force');
      return false;
    }
  }

  /**
   * Closes and reopens every output file at its path (after log rotation renamed it). A file that
   * cannot be opened again is named in the log, and its output writes on to the old one.
   */
  reopenOutputs(): void {
    for (const output of this.outputs) {
      try {
        output.reopen?.();
      } catch (err) {
        this.log.error({ output: output.name, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message }, 'cannot reopen the output file; writing on to the old one');
      }
    }
    this.log.info('output files reopened');
  }

  /** Whether an output keeps what the run analysed on record (a report, an EVE file): worth a pass to hash the captures. */
  get recordsRun(): boolean {
    return this.settings.outputs.some((o) => o.type === 'report' || (o.type === 'eve' && o.path !== '-'));
  }

  /** Tells the outputs what the run analysed and how; call once, before close. */
  describeRun(captures: CaptureFacts[], interfaceName: string | null = null): void {
    const facts: RunFacts = {
      recordedAtMs: Date.now(),
      version: VERSION,
      rules: this.rulePack,
      homeNet: this.settings.homeNet ?? DEFAULT_HOME_NET,
      evidence: this.settings.evidence,
      captures,
      interfaceName,
    };
    for (const output of this.outputs) output.run?.(facts);
  }

  /** Writes a stats record to the outputs and the log. */
  writeStats(capture?: CaptureCounters): RunStats {
    const stats = this.statsNow(capture);
    this.remindFailures();
    for (const output of this.outputs) output.stats(stats);
    this.log.info(
      {
        packets: stats.decode.packets,
        invalid: stats.decode.invalid,
        flows: stats.flows.active,
        alerts: stats.detect.alerts,
        kernelDrops: capture?.kernelDrops,
        intervalPackets: capture?.intervalPackets,
        quietSeconds: capture?.quietSeconds,
        outputs: Object.fromEntries(this.outputs.map((o) => [o.name, outputState(o.health)])),
        rssMb: Math.round((stats.memoryRssBytes ?? 0) / 1e6),
      },
      'stats',
    );
    return stats;
  }

  /**
   * Ends the run: flushes flows, writes the final stats and inventory, closes the outputs and
   * prints the summary. Resolves with the outputs that failed (empty when all delivered).
   * `how.capture`: the live capture's counters; `how.end`: how the run ended when not on its own;
   * `how.drainBy` (epoch ms): when outputs waiting on a server stop waiting, all at once.
   */
  async close(captures: CaptureSummary[], seconds: number, how: { capture?: CaptureCounters; end?: RunEnd; drainBy?: number } = {}): Promise<OutputHealth[]> {
    const { capture, end, drainBy } = how;
    this.analysis.finish();
    const stats = { ...this.statsNow(capture), ...(end !== undefined && { end }) };
    const inventory = this.inventory.snapshot();
    for (const output of this.outputs) {
      output.stats(stats);
      output.inventory(inventory);
    }
    await Promise.all(this.outputs.map((o) => o.close(drainBy)));
    const failed = this.outputs.filter((o) => o.health.error !== null).map((o) => o.health);
    // People read the summary: on stdout beside text alerts, on stderr when stdout carries JSON
    // or has failed.
    const onStdout = (type: string) => this.settings.outputs.some((o) => o.type === type && 'path' in o && o.path === '-');
    const stdoutFailed = this.outputs.some((o) => o.health.error !== null && /^[a-z]+:-$/.test(o.name));
    const out = !stdoutFailed && (onStdout('text') || !onStdout('eve')) ? process.stdout : process.stderr;
    const outputs = this.outputs.map((o) => ({ ...o.health }));
    out.write(formatSummary({ ...stats, outputs, seconds, captures, inventory, failedOutputs: failed }, { color: out.isTTY === true }));
    return failed;
  }

  /** The analysis's counters with each output's. */
  private statsNow(capture?: CaptureCounters): RunStats {
    return { ...this.analysis.stats(capture), outputs: this.outputs.map((o) => ({ ...o.health })) };
  }

  /**
   * An output that keeps failing is named again with what it could not deliver since, at most
   * once a minute (its first failure was reported at once).
   */
  private remindFailures(): void {
    const now = Date.now();
    for (const output of this.outputs) {
      const h = output.health;
      if (h.error === null) continue;
      const last = this.reminded.get(output);
      // The first failure was reported when it happened.
      if (last === undefined) this.reminded.set(output, { at: now, dropped: h.dropped });
      if (last === undefined || h.dropped === last.dropped || now - last.at < 60_000) continue;
      this.reminded.set(output, { at: now, dropped: h.dropped });
      this.log.error({ output: h.name, dropped: h.dropped, reason: (h.error as NodeJS.ErrnoException).code ?? h.error.message }, 'output still failing: records dropped');
    }
  }

  private readonly reminded = new Map<Output, { at: number; dropped: number }>();

  get alerts(): number {
    return this.analysis.alerts;
  }
}

/** One line for an output that failed, naming it and the system's error code. */
function failureLine(health: OutputHealth): string {
  const err = health.error as NodeJS.ErrnoException | null;
  return `output ${health.name}: write failed: ${err?.code ?? err?.message ?? 'unknown error'}`;
}

async function rulePackOf(settings: AnalysisSettings, ruleSet: RuleSet): Promise<RunFacts['rules']> {
  return {
    dir: settings.rulesDir,
    revision: await rulePackRevision(settings.rulesDir, [...settings.indicatorFiles, ...settings.monitorFiles]),
    rules: ruleSet.rules.map((r) => ({ id: r.id, rev: r.rev })),
  };
}

async function loadRules(settings: AnalysisSettings, log: Logger): Promise<RuleSet> {
  const loaded = await RuleSet.load({ rulesDir: settings.rulesDir, homeNet: settings.homeNet, indicatorFiles: settings.indicatorFiles, monitorFiles: settings.monitorFiles });
  for (const warning of loaded.warnings) log.warn(warning);
  for (const f of loaded.indicatorCounts) log.info({ file: f.file, loaded: f.loaded, skipped: f.skipped }, 'indicator list loaded');
  for (const f of loaded.monitorCounts) log.info({ file: f.file, loaded: f.loaded, skipped: f.skipped }, 'monitors list loaded');
  return loaded.ruleSet;
}
