/**
 * Mutation fuzzing of what an operator writes: the rule pack, the config file and the indicator
 * lists. Each input is the shipped text (or a full config) with a few line-level mutations: lines
 * dropped, repeated or swapped, a value replaced, YAML syntax (anchors, aliases, flow collections,
 * tags) or stray bytes inserted. Every one is loaded the way wardwatch loads it; a located error
 * (RuleLoadError, ConfigError, an indicator problem) is the expected answer to bad text, anything
 * thrown besides, or a process warning, is a failure, saved with what it threw. Loaders run in this thread: they are
 * synchronous parsers of small files, and one slower than SLOW_MS is reported as a failure.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { Prng } from '../craft/prng.js';
import { ConfigError, loadConfig } from '../../src/cli/config.js';
import { loadIndicatorFiles } from '../../src/detect/indicators.js';
import { RuleLoadError } from '../../src/detect/rule-loader.js';
import { RuleSet } from '../../src/detect/rule-set.js';
import { REPO_ROOT } from './fuzzer.js';

export type SettingsKind = 'rules' | 'config' | 'indicators';
const KINDS: readonly SettingsKind[] = ['rules', 'config', 'indicators'];

/** A load that takes longer than this on a file of a few kilobytes is a failure (a regex gone quadratic, a loop). */
const SLOW_MS = 1000;

/** Every key the config file knows, with a value of its kind: mutations start from a file that loads. */
function configText(dir: string): string {
  return `rules: ${join(REPO_ROOT, 'rules')}
home_net: [10.0.0.0/8, 172.16.0.0/12, "fd00::/8"]
evidence: redacted
log_level: info
flows: true
fail_on_alert: false
workers: 1
flow:
  max_flows: 100000
  timeouts: {tcp_new: 30, tcp_established: 3600, udp_new: 30}
stream:
  depth: 1048576
  checksum_validation: auto
app_layer:
  hl7:
    enabled: true
  dicom:
    enabled: false
dedup: {enabled: true, window_ms: 1}
defrag:
  timeout: 30
  max_datagrams: 4096
live:
  interface: eth1
  filter: 'not port 22'
  buffer_mb: 64
  stats_interval: 60
  no_packet_warning: 300
outputs:
  - type: eve
    path: ${dir}/eve.json
  - type: eve
    path: ${dir}/eve-%Y%m%d-%H%M.json
    rotate_interval: 1h
  - type: syslog
    url: syslog+tls://siem.example.org:6514
    ca: ${dir}/siem-ca.pem
    spool_dir: ${dir}/spool/siem
  - redis://127.0.0.1:6379/suricata?mode=list&spool_dir=${dir}/spool/redis
`;
}

/** What a mutation may put in: YAML structure, odd numbers and addresses, and bytes no editor means. */
const TOKENS = [
  '', '-', '- ', ':', ': ', '  ', '\t', '"', "'", '[', ']', '{', '}', ',', '#', '|', '>', '%', '@', '`', '\\', '?',
  '&a ', '*a', '*nowhere', '<<: *a', '!!str ', '!!binary ', '!!map', '---', '...',
  '0', '-1', '1e309', '0x1F', '99999999999999999999', 'NaN', '.inf', 'null', '~', 'true', 'no',
  '0.0.0.0/0', '::/0', '300.1.1.1', '10.0.0.0/33', '1.2.3', '::ffff:1.2.3.4', '$HOME_NET', '!$HOME_NET', '!any', 'any', '!',
  '515-520', '520-515', '!80', '65536', 'tcp', 'hl7.message', 'mount.call', 'server', 'client',
  'redis://', 'syslog+udp://:0', '1h', '0s', '-5m', '%Y%Q', 'full',
  '\u0000', '\ufeff', '\u2028', '\ud800', 'é', 'x'.repeat(300),
];

/** An integer in [0, n). */
function below(rng: Prng, n: number): number {
  return n <= 1 ? 0 : rng.int(0, n - 1);
}

function mutateText(text: string, rng: Prng): string {
  const lines = text.split('\n');
  const count = 1 + below(rng, 4);
  for (let m = 0; m < count; m++) {
    const k = below(rng, lines.length);
    const line = lines[k] ?? '';
    const at = below(rng, line.length + 1);
    switch (below(rng, 7)) {
      case 0:
        lines.splice(k, 1);
        break;
      case 1:
        lines.splice(k, 0, lines[below(rng, lines.length)]);
        break;
      case 2:
        lines[k] = line.slice(0, at) + rng.pick(TOKENS) + line.slice(at);
        break;
      case 3:
        lines[k] = line.slice(0, at) + line.slice(at + 1 + below(rng, 5));
        break;
      case 4: {
        // The value of a `key: value` line (or of a list item) replaced.
        const kv = /^(\s*(?:- )?[\w.-]+:\s*)/.exec(line) ?? /^(\s*- )/.exec(line);
        if (kv !== null) lines[k] = kv[1] + rng.pick(TOKENS);
        break;
      }
      case 5: {
        const j = below(rng, lines.length);
        [lines[k], lines[j]] = [lines[j], lines[k]];
        break;
      }
      default: {
        const bytes = Buffer.from(line, 'latin1');
        if (bytes.length > 0) bytes[below(rng, bytes.length)] = below(rng, 256);
        lines[k] = bytes.toString('latin1');
      }
    }
  }
  return lines.join('\n');
}

