import type { AnalyzerFactory, EvidenceMode } from '../analyzers/analyzer.js';
import { AppLayer } from '../analyzers/app-layer.js';
import { analyzersExcept } from '../analyzers/registry.js';
import type { CaptureCounters } from '../capture/capture-stats.js';
import type { CapturedPacket } from '../capture/packet.js';
import type { DetectSink, PacketContext } from '../detect/alert.js';
import { DetectEngine } from '../detect/detect-engine.js';
import type { RuleSet } from '../detect/rule-set.js';
import type { RoleChannel } from '../detect/host-roles.js';
import type { RunStats } from '../stats/run-stats.js';
import type { Analysis } from './analysis.js';
import { Pipeline, type PipelineOptions } from './pipeline.js';
import { replay, type InputOutcome, type PacketAnalysis, type ReplayHooks, type ReplayInput } from './replay.js';

export interface DetectorOptions extends PipelineOptions {
  evidence: EvidenceMode;
  /**
   * Rules may be reloaded during the run (live capture, SIGHUP): every flow is then analysed to
   * its end, since a reloaded rule may come to watch it. Otherwise a flow whose protocol is known
   * and whose events no rule can use is no longer analysed.
   */
  rulesMayChange?: boolean;
  /** Protocols whose analyzer the configuration turned off (`app_layer.<name>.enabled: false`). */
  disabledProtocols?: readonly string[];
  /** Where host roles are resolved, when not by the rule engine itself (an analysis thread's main thread). */
  roles?: RoleChannel;
}

/**
 * The whole analysis path, from captured frames to alerts: decoding, flows, analyzers, rules.
 * Replay and live capture both drive one of these.
 */
export class Detector implements Analysis, PacketAnalysis {
  readonly context: PacketContext = { captureFile: null, packetNumber: 0, interfaceName: null };
  readonly engine: DetectEngine;
  readonly appLayer: AppLayer;
  readonly pipeline: Pipeline;
  private readonly startedAt = process.hrtime.bigint();

  /** `analyzers`: the enabled shipped ones; the fuzzer passes them wrapped to keep their faults' stacks. */
  constructor(ruleSet: RuleSet, sink: DetectSink, options: DetectorOptions, analyzers: readonly AnalyzerFactory[] = analyzersExcept(options.disabledProtocols ?? [])) {
    this.engine = new DetectEngine(ruleSet, sink, this.context, options.rulesMayChange === true, options.roles);
    this.appLayer = new AppLayer(analyzers, this.engine, options.evidence);
    this.pipeline = new Pipeline(this.appLayer, options);
  }

  replay(inputs: readonly ReplayInput[], hooks?: ReplayHooks): Promise<InputOutcome[]> {
    return replay(inputs, this, hooks);
  }

  /** One packet; `captureFile` names the capture it came from in alerts (null when live). */
  process(pkt: CapturedPacket, captureFile: string | null = null): void {
    this.context.captureFile = captureFile;
    this.context.packetNumber = pkt.index;
    this.pipeline.process(pkt);
  }

  finish(): void {
    this.pipeline.finish();
  }

  /** Live mode: the clock ends idle flows when traffic stops. */
  advanceClock(nowSec: number): void {
    this.pipeline.advanceClock(nowSec);
  }

  canReload(): boolean {
    return true;
  }

  reload(ruleSet: RuleSet): void {
    this.engine.reload(ruleSet);
  }

  get alerts(): number {
    return this.engine.stats.alerts;
  }

  stats(capture?: CaptureCounters): RunStats {
    const p = this.pipeline;
    return {
      uptimeSec: Number(process.hrtime.bigint() - this.startedAt) / 1e9,
      decode: p.decoder.stats,
      defrag: p.decoder.defrag.stats,
      flows: p.flows.stats,
      reassembly: p.flows.reassembly,
      dedup: p.dedup.stats,
      app: this.appLayer.stats,
      detect: this.engine.stats,
      capture,
      memoryRssBytes: process.memoryUsage.rss(),
    };
  }
}
