import cliProgress from 'cli-progress';
import { CaptureError } from '../capture/errors.js';
import { MergedSource } from '../capture/merged-source.js';
import { openCapture } from '../capture/open-capture.js';
import type { PacketSource } from '../capture/capture-reader.js';
import type { DetectSink } from '../detect/alert.js';
import { RuleLoadError } from '../detect/rule-loader.js';
import { RuleSet } from '../detect/rule-set.js';
import { Detector } from '../pipeline/detector.js';
import { Inventory } from '../output/inventory.js';
import { EveSink, FanOutSink, openOutputFile } from '../output/sinks.js';
import { TextSink, formatSummary, type SummaryInput } from '../output/text.js';
import { resolveSettings, type SharedCliOptions } from './analysis-options.js';
import { expandInputs } from './inputs.js';
import { createLogger } from './logger.js';

export const EXIT_OK = 0;
export const EXIT_ALERTS = 1;
export const EXIT_USAGE = 2;

interface OpenedInput {
  path: string;
  source: PacketSource;
  compressed: boolean;
  sizeOnDisk: number | null;
  packets: number;
}

/**
 * `wardwatch replay`: reads captures (several files and directories as one capture, in timestamp
 * order), analyses them, and writes alerts, flow records, stats and a summary. Damage in a capture
 * ends that capture with a warning; everything found before it is reported.
 */
export async function replay(inputs: string[], cli: SharedCliOptions): Promise<number> {
  const settings = await resolveSettings(cli);
  const log = createLogger(settings.logLevel as 'info');
  let ruleSet: RuleSet;
  try {
    const loaded = await RuleSet.load({ rulesDir: settings.rulesDir, homeNet: settings.homeNet, indicatorFiles: settings.indicatorFiles });
    ruleSet = loaded.ruleSet;
    for (const w of loaded.warnings) log.warn(w);
    for (const f of loaded.indicatorCounts) log.info({ file: f.file, loaded: f.loaded, skipped: f.skipped }, 'indicator list loaded');
  } catch (err) {
    if (!(err instanceof RuleLoadError)) throw err;
    for (const problem of err.problems) process.stderr.write(`wardwatch: ${problem}\n`);
    return EXIT_USAGE;
  }

  let exitCode = EXIT_OK;
  const opened: OpenedInput[] = [];
  for (const path of await expandInputs(inputs)) {
    try {
      const { source, compressed, sizeOnDisk } = await openCapture(path);
      opened.push({ path, source, compressed, sizeOnDisk, packets: 0 });
    } catch (err) {
      if (!(err instanceof CaptureError)) throw err;
      process.stderr.write(`wardwatch: error: ${err.message}\n`);
      exitCode = EXIT_USAGE;
    }
  }
  if (opened.length === 0) {
    if (exitCode === EXIT_OK) process.stderr.write('wardwatch: error: no capture files to read\n');
    return EXIT_USAGE;
  }

  const text = settings.format === 'text';
  const sinks: DetectSink[] = [];
  const inventory = new Inventory();
  sinks.push(inventory);
  const eveTargets: EveSink[] = [];
  const privateOutput = settings.evidence === 'full';
  if (!text) eveTargets.push(new EveSink(process.stdout, { evidence: settings.evidence, flows: settings.flows }));
  if (settings.eve !== null && !(settings.eve === '-' && !text)) {
    eveTargets.push(new EveSink(await openOutputFile(settings.eve, { private: privateOutput }), { evidence: settings.evidence, flows: settings.flows }));
  }
  sinks.push(...eveTargets);
  if (text) sinks.push(new TextSink(process.stdout, { color: process.stdout.isTTY === true, evidence: settings.evidence }));
  const detector = new Detector(ruleSet, new FanOutSink(sinks), settings.detector);

  const started = process.hrtime.bigint();
  const progress = startProgress(opened);
  const merged = new MergedSource(opened.map((o) => o.source));
  let sinceUpdate = 0;
  await merged.forEach((pkt, index) => {
    const input = opened[index];
    input.packets++;
    detector.context.captureFile = input.path === '-' ? '<stdin>' : input.path;
    detector.process(pkt);
    if (progress !== null && ++sinceUpdate >= 65536) {
      sinceUpdate = 0;
      const done = opened.reduce((n, o) => n + o.source.position, 0);
      const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
      progress.update(done, { speed: `${(done / 1e6 / Math.max(elapsed, 1e-3)).toFixed(0)} MB/s` });
    }
  });
  detector.finish();
  progress?.stop();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  for (const input of opened) {
    await input.source.close().catch(() => undefined);
    if (input.source.error !== null) {
      process.stderr.write(`wardwatch: warning: ${input.source.error.message}; analysed the ${input.packets} packets before it\n`);
    }
  }
  const stats = detector.stats();
  for (const eve of eveTargets) {
    eve.writeStats(stats);
    eve.writeInventory(inventory);
    await eve.end();
  }
  const summary: SummaryInput = {
    ...stats,
    seconds,
    captures: opened.map((o) => ({
      name: o.path === '-' ? '<stdin>' : o.path,
      format: o.source.format,
      compressed: o.compressed,
      packets: o.packets,
      error: o.source.error === null ? null : { offset: o.source.error.offset, message: o.source.error.message },
    })),
    inventory,
  };
  // People read the summary: on stdout beside text alerts, on stderr when stdout carries JSON.
  (text ? process.stdout : process.stderr).write(formatSummary(summary, { color: (text ? process.stdout : process.stderr).isTTY === true }));
  if (settings.failOnAlert && detector.engine.stats.alerts > 0 && exitCode === EXIT_OK) exitCode = EXIT_ALERTS;
  return exitCode;
}

function startProgress(opened: OpenedInput[]): cliProgress.SingleBar | null {
  if (!process.stderr.isTTY) return null;
  const sizes = opened.map((o) => o.sizeOnDisk);
  // Progress is measured in bytes read; compressed input has no known total.
  if (sizes.some((s) => s === null) || opened.some((o) => o.compressed)) return null;
  const total = sizes.reduce((a, b) => a! + b!, 0)!;
  if (total < 64 * 1024 * 1024) return null;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'replay [{bar}] {percentage}% | {value}/{total} bytes | {speed} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { speed: '' });
  return bar;
}
