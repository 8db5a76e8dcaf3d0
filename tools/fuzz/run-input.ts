/**
 * Runs one capture file through the real analysis path, as `wardwatch replay` does: openCapture,
 * the replay loop, the Detector with the given rules, EVE, text and inventory outputs written to
 * a null stream, finish, the final stats and the summary. Exceptions propagate to the
 * caller; broken invariants (caps exceeded, counters gone negative, state left after the end,
 * analyzer faults) come back as problems.
 */
import { Writable } from 'node:stream';
import type { Analyzer, AnalyzerFactory, EvidenceMode } from '../../src/analyzers/analyzer.js';
import { ANALYZERS } from '../../src/analyzers/registry.js';
import { CaptureError } from '../../src/capture/errors.js';
import { openCapture } from '../../src/capture/open-capture.js';
import { DEFAULT_DEFRAG_OPTIONS, type DefragOptions } from '../../src/decode/defrag.js';
import type { RuleSet } from '../../src/detect/rule-set.js';
import { statsRecord } from '../../src/output/eve.js';
import { Inventory } from '../../src/output/inventory.js';
import { EveOutput } from '../../src/output/eve-output.js';
import { FanOutSink } from '../../src/output/output.js';
import { formatSummary } from '../../src/output/text.js';
import { TextOutput } from '../../src/output/text-output.js';
import { DEFAULT_FLOW_TABLE_OPTIONS, type FlowTableOptions } from '../../src/flow/flow-table.js';
import { Detector, type DetectorOptions } from '../../src/pipeline/detector.js';
import { replay } from '../../src/pipeline/replay.js';

export interface RunOptions {
  evidence: EvidenceMode;
  /** Read buffer size of the capture reader; undefined for the product's default. */
  chunkSize?: number;
  /** Small caps everywhere, so eviction, memcaps and time-outs are exercised by small inputs. */
  tightCaps: boolean;
}

export interface RunResult {
  packets: number;
  alerts: number;
  /** The reader's verdict on damage (or why the file was refused); expected on fuzzed input. */
  captureError: string | null;
  /** Invariants the run broke; empty when it ran cleanly. */
  problems: string[];
}

const TIGHT_FLOWS: FlowTableOptions = {
  ...DEFAULT_FLOW_TABLE_OPTIONS,
  maxFlows: 16,
  timeouts: { tcpNew: 5, tcpEstablished: 20, tcpClosed: 2, udpNew: 5, udpEstablished: 10, otherNew: 5, otherEstablished: 10 },
  reassembly: { depth: 8192, maxBufferedPerStream: 4096, maxSegmentsPerStream: 16, memcap: 16384, maxAhead: 65536, jumpsBeforeResync: 3 },
};
const TIGHT_DEFRAG: DefragOptions = { timeoutSec: 5, maxDatagrams: 8, maxBytes: 8192 };

export function detectorOptions(options: RunOptions): DetectorOptions & { flows: FlowTableOptions; defrag: DefragOptions } {
  return {
    evidence: options.evidence,
    flows: options.tightCaps ? TIGHT_FLOWS : DEFAULT_FLOW_TABLE_OPTIONS,
    defrag: options.tightCaps ? TIGHT_DEFRAG : DEFAULT_DEFRAG_OPTIONS,
  };
}

