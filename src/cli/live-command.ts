import { DEFAULT_BUFFER_MB, DEFAULT_SNAPLEN, LiveCapture, LiveCaptureError, type LiveCaptureOptions } from '../capture/live-capture.js';
import type { CaptureCounters } from '../capture/capture-stats.js';
import { TrafficWatch } from '../capture/traffic-watch.js';
import { RuleLoadError } from '../detect/rule-loader.js';
import type { Detector } from '../pipeline/detector.js';
import { UsageError, resolveSettings, type SharedCliOptions } from './analysis-options.js';
import { createLogger, type Logger } from './logger.js';
import { EXIT_ALERTS, EXIT_OK, EXIT_USAGE } from './replay-command.js';
import { AnalysisSession } from './session.js';
import { takeStopSignals } from './stop-signals.js';

export const DEFAULT_STATS_INTERVAL_SEC = 60;
/** A SPAN port carries something every few seconds; five minutes of nothing means it stopped. */
export const DEFAULT_NO_PACKET_WARNING_SEC = 300;
/**
 * A stopped sensor must be gone within 2 s of the signal: outputs waiting on a server get until
 * 1.5 s after it (whatever their drain_timeout), and keep the rest in their spool. The other half
 * second is for the capture's last packets, the final records and the exit.
 */
export const STOP_DRAIN_MS = 1500;

/** Options of `wardwatch live` as commander parses them. */
export interface LiveCliOptions extends SharedCliOptions {
  interface?: string;
  filter?: string;
  snaplen?: string;
  bufferMb?: string;
  /** False with --no-promisc. */
  promisc?: boolean;
  statsInterval?: string;
  noPacketWarning?: string;
}

/**
 * `wardwatch live`: analyses traffic from an interface until SIGINT or SIGTERM, with the same
 * analysis as replay. Writes stats periodically and at the end; SIGHUP reopens the output files
 * and reloads the rules, keeping every flow. Losing the interface does not end the run: the capture re-opens when it is back.
 */
export async function live(cli: LiveCliOptions): Promise<number> {
  // First of all: from here on a stop signal ends the run cleanly, whatever it is doing (reading
  // the config, starting tcpdump, loading rules), with the final stats. A second one kills tcpdump.
  let stopSignals = 0;
  let stoppedAtMs = Infinity;
  let capture: LiveCapture | null = null;
  let log: Logger | null = null;
  takeStopSignals((signal, atMs) => {
    if (stopSignals++ === 0) {
      stoppedAtMs = atMs;
      log?.info({ signal }, 'stopping: draining the capture and ending open flows');
      capture?.stop();
    } else {
      capture?.kill();
    }
  });

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
  const quietAfterSec = cli.noPacketWarning === undefined ? (fromFile.no_packet_warning ?? DEFAULT_NO_PACKET_WARNING_SEC) : Number(cli.noPacketWarning);
  if (!(quietAfterSec >= 0)) throw new UsageError(`--no-packet-warning must be a number of seconds (0: never), not '${cli.noPacketWarning}'`);
  log = createLogger(settings.logLevel as 'info');

  // The capture opens before the outputs, so that a capture that cannot start leaves them as they
  // were. Stopped before it could open, the run ends at once, still with its (empty) stats.
  capture = new LiveCapture(captureOptions, log);
  const killOnExit = () => capture.kill();
  process.on('exit', killOnExit);
  if (stopSignals > 0) {
    log.info('stopping before the capture started');
    capture.stop();
  } else {
    try {
      await capture.open();
    } catch (err) {
      if (!(err instanceof LiveCaptureError)) throw err;
      process.stderr.write(`wardwatch: error: ${err.message}\n`);
      return EXIT_USAGE;
    }
  }

  let session: AnalysisSession<Detector>;
  try {
    session = await AnalysisSession.openLive(settings, log);
  } catch (err) {
    capture.kill();
    if (!(err instanceof RuleLoadError)) throw err;
    for (const problem of err.problems) process.stderr.write(`wardwatch: error: ${problem}\n`);
    return EXIT_USAGE;
  }
  const detector = session.analysis;
  detector.context.interfaceName = captureOptions.interfaceName;
  const traffic = new TrafficWatch(captureOptions.interfaceName, quietAfterSec, log);
  const health = (counters: CaptureCounters): CaptureCounters => ({
    ...counters,
    intervalPackets: traffic.intervalPackets(capture.packets),
    quietSeconds: traffic.quietSeconds(),
  });

  let closing = false;
  // Packet time drives the analysis; the clock ends idle flows when the traffic stops.
  const clock = setInterval(() => {
    detector.advanceClock(Date.now() / 1000);
    traffic.check(capture.packets);
  }, 1000);
  let statsBusy = false;
  const statsTimer = setInterval(() => {
    if (statsBusy) return;
    statsBusy = true;
    void capture
      .refreshCounters()
      .then((counters) => {
        if (!closing) session.writeStats(health(counters));
      })
      .finally(() => {
        statsBusy = false;
      });
  }, statsIntervalSec * 1000);

  // SIGHUP: logrotate has renamed the files (its postrotate sends it), and the rules may have changed.
  let reloading: Promise<unknown> = Promise.resolve();
  const onReload = () => {
    log.info('SIGHUP: reopening output files and reloading rules');
    session.reopenOutputs();
    reloading = reloading.then(() =>
      session.reloadRules().catch((err: unknown) => log.error({ reason: (err as Error).message }, 'rule reload failed; keeping the rules in force')),
    );
  };
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
    { capture: health(capture.counters), drainBy: stoppedAtMs + STOP_DRAIN_MS },
  );
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
