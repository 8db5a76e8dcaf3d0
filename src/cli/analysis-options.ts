import type { Command } from 'commander';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { EvidenceMode } from '../analyzers/analyzer.js';
import { DEFAULT_DEFRAG_OPTIONS } from '../decode/defrag.js';
import { DEFAULT_DEDUP_OPTIONS } from '../flow/dedup.js';
import { DEFAULT_FLOW_TABLE_OPTIONS, DEFAULT_TIMEOUTS } from '../flow/flow-table.js';
import { DEFAULT_REASSEMBLY_OPTIONS } from '../flow/tcp-stream.js';
import { checkOutput, outputFromUrl, outputLabel, type OutputSpec } from '../output/registry.js';
import type { DetectorOptions } from '../pipeline/detector.js';
import { loadConfig, type Config } from './config.js';

/** The rule pack shipped with wardwatch. */
export const DEFAULT_RULES_DIR = fileURLToPath(new URL('../../rules', import.meta.url));

/** Options shared by `replay` and `live`, as commander parses them. */
export interface SharedCliOptions {
  rules?: string;
  /** Each --home-net given, as written; their entries are joined. */
  homeNet?: string[];
  indicators?: string[];
  monitors?: string[];
  eve?: string;
  output?: string[];
  report?: string;
  format?: 'text' | 'json';
  evidence?: EvidenceMode;
  flows?: boolean;
  failOnAlert?: boolean;
  logLevel?: string;
  config?: string;
  workers?: string;
}

export interface AnalysisSettings {
  rulesDir: string;
  homeNet: string[] | undefined;
  indicatorFiles: string[];
  /** Lists of the hospital's patient monitors (same formats as indicator lists). */
  monitorFiles: string[];
  evidence: EvidenceMode;
  /** Where records go: the config file's `outputs:`, or what --format and --eve say. */
  outputs: OutputSpec[];
  flows: boolean;
  failOnAlert: boolean;
  logLevel: string;
  /** Analysis threads; 1 analyses on the reading thread. */
  workers: number;
  detector: DetectorOptions;
  /** The config file's `live:` keys, which the live command's own options override. */
  live: NonNullable<Config['live']>;
}