export function nullStream(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

export async function runCapture(path: string, ruleSet: RuleSet, options: RunOptions, analyzers?: readonly AnalyzerFactory[]): Promise<RunResult> {
  let opened;
  try {
    opened = await openCapture(path, { chunkSize: options.chunkSize });
  } catch (err) {
    if (err instanceof CaptureError) return { packets: 0, alerts: 0, captureError: err.message, problems: [] };
    throw err;
  }
  const { source } = opened;
  const detOptions = detectorOptions(options);
  const inventory = new Inventory();
  const eve = new EveOutput('eve:null', nullStream(), { evidence: options.evidence, flows: true });
  const text = new TextOutput('text:null', nullStream(), { color: false, evidence: options.evidence });
  const sink = new FanOutSink([inventory, eve, text]);
  const detector = new Detector(ruleSet, sink, detOptions, analyzers);
  const problems: string[] = [];
  const caps = new CapChecker(detector, detOptions, problems);
  let packets = 0;
  const started = process.hrtime.bigint();
  await replay([{ path, name: path, source }], {
    process(pkt, captureFile) {
      packets++;
      detector.process(pkt, captureFile);
      caps.check(packets);
    },
  });
  detector.finish();
  const stats = detector.stats();
  eve.stats(stats);
  eve.inventory(inventory.snapshot());
  await Promise.all([eve.close(), text.close()]);
  for (const output of [eve, text]) if (output.health.error !== null) problems.push(`${output.name} failed: ${output.health.error.message}`);
  formatSummary({
    ...stats,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    captures: [{ name: path, format: source.format, compressed: opened.compressed, packets, error: source.error === null ? null : { offset: source.error.offset ?? 0, message: source.error.message } }],
    inventory,
  });

  caps.check(packets);
  const flows = detector.pipeline.flows;
  if (flows.size !== 0) problems.push(`${flows.size} flows still in the table after finish()`);
  if (stats.reassembly.bufferedBytes !== 0) problems.push(`reassembly holds ${stats.reassembly.bufferedBytes} bytes after finish()`);
  if (stats.app.analyzerErrors > 0) problems.push(`${stats.app.analyzerErrors} analyzer fault(s) caught by the app layer`);
  for (const [key, value] of numericLeaves(statsRecord(stats))) {
    if (!Number.isFinite(value) || value < 0) problems.push(`stats record ${key} = ${value}`);
  }
  return { packets, alerts: stats.detect.alerts, captureError: source.error?.message ?? null, problems };
}

/** Checks, after every packet, that the state the caps bound stays within them. */
class CapChecker {
  private reported = new Set<string>();

  constructor(
    private readonly detector: Detector,
    private readonly options: { flows: FlowTableOptions; defrag: DefragOptions },
    private readonly problems: string[],
  ) {}

  check(packet: number): void {
    const p = this.detector.pipeline;
    const f = this.options.flows;
    const d = this.options.defrag;
    const buffered = p.flows.reassembly.bufferedBytes;
    if (p.flows.size > f.maxFlows) this.report('flows', `flow table holds ${p.flows.size} flows, cap ${f.maxFlows} (packet ${packet})`);
    if (buffered > f.reassembly.memcap || buffered < 0) this.report('memcap', `reassembly buffers ${buffered} bytes, memcap ${f.reassembly.memcap} (packet ${packet})`);
    if (p.decoder.defrag.pending > d.maxDatagrams) this.report('defrag-pending', `defrag holds ${p.decoder.defrag.pending} datagrams, cap ${d.maxDatagrams} (packet ${packet})`);
    const held = p.decoder.defrag.bytesHeld;
    if (held > d.maxBytes || held < 0) this.report('defrag-bytes', `defrag holds ${held} bytes, cap ${d.maxBytes} (packet ${packet})`);
  }

  private report(key: string, message: string): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.problems.push(message);
  }
}

function* numericLeaves(value: unknown, path = ''): Generator<[string, number]> {
  if (typeof value === 'number') yield [path, value];
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* numericLeaves(v, path === '' ? k : `${path}.${k}`);
  }
}

/**
 * The shipped analyzers, wrapped so the first fault each throws is kept (the app layer catches
 * and counts them, which hides the stack).
 */
export function recordingAnalyzers(faults: Error[]): AnalyzerFactory[] {
  return ANALYZERS.map((factory) => ({
    proto: factory.proto,
    transports: factory.transports,
    events: factory.events,
    expects: factory.expects,
    create(ctx) {
      const inner = factory.create(ctx);
      const guard = <T>(fn: () => T): T => {
        try {
          return fn();
        } catch (err) {
          faults.push(err instanceof Error ? err : new Error(String(err)));
          throw err;
        }
      };
      const wrapped: Analyzer = {
        get verdict() {
          return inner.verdict;
        },
        data: (dir, bytes) => guard(() => inner.data(dir, bytes)),
        gap: (dir, length) => guard(() => inner.gap(dir, length)),
        end: () => guard(() => inner.end()),
      };
      return wrapped;
    },
  }));
}

/** Reruns an input whose analyzers faulted and returns the first fault with its stack. */
export async function analyzerFault(path: string, ruleSet: RuleSet, options: RunOptions): Promise<Error | null> {
  const faults: Error[] = [];
  await runCapture(path, ruleSet, options, recordingAnalyzers(faults));
  return faults[0] ?? null;
}
