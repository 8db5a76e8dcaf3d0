import { DEFAULT_BUFFER_MB, DEFAULT_SNAPLEN, LiveCapture, LiveCaptureError, type LiveCaptureOptions } from '../capture/live-capture.js';
import { RuleLoadError } from '../detect/rule-loader.js';
import type { Detector } from '../pipeline/detector.js';
import { UsageError, resolveSettings, type SharedCliOptions } from './analysis-options.js';
import { createLogger } from './logger.js';
import { EXIT_ALERTS, EXIT_OK, EXIT_USAGE } from './replay-command.js';
import { AnalysisSession } from './session.js';

export const DEFAULT_STATS_INTERVAL_SEC = 60;

/** Options of `wardwatch live` as commander parses them. */
export interface LiveCliOptions extends SharedCliOptions {
  interface?: string;
  filter?: string;
  snaplen?: string;
  bufferMb?: string;
  /** False with --no-promisc. */
  promisc?: boolean;
  statsInterval?: string;
}

/**
 * `wardwatch live`: analyses traffic from an interface until SIGINT or SIGTERM, with the same
 * analysis as replay. Writes stats periodically and at the end; SIGHUP reloads the rules, keeping
 * every flow. Losing the interface does not end the run: the capture re-opens when it is back.
 */
export async function live(cli: LiveCliOptions): Promise<number> {
  const settings = await resolveSettings(cli);
  const fromFile = settings.live;
  const interfaceName = cli.interface ?? fromFile.interface;
  if (interfaceName === undefined) throw new UsageError("live needs an interface: -i IFACE, or live.interface in --config (see 'wardwatch interfaces')");
  const captureOptions: LiveCaptureOptions = {
    interfaceName,
    filter: cli.filter ?? fromFile.filter ?? null,
    snapLen: integerOption('--snaplen', cli.snaplen, fromFile.snaplen ?? DEFAULT_SNAPLEN, 64, 262144),
    bufferMb: integerOption('--buffer-mb', cli.bufferMb, fromFile.buffer_mb ?? DEFAULT_BUFFER_MB, 1, 65536),
    // --no-promisc sets false; without it commander leaves true, so the file decides.
    promiscuous: cli.promisc === false ? false : (fromFile.promisc ?? true),
  };
  const statsIntervalSec = cli.statsInterval === undefined ? (fromFile.stats_interval ?? DEFAULT_STATS_INTERVAL_SEC) : Number(cli.statsInterval);
  if (!(statsIntervalSec > 0)) throw new UsageError(`--stats-interval must be a positive number of seconds, not '${cli.statsInterval}'`);
  const log = createLogger(settings.logLevel as 'info');

  // The capture opens before the outputs, so that a capture that cannot start leaves them as they were.
  const capture = new LiveCapture(captureOptions, log);
  try {
    await capture.open();
  } catch (err) {
    if (!(err instanceof LiveCaptureError)) throw err;
    process.stderr.write(`wardwatch: error: ${err.message}\n`);
    return EXIT_USAGE;
  }
  const killOnExit = () => capture.kill();
  process.on('exit', killOnExit);
  // A signal while the rules load must not leave tcpdump running behind us.
  const stopEarly = () => {
    capture.kill();
    process.exit(0);
  };
  process.once('SIGINT', stopEarly);
  process.once('SIGTERM', stopEarly);

  let session: AnalysisSession<Detector>;
  try {
    session = await AnalysisSession.openLive(settings, log);
  } catch (err) {
    capture.kill();
    if (!(err instanceof RuleLoadError)) throw err;
    for (const problem of err.problems) process.stderr.write(`wardwatch: ${problem}\n`);
    return EXIT_USAGE;
  } finally {
    process.off('SIGINT', stopEarly);
    process.off('SIGTERM', stopEarly);
  }
  const detector = session.analysis;
  detector.context.interfaceName = captureOptions.interfaceName;

  let closing = false;
  // Packet time drives the analysis; the clock ends idle flows when the traffic stops.
  const clock = setInterval(() => detector.advanceClock(Date.now() / 1000), 1000);
  let statsBusy = false;
  const statsTimer = setInterval(() => {
    if (statsBusy) return;
    statsBusy = true;
    void capture
      .refreshCounters()
      .then((counters) => {
        if (!closing) session.writeStats(counters);
      })
      .finally(() => {
        statsBusy = false;
      });
  }, statsIntervalSec * 1000);

  let stopSignals = 0;
  const onStop = (signal: NodeJS.Signals) => {
    if (stopSignals++ === 0) {
      log.info({ signal }, 'stopping: draining the capture and ending open flows');
      capture.stop();
    } else {
      capture.kill();
    }
  };
  let reloading: Promise<unknown> = Promise.resolve();
  const onReload = () => {
    log.info('SIGHUP: reloading rules');
    reloading = reloading.then(() =>
      session.reloadRules().catch((err: unknown) => log.error({ reason: (err as Error).message }, 'rule reload failed; keeping the rules in force')),
    );
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  process.on('SIGHUP', onReload);

  const started = process.hrtime.bigint();
  try {
    await capture.run((pkt) => detector.process(pkt));
  } finally {
    clearInterval(clock);
    clearInterval(statsTimer);
    process.off('SIGHUP', onReload);
  }
  await reloading;
  closing = true;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  session.describeRun([], captureOptions.interfaceName);
  const failedOutputs = await session.close(
    [{ name: `${captureOptions.interfaceName} (live)`, format: 'pcap', compressed: false, packets: capture.packets, error: null }],
    seconds,
    capture.counters,
  );
  process.off('SIGINT', onStop);
  process.off('SIGTERM', onStop);
  process.off('exit', killOnExit);
  if (failedOutputs.length > 0) return EXIT_USAGE;
  return settings.failOnAlert && session.alerts > 0 ? EXIT_ALERTS : EXIT_OK;
}

function integerOption(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, not '${text}'`);
  return n;
}