export function addSharedOptions(command: Command): Command {
  return command
    .option('--rules <dir>', 'rule directory (YAML rules, indicators/ beside them)')
    .option('--home-net <cidrs>', 'comma-separated HOME_NET, e.g. 10.0.0.0/8,192.168.0.0/16; repeatable (the networks are joined)', collect)
    .option('--indicators <file>', 'extra indicator list (txt, csv or STIX 2.1 JSON); repeatable', collect)
    .option('--monitors <file>', "list of the hospital's patient monitors (same formats as indicator lists); repeatable", collect)
    .option('--eve <file>', 'write EVE JSON records to a file (- for stdout)')
    .option(
      '--output <url>',
      'also send EVE records to file:PATH, syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT, syslog+udp://HOST:PORT or redis://HOST:PORT/KEY?mode=list|rpush|channel|stream; repeatable',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--report <file>', 'also write an incident report, one self-contained HTML page, when the run ends')
    .option('--format <format>', 'stdout: text for people, json for EVE lines (default: text on a terminal, else json)')
    .option('--evidence <mode>', 'redacted (default): structure only; full: include patient data; none: no evidence')
    .option('--flows', 'also write flow records to the EVE output')
    .option('--fail-on-alert', 'exit 1 when any alert was raised')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', undefined)
    .option('--config <file>', 'YAML configuration file');
}

export class UsageError extends Error {}

/** Commander's accumulator for a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * The networks of every --home-net, each a comma-separated list. Naming none (`--home-net ""`)
 * would make every address external and silence the patient-data rules: an error.
 */
export function homeNetOption(values: readonly string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const cidrs = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  if (cidrs.length === 0) throw new UsageError(`--home-net names no network (${values.map((v) => JSON.stringify(v)).join(' ')}): give one or more CIDRs, e.g. 10.0.0.0/8`);
  return [...new Set(cidrs)];
}

/**
 * The outputs --format and --eve ask for: text or EVE JSON on stdout, and EVE to the --eve file
 * (to stdout only once).
 */
function outputsOf(format: 'text' | 'json', eve: string | null): OutputSpec[] {
  const outputs: OutputSpec[] = [format === 'text' ? { type: 'text', path: '-' } : { type: 'eve', path: '-' }];
  if (eve !== null && !(eve === '-' && format === 'json')) outputs.push({ type: 'eve', path: eve });
  return outputs;
}

/** Merges defaults, the config file and the command line, the last winning. */
export async function resolveSettings(cli: SharedCliOptions): Promise<AnalysisSettings> {
  const config: Config = cli.config ? await loadConfig(cli.config) : {};
  const format = cli.format ?? config.format ?? (process.stdout.isTTY ? 'text' : 'json');
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, not '${format}'`);
  const evidence = cli.evidence ?? config.evidence ?? 'redacted';
  if (!['redacted', 'full', 'none'].includes(evidence)) throw new UsageError(`--evidence must be redacted, full or none, not '${evidence}'`);
  // A terminal is for alerts and the summary: routine operational lines only when asked for.
  const logLevel = cli.logLevel ?? config.log_level ?? (process.stderr.isTTY ? 'warn' : 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) throw new UsageError(`--log-level: unknown level '${logLevel}'`);
  const workers = cli.workers === undefined ? (config.workers ?? 1) : Number(cli.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new UsageError(`--workers must be a whole number from 1 to 64, not '${cli.workers}'`);
  const homeNet = homeNetOption(cli.homeNet) ?? config.home_net;
  const eve = cli.eve ?? config.eve ?? null;
  if (format === 'text' && eve === '-') throw new UsageError('--eve - and --format text would both write to stdout, mixing JSON lines into the text: give --eve a file, or use --format json');
  const outputs = [
    // The command line's --format and --eve win over the file's outputs, as every option does.
    ...(config.outputs !== undefined && cli.format === undefined && cli.eve === undefined ? config.outputs : outputsOf(format, eve)),
    ...(cli.output ?? []).map((url) => {
      try {
        return outputFromUrl(url);
      } catch (err) {
        throw new UsageError(`--output: ${(err as Error).message}`);
      }
    }),
    ...(cli.report !== undefined ? [{ type: 'report' as const, path: cli.report }] : []),
  ];
  // Before anything starts: a CA file that cannot be read, a spool that cannot be written.
  for (const spec of outputs) {
    try {
      checkOutput(spec);
    } catch (err) {
      throw new UsageError(`output ${outputLabel(spec)}: ${(err as Error).message}`);
    }
  }
  // Options whose records a text-only run has nowhere to put: say so rather than drop them quietly.
  const recordsKept = outputs.some((o) => o.type !== 'text');
  const flows = cli.flows ?? config.flows ?? false;
  if (flows && !recordsKept) process.stderr.write('wardwatch: warning: --flows: flow records go to EVE, report and network outputs, and the text output shows none: add --eve FILE\n');
  if (evidence === 'full' && !recordsKept) process.stderr.write('wardwatch: warning: --evidence full: the text output never shows patient data; the full evidence goes to EVE and report outputs, and this run has none\n');
  const t = config.flow?.timeouts ?? {};
  const s = config.stream ?? {};
  const d = config.defrag ?? {};
  return {
    rulesDir: cli.rules ?? config.rules ?? DEFAULT_RULES_DIR,
    homeNet,
    indicatorFiles: [...(config.indicators ?? []), ...(cli.indicators ?? [])],
    monitorFiles: [...(config.monitors ?? []), ...(cli.monitors ?? [])],
    evidence: evidence as EvidenceMode,
    outputs,
    flows,
    failOnAlert: cli.failOnAlert ?? config.fail_on_alert ?? false,
    logLevel,
    workers,
    detector: {
      evidence: evidence as EvidenceMode,
      disabledProtocols: Object.entries(config.app_layer ?? {}).flatMap(([name, protocol]) => (protocol?.enabled === false ? [name] : [])),
      flows: {
        maxFlows: config.flow?.max_flows ?? DEFAULT_FLOW_TABLE_OPTIONS.maxFlows,
        // Drawn per run so flow ids from different runs do not collide in a SIEM; the workers
        // get this one with their options, so a flow's id does not depend on its thread.
        idSalt: config.flow?.id_salt ?? randomInt(0x100000000),
        timeouts: {
          tcpNew: t.tcp_new ?? DEFAULT_TIMEOUTS.tcpNew,
          tcpEstablished: t.tcp_established ?? DEFAULT_TIMEOUTS.tcpEstablished,
          tcpClosed: t.tcp_closed ?? DEFAULT_TIMEOUTS.tcpClosed,
          udpNew: t.udp_new ?? DEFAULT_TIMEOUTS.udpNew,
          udpEstablished: t.udp_established ?? DEFAULT_TIMEOUTS.udpEstablished,
          otherNew: t.other_new ?? DEFAULT_TIMEOUTS.otherNew,
          otherEstablished: t.other_established ?? DEFAULT_TIMEOUTS.otherEstablished,
        },
        checksumValidation: s.checksum_validation ?? DEFAULT_FLOW_TABLE_OPTIONS.checksumValidation,
        reassembly: {
          ...DEFAULT_REASSEMBLY_OPTIONS,
          // 0 is no limit, as Suricata's stream.reassembly.depth.
          depth: s.depth === 0 ? Number.POSITIVE_INFINITY : (s.depth ?? DEFAULT_REASSEMBLY_OPTIONS.depth),
          memcap: s.memcap ?? DEFAULT_REASSEMBLY_OPTIONS.memcap,
          maxBufferedPerStream: s.max_buffered_per_stream ?? DEFAULT_REASSEMBLY_OPTIONS.maxBufferedPerStream,
          maxSegmentsPerStream: s.max_segments_per_stream ?? DEFAULT_REASSEMBLY_OPTIONS.maxSegmentsPerStream,
        },
      },
      dedup: {
        enabled: config.dedup?.enabled ?? DEFAULT_DEDUP_OPTIONS.enabled,
        windowMs: config.dedup?.window_ms ?? DEFAULT_DEDUP_OPTIONS.windowMs,
      },
      defrag: {
        timeoutSec: d.timeout ?? DEFAULT_DEFRAG_OPTIONS.timeoutSec,
        maxDatagrams: d.max_datagrams ?? DEFAULT_DEFRAG_OPTIONS.maxDatagrams,
        maxBytes: d.max_bytes ?? DEFAULT_DEFRAG_OPTIONS.maxBytes,
      },
    },
    live: config.live ?? {},
  };
}
