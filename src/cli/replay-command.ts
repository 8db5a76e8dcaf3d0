import type CliProgress from 'cli-progress';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { CaptureError } from '../capture/errors.js';
import type { RunEnd } from '../stats/run-stats.js';
import { openCapture, readAheadFor } from '../capture/open-capture.js';
import { RuleLoadError } from '../detect/rule-loader.js';
import type { InputOutcome, ReplayInput } from '../pipeline/replay.js';
import { captureIdentity, type CaptureIdentity } from '../capture/capture-facts.js';
import type { CaptureFacts } from '../output/run-facts.js';
import { UsageError, resolveSettings, type SharedCliOptions } from './analysis-options.js';
import { expandInputs } from './inputs.js';
import { createLogger } from './logger.js';
import { AnalysisSession } from './session.js';

export const EXIT_OK = 0;
export const EXIT_ALERTS = 1;
export const EXIT_USAGE = 2;

interface OpenedInput extends ReplayInput {
  compressed: boolean;
  sizeOnDisk: number | null;
}

/**
 * `wardwatch replay`: reads captures (several files and directories as one capture, in timestamp
 * order), analyses them, and writes alerts, flow records, stats and a summary. Damage in a capture
 * ends that capture with a warning; everything found before it is reported.
 */
export async function replay(inputs: string[], cli: SharedCliOptions): Promise<number> {
  // From the start: an interrupted replay still reports what it read. A second signal ends it at once.
  let interruptedBy: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedBy !== null) process.exit(exitCodeOf(signal));
    interruptedBy = signal;
    // Standard input may be waiting for bytes that never come: end it; files stop at the next check.
    if (inputs.includes('-')) process.stdin.push(null);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const code = await replayUntil(inputs, cli, () => interruptedBy);
    return interruptedBy === null ? code : exitCodeOf(interruptedBy);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** 128 + the signal's number, as a shell reports a process ended by it. */
function exitCodeOf(signal: NodeJS.Signals): number {
  return 128 + (signal === 'SIGINT' ? 2 : 15);
}

async function replayUntil(
  inputs: string[],
  cli: SharedCliOptions,
  interrupted: () => NodeJS.Signals | null,
): Promise<number> {
  const settings = await resolveSettings(cli);
  if (settings.workers > 1 && inputs.includes('-')) {
    throw new UsageError('--workers: every thread reads the captures itself, so they must be files, not standard input');
  }
  const log = createLogger(settings.logLevel as 'info');
  const cores = availableParallelism();
  if (settings.workers > 1 && settings.workers >= cores) {
    // Measured on two cores: one replay already keeps more than a core busy (garbage collection,
    // reads), and every worker reads every capture, so two workers there are slower than one.
    log.warn({ workers: settings.workers, cores }, 'as many analysis threads as cores: replay is likely slower than with one thread');
  }
  let session: AnalysisSession;
  try {
    session = await AnalysisSession.open(settings, log);
  } catch (err) {
    if (!(err instanceof RuleLoadError)) throw err;
    for (const problem of err.problems) process.stderr.write(`wardwatch: error: ${problem}\n`);
    return EXIT_USAGE;
  }

  let exitCode = EXIT_OK;
  const failures: string[] = [];
  const opened: OpenedInput[] = [];
  const paths = await expandInputs(inputs);
  // With analysis threads, which open the captures again, this thread only checks their format.
  const readAhead = settings.workers > 1 ? 1 : readAheadFor(paths.length);
  for (const path of paths) {
    try {
      const { source, compressed, sizeOnDisk } = await openCapture(path, { readAhead });
      opened.push({ path, name: path === '-' ? '<stdin>' : path, source, compressed, sizeOnDisk });
    } catch (err) {
      if (!(err instanceof CaptureError)) throw err;
      process.stderr.write(`wardwatch: error: ${err.message}\n`);
      failures.push(err.message);
      exitCode = EXIT_USAGE;
    }
  }
  if (opened.length === 0 && exitCode === EXIT_OK) {
    process.stderr.write('wardwatch: error: no capture files to read\n');
    failures.push('no capture files to read');
    exitCode = EXIT_USAGE;
  }
  if (opened.some((o) => o.path === '-') && process.stdin.isTTY) process.stderr.write('wardwatch: reading a capture from standard input (end it with Ctrl-D, or pipe one in)\n');

  // Hashed beside the analysis, on threads of their own, when a record keeps them.
  const identities = session.recordsRun ? opened.map((o) => captureIdentity(o.path)) : null;
  const started = process.hrtime.bigint();
  const progress = startProgress(opened);
  const outcomes = await session.analysis.replay(opened, {
    progress:
      progress === null
        ? undefined
        : (done: number) => {
            const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
            progress.update(done, { speed: `${(done / 1e6 / Math.max(elapsed, 1e-3)).toFixed(0)} MB/s` });
          },
    backpressure: () => session.backpressure(),
    interrupted: () => interrupted() !== null,
  });
  progress?.stop();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  opened.forEach((input, i) => {
    const { packets, error } = outcomes[i];
    for (const skipped of input.source.warnings) process.stderr.write(`wardwatch: warning: ${skipped.message}\n`);
    if (error !== null) process.stderr.write(`wardwatch: warning: ${error.message}; analysed the ${packets} packets before it\n`);
  });
  session.describeRun(await captureFacts(opened, outcomes, identities));
  const failedOutputs = await session.close(
    opened.map((o, i) => ({
      name: o.name,
      format: o.source.format,
      compressed: o.compressed,
      packets: outcomes[i].packets,
      error: outcomes[i].error === null ? null : { offset: outcomes[i].error!.offset ?? 0, message: outcomes[i].error!.reason },
    })),
    seconds,
    { end: runEnd(interrupted(), failures) },
  );
  // Records were lost: as much a failure of the run as an unreadable input.
  if (failedOutputs.length > 0) return EXIT_USAGE;
  if (settings.failOnAlert && session.alerts > 0 && exitCode === EXIT_OK) exitCode = EXIT_ALERTS;
  return exitCode;
}

