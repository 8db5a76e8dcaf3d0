import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { ANALYZED_PROTOCOLS } from '../analyzers/registry.js';
import { MAX_SETTINGS_BYTES, readTextFile } from '../lib/read-text-file.js';
import { YAML_LOG_LEVEL, yamlData } from '../lib/yaml-data.js';
import { outputSpec } from '../output/registry.js';

/**
 * The configuration file (`--config FILE`, YAML). Every key is optional; command-line options
 * win over the file, and the file wins over the defaults. `outputs:` lists where records go (see
 * output/registry.ts); `format` and `eve` say the same for the usual cases, so a file has one or
 * the other. Every command-line option has its key (`live:` holds those only `live` takes);
 * relative paths in the file are taken from the file's own directory.
 */
/** `app_layer.<protocol>`: what each analyzer takes from the file (Suricata's `app-layer.protocols`). */
const appLayerSchema = z.strictObject(Object.fromEntries(ANALYZED_PROTOCOLS.map((name) => [name, z.strictObject({ enabled: z.boolean().optional() }).optional()])));

const configSchema = z.strictObject({
  rules: z.string().optional(),
  // An empty HOME_NET makes every address external: no patient-data rule could fire.
  home_net: z.array(z.string().trim().min(1, 'an empty entry names no network')).min(1, 'names no network: list one or more CIDRs').optional(),
  indicators: z.array(z.string()).optional(),
  monitors: z.array(z.string()).optional(),
  evidence: z.enum(['redacted', 'full', 'none']).optional(),
  eve: z.string().optional(),
  flows: z.boolean().optional(),
  format: z.enum(['text', 'json']).optional(),
  outputs: z.array(outputSpec).min(1).optional(),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  fail_on_alert: z.boolean().optional(),
  /** replay only: analysis threads. */
  workers: z.number().int().min(1).max(64).optional(),
  live: z
    .strictObject({
      interface: z.string().min(1).optional(),
      filter: z.string().optional(),
      snaplen: z.number().int().min(64).max(262144).optional(),
      buffer_mb: z.number().int().min(1).max(65536).optional(),
      promisc: z.boolean().optional(),
      stats_interval: z.number().positive().optional(),
      /** Seconds without a packet before a warning that the mirror port went quiet; 0: never. */
      no_packet_warning: z.number().min(0).optional(),
    })
    .optional(),
  flow: z
    .strictObject({
      max_flows: z.number().int().min(1).optional(),
      id_salt: z.number().int().min(0).max(0xffffffff).optional(),
      timeouts: z
        .strictObject({
          tcp_new: z.number().min(0).optional(),
          tcp_established: z.number().min(0).optional(),
          tcp_closed: z.number().min(0).optional(),
          udp_new: z.number().min(0).optional(),
          udp_established: z.number().min(0).optional(),
          other_new: z.number().min(0).optional(),
          other_established: z.number().min(0).optional(),
        })
        .optional(),
    })
    .optional(),
  stream: z
    .strictObject({
      depth: z.number().int().min(0).optional(),
      memcap: z.number().int().min(0).optional(),
      max_buffered_per_stream: z.number().int().min(0).optional(),
      max_segments_per_stream: z.number().int().min(1).optional(),
      checksum_validation: z.enum(['auto', 'yes', 'no']).optional(),
    })
    .optional(),
  app_layer: appLayerSchema.optional(),
  dedup: z.strictObject({ enabled: z.boolean().optional(), window_ms: z.number().min(0).optional() }).optional(),
  defrag: z
    .strictObject({
      timeout: z.number().min(0).optional(),
      max_datagrams: z.number().int().min(1).optional(),
      max_bytes: z.number().int().min(0).optional(),
    })
    .optional(),
});

const checkedConfig = configSchema.superRefine((config, ctx) => {
  for (const key of ['format', 'eve'] as const) {
    if (config[key] !== undefined && config.outputs !== undefined) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'outputs: lists every output, so it replaces format and eve: keep one or the other' });
    }
  }
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readTextFile(path, MAX_SETTINGS_BYTES);
  } catch (err) {
    throw new ConfigError(`${path}: cannot read config: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, logLevel: YAML_LOG_LEVEL });
  if (doc.errors.length > 0) throw new ConfigError(`${path}: ${doc.errors[0].message.split('\n')[0]}`);
  const data = yamlData(doc, lineCounter);
  if (!data.ok) throw new ConfigError(`${path}: ${data.message} (line ${data.line})`);
  const parsed = checkedConfig.safeParse(data.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const unknownKey = issue.code === 'unrecognized_keys';
    const line = lineOf(doc, lineCounter, unknownKey ? [...issue.path, issue.keys[0]] : issue.path, unknownKey);
    throw new ConfigError(`${path}: ${issue.path.join('.') || 'config'}: ${issue.message}${line === null ? '' : ` (line ${line})`}`);
  }
  return withPathsFrom(dirname(path), parsed.data);
}

/** The file's relative paths, resolved from its directory rather than wherever wardwatch was started. */
function withPathsFrom(dir: string, config: Config): Config {
  const at = (p: string) => (p === '-' || isAbsolute(p) ? p : resolve(dir, p));
  return {
    ...config,
    ...(config.rules !== undefined && { rules: at(config.rules) }),
    ...(config.indicators !== undefined && { indicators: config.indicators.map(at) }),
    ...(config.monitors !== undefined && { monitors: config.monitors.map(at) }),
    ...(config.eve !== undefined && { eve: at(config.eve) }),
    ...(config.outputs !== undefined && { outputs: config.outputs.map((o) => withOutputPathsFrom(at, o)) }),
  };
}

/** Keys of an output's entry that name files or directories. */
const OUTPUT_PATH_KEYS = ['path', 'spool_dir', 'ca', 'cert', 'key'] as const;

function withOutputPathsFrom<T extends object>(at: (p: string) => string, output: T): T {
  const copy = { ...output } as Record<string, unknown>;
  for (const key of OUTPUT_PATH_KEYS) if (typeof copy[key] === 'string') copy[key] = at(copy[key] as string);
  return copy as T;
}

/** The line of the value at `path` (of the key itself with `atKey`), when the file has it. */
function lineOf(doc: Document, lineCounter: LineCounter, path: ReadonlyArray<PropertyKey>, atKey: boolean): number | null {
  let node: unknown = doc.contents;
  for (let i = 0; i < path.length; i++) {
    const step = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === step);
      if (pair === undefined) return null;
      node = (atKey && i === path.length - 1) || pair.value === null ? pair.key : pair.value;
    } else if (isSeq(node) && typeof step === 'number') {
      node = node.items[step];
    } else {
      return null;
    }
  }
  const range = isNode(node) ? node.range : undefined;
  return range ? lineCounter.linePos(range[0]).line : null;
}