export interface SettingsFailure {
  kind: SettingsKind;
  index: number;
  /** What was thrown: its class and first line. */
  signature: string;
  file: string;
}

export interface SettingsFuzzSummary {
  inputs: number;
  seconds: number;
  /** Inputs the loader took, and inputs it refused with a located error. */
  accepted: number;
  refused: number;
  failures: SettingsFailure[];
}

/** The loaders, as wardwatch calls them; each rejects or returns problems for bad text, nothing else. */
export interface SettingsLoaders {
  rules(dir: string): Promise<unknown>;
  config(file: string): Promise<unknown>;
  indicators(file: string): Promise<{ problems: readonly string[] }>;
}

export const WARDWATCH_LOADERS: SettingsLoaders = {
  rules: (dir) => RuleSet.load({ rulesDir: dir }),
  config: (file) => loadConfig(file),
  indicators: (file) => loadIndicatorFiles([file]),
};

/** An indicator list loads what it can and lists its problems: counted as refused, as a thrown located error. */
class IndicatorProblems extends Error {}

const EXPECTED_ERRORS = [RuleLoadError, ConfigError, IndicatorProblems];

export async function runSettingsFuzz(options: {
  seed: number;
  inputs?: number;
  seconds?: number;
  outDir: string;
  loaders?: SettingsLoaders;
  log?: (line: string) => void;
}): Promise<SettingsFuzzSummary> {
  const loaders = options.loaders ?? WARDWATCH_LOADERS;
  const rng = new Prng(options.seed);
  const work = mkdtempSync(join(tmpdir(), 'wardwatch-settings-fuzz-'));
  const rules = readFileSync(join(REPO_ROOT, 'rules', 'contec-cms8000.yaml'), 'utf8');
  const csv = readFileSync(join(REPO_ROOT, 'rules', 'indicators', 'contec-cms8000.csv'), 'utf8');
  const plainList = '# one address or network a line\n202.114.4.119\n202.114.4.0/24  CMS8000 backdoor network\n2001:db8::/32\n';
  const config = configText(work);
  const started = Date.now();
  const summary: SettingsFuzzSummary = { inputs: 0, seconds: 0, accepted: 0, refused: 0, failures: [] };
  // A warning Node prints is a line on stderr beside the one-line error: a failure too.
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  try {
    for (let index = 0; index < (options.inputs ?? Infinity); index++) {
      if (options.seconds !== undefined && Date.now() - started >= options.seconds * 1000) break;
      const kind = KINDS[index % KINDS.length];
      const { text, path } = writeInput(kind, work, rng, { rules, csv, plainList, config });
      const began = performance.now();
      let signature: string | null = null;
      try {
        if (kind === 'rules') await loaders.rules(join(work, 'rules'));
        else if (kind === 'config') await loaders.config(path);
        else if ((await loaders.indicators(path)).problems.length > 0) throw new IndicatorProblems();
        summary.accepted++;
      } catch (err) {
        if (EXPECTED_ERRORS.some((type) => err instanceof type)) summary.refused++;
        else signature = `${(err as Error)?.name ?? typeof err}: ${String((err as Error)?.message ?? err).split('\n')[0]}`;
      }
      const ms = performance.now() - began;
      await new Promise(setImmediate); // process warnings are emitted on a later tick
      if (signature === null && warnings.length > 0) signature = `process warning: ${warnings[0].message.split('\n')[0]}`;
      warnings.length = 0;
      if (signature === null && ms > SLOW_MS) signature = `slow: ${Math.round(ms)} ms`;
      summary.inputs++;
      if (signature !== null) {
        mkdirSync(options.outDir, { recursive: true });
        const saved = join(options.outDir, `${kind}-${options.seed}-${index}${extname(path)}`);
        writeFileSync(saved, text);
        summary.failures.push({ kind, index, signature, file: saved });
        options.log?.(`${kind} input ${index}: ${signature} (saved as ${saved})`);
      }
    }
  } finally {
    process.off('warning', onWarning);
    rmSync(work, { recursive: true, force: true });
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

/** Writes one mutated input where its loader reads it: the rule pack's file, a config file, a list. */
function writeInput(
  kind: SettingsKind,
  work: string,
  rng: Prng,
  bases: { rules: string; csv: string; plainList: string; config: string },
): { text: string; path: string } {
  if (kind === 'rules') {
    const dir = join(work, 'rules');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'indicators'), { recursive: true });
    const text = mutateText(bases.rules, rng);
    writeFileSync(join(dir, 'contec-cms8000.yaml'), text);
    writeFileSync(join(dir, 'indicators', 'contec-cms8000.csv'), bases.csv);
    return { text, path: join(dir, 'contec-cms8000.yaml') };
  }
  if (kind === 'config') {
    const path = join(work, 'wardwatch.yaml');
    const text = mutateText(bases.config, rng);
    writeFileSync(path, text);
    return { text, path };
  }
  const csv = below(rng, 2) === 0;
  const path = join(work, csv ? 'list.csv' : 'list.txt');
  const text = mutateText(csv ? bases.csv : bases.plainList, rng);
  writeFileSync(path, text);
  return { text, path };
}