function runEnd(signal: NodeJS.Signals | null, failures: string[]): RunEnd | undefined {
  if (signal !== null) return { state: 'interrupted', reasons: [`by ${signal}`, ...failures] };
  return failures.length > 0 ? { state: 'failed', reasons: failures } : undefined;
}

/** Each capture's facts for the record; `identities`: their size and SHA-256, when a record keeps them. */
async function captureFacts(opened: OpenedInput[], outcomes: InputOutcome[], identities: Promise<CaptureIdentity | null>[] | null): Promise<CaptureFacts[]> {
  return Promise.all(
    opened.map(async (o, i) => {
      const identity = identities === null ? null : await identities[i];
      const error = outcomes[i].error;
      return {
        name: o.name,
        format: o.source.format,
        compressed: o.compressed,
        sizeBytes: identity?.sizeBytes ?? o.sizeOnDisk,
        sha256: identity?.sha256 ?? null,
        packets: outcomes[i].packets,
        first: outcomes[i].first,
        last: outcomes[i].last,
        damaged: error === null ? null : { offset: error.offset ?? 0, message: error.reason },
      };
    }),
  );
}

/** 303 MiB rather than 317718528: a size people can read at a glance. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 || n >= 100 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/** Bytes done of total, rate and time left, on stderr when it is a terminal and the input is large. */
function startProgress(opened: OpenedInput[]): CliProgress.SingleBar | null {
  if (!process.stderr.isTTY) return null;
  // Compressed input and standard input have no known total.
  if (opened.some((o) => o.sizeOnDisk === null || o.compressed)) return null;
  const total = opened.reduce((n, o) => n + (o.sizeOnDisk ?? 0), 0);
  if (total < 64 * 1024 * 1024) return null;
  // Loaded only for a terminal, like the pretty logger: start-up time matters for small captures.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'replay [{bar}] {percentage}% | {value} / {total} | {speed} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true,
      formatValue: (v: number, options: CliProgress.Options, type: CliProgress.ValueType) => (type === 'value' || type === 'total' ? humanBytes(v) : cliProgress.Format.ValueFormat(v, options, type)) },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { speed: '' });
  return bar;
}
