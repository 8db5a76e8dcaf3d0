import type { DetectSink } from '../detect/alert.js';
import { RuleLoadError } from '../detect/rule-loader.js';
import { RuleSet } from '../detect/rule-set.js';
import type { StatsInput } from '../output/eve.js';
import { Inventory } from '../output/inventory.js';
import { EveSink, FanOutSink, openOutputFile } from '../output/sinks.js';
import { TextSink, formatSummary, type CaptureSummary } from '../output/text.js';
import { Detector } from '../pipeline/detector.js';
import { ShardedReplay } from '../pipeline/sharded-replay.js';
import { UsageError, type AnalysisSettings } from './analysis-options.js';
import type { Logger } from './logger.js';

/**
 * Everything one analysis run needs around the detector, the same for replay and live: the rules,
 * the output sinks (EVE, text, inventory), periodic and final stats, and the summary.
 */
export class AnalysisSession {
  private constructor(
    readonly settings: AnalysisSettings,
    readonly detector: Detector | ShardedReplay,
    readonly inventory: Inventory,
    private readonly eveSinks: EveSink[],
    private readonly log: Logger,
  ) {}

  /** Loads rules and opens outputs; throws RuleLoadError for bad rules. */
  static async open(settings: AnalysisSettings, log: Logger): Promise<AnalysisSession> {
    const ruleSet = await loadRules(settings, log);
    const text = settings.format === 'text';
    const eveOptions = { evidence: settings.evidence, flows: settings.flows };
    const eveSinks: EveSink[] = [];
    if (!text) eveSinks.push(new EveSink(process.stdout, eveOptions));
    if (settings.eve !== null && !(settings.eve === '-' && !text)) {
      // Full evidence can hold patient data: such files are readable by their owner only.
      let out;
      try {
        out = await openOutputFile(settings.eve, { private: settings.evidence === 'full' });
      } catch (err) {
        throw new UsageError(`${settings.eve}: cannot write: ${(err as Error).message.replace(/^[A-Z]+: /, '')}`);
      }
      eveSinks.push(new EveSink(out, eveOptions));
    }
    const inventory = new Inventory();
    const sinks: DetectSink[] = [inventory, ...eveSinks];
    if (text) sinks.push(new TextSink(process.stdout, { color: process.stdout.isTTY === true, evidence: settings.evidence }));
    if (settings.workers > 1 && ruleSet.gate.counts) {
      // Each worker would count the windows of its own share of the traffic.
      throw new UsageError('the rules define thresholds, which are counted per analysis thread: run without --workers');
    }
    const sink = new FanOutSink(sinks);
    const detector =
      settings.workers > 1
        ? new ShardedReplay(ruleSet, sink, settings.detector, { rulesDir: settings.rulesDir, homeNet: settings.homeNet, indicatorFiles: settings.indicatorFiles }, settings.workers)
        : new Detector(ruleSet, sink, settings.detector);
    return new AnalysisSession(settings, detector, inventory, eveSinks, log);
  }

  /**
   * A promise to wait on when an EVE output has more queued than it can take (a slow disk or a
   * stalled reader), so that replay slows down instead of queueing records in memory.
   */
  backpressure(): Promise<void> | undefined {
    for (const eve of this.eveSinks) if (eve.backlogged) return eve.drain();
    return undefined;
  }

  /** Reloads rules and indicators; a failed reload keeps the rules in force and says why. */
  async reloadRules(): Promise<boolean> {
    try {
      const ruleSet = await loadRules(this.settings, this.log);
      if (this.detector instanceof ShardedReplay) throw new Error('reload is not available with workers');
      this.detector.reload(ruleSet);
      this.log.info('rules reloaded');
      return true;
    } catch (err) {
      if (!(err instanceof RuleLoadError)) throw err;
      this.log.error({ problems: err.problems }, 'rule reload failed; keeping the rules in force');
      return false;
    }
  }

  /** Writes a stats record to the EVE outputs and the log. */
  writeStats(capture?: StatsInput['capture']): StatsInput {
    const stats = this.detector.stats(capture);
    for (const eve of this.eveSinks) eve.writeStats(stats);
    this.log.info(
      {
        packets: stats.decode.packets,
        invalid: stats.decode.invalid,
        flows: stats.flows.active,
        alerts: stats.detect.alerts,
        kernelDrops: capture?.kernelDrops,
        rssMb: Math.round((stats.memoryRssBytes ?? 0) / 1e6),
      },
      'stats',
    );
    return stats;
  }

  /** Ends the run: flushes flows, writes the final stats and inventory, prints the summary. */
  async close(captures: CaptureSummary[], seconds: number, capture?: StatsInput['capture']): Promise<void> {
    await this.detector.finish();
    const stats = this.detector.stats(capture);
    for (const eve of this.eveSinks) {
      eve.writeStats(stats);
      eve.writeInventory(this.inventory);
      await eve.end();
    }
    // People read the summary: on stdout beside text alerts, on stderr when stdout carries JSON.
    const out = this.settings.format === 'text' ? process.stdout : process.stderr;
    out.write(formatSummary({ ...stats, seconds, captures, inventory: this.inventory }, { color: out.isTTY === true }));
  }

  get alerts(): number {
    return this.detector.alerts;
  }
}

async function loadRules(settings: AnalysisSettings, log: Logger): Promise<RuleSet> {
  const loaded = await RuleSet.load({ rulesDir: settings.rulesDir, homeNet: settings.homeNet, indicatorFiles: settings.indicatorFiles });
  for (const warning of loaded.warnings) log.warn(warning);
  for (const f of loaded.indicatorCounts) log.info({ file: f.file, loaded: f.loaded, skipped: f.skipped }, 'indicator list loaded');
  return loaded.ruleSet;
}
