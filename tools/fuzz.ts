/**
 * Mutation fuzzing of wardwatch from the capture file up. Inputs are the sample captures in
 * pcaps/ mutated at every layer (see tools/fuzz/mutate.ts); each runs through the real path
 * (openCapture, the Detector with the shipped rules, EVE and text outputs) in a worker thread,
 * with a time limit per input and memory watched. Failing inputs are saved with a JSON note.
 *
 *   npm run fuzz [-- --minutes N | --seconds N] [--inputs N] [--out DIR] [--seed S]
 *                [--timeout-ms MS] [--slow-ms-per-mb MS] [--max-rss-mb MB] [--max-growth-mb MB]
 *                [--samples DIR]
 *   npm run fuzz -- --settings [--minutes N | --seconds N] [--inputs N] [--out DIR] [--seed S]
 *                (the rule pack, config file and indicator lists instead: tools/fuzz/settings-fuzz.ts)
 *   npx tsx tools/fuzz.ts --replay FILE    (runs one saved input with the options in FILE's note)
 *   npx tsx tools/fuzz.ts --minimize FILE  (shrinks it while it fails the same way: FILE.min.<ext>)
 *
 * The same seed gives the same inputs in the same order. Exit status 1 when anything failed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RuleSet } from '../src/detect/rule-set.js';
import { REPO_ROOT, runFuzz } from './fuzz/fuzzer.js';
import { minimize } from './fuzz/minimize.js';
import { runSettingsFuzz } from './fuzz/settings-fuzz.js';
import { analyzerFault, runCapture, type RunOptions } from './fuzz/run-input.js';

const CAPTURE_EXT = /\.(pcap|pcapng)(\.gz)?$/;

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    inputs: { type: 'string' },
    out: { type: 'string', default: 'fuzz-out' },
    seed: { type: 'string' },
    'timeout-ms': { type: 'string', default: '2000' },
    'slow-ms-per-mb': { type: 'string', default: '500' },
    'max-rss-mb': { type: 'string', default: '1536' },
    'max-growth-mb': { type: 'string', default: '512' },
    samples: { type: 'string' },
    replay: { type: 'string' },
    minimize: { type: 'string' },
    settings: { type: 'boolean' },
  },
});

function number(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`fuzz: --${name} must be a non-negative number, not '${text}'\n`);
    process.exit(2);
  }
  return n;
}

if (values.replay !== undefined) {
  process.exitCode = await replayOne(values.replay);
} else if (values.minimize !== undefined) {
  process.exitCode = await minimizeOne(values.minimize);
} else if (values.settings === true) {
  const seed = number('seed', values.seed) ?? Date.now() % 0x7fffffff;
  const seconds = number('seconds', values.seconds) ?? (number('minutes', values.minutes) ?? 1) * 60;
  const summary = await runSettingsFuzz({ seed, seconds, inputs: number('inputs', values.inputs), outDir: values.out!, log: (line) => process.stderr.write(`fuzz: ${line}\n`) });
  const signatures = new Map<string, number>();
  for (const f of summary.failures) signatures.set(`${f.kind}: ${f.signature}`, (signatures.get(`${f.kind}: ${f.signature}`) ?? 0) + 1);
  const lines = [
    `seed            ${seed}`,
    `inputs run      ${summary.inputs} in ${summary.seconds.toFixed(1)} s (${summary.accepted} loaded, ${summary.refused} refused with a located error)`,
    `failures        ${summary.failures.length} (${signatures.size} distinct)`,
    ...[...signatures].map(([signature, count]) => `  ${count} x ${signature}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.exitCode = summary.failures.length > 0 ? 1 : 0;
} else {
  const seed = number('seed', values.seed) ?? Date.now() % 0x7fffffff;
  const seconds = number('seconds', values.seconds) ?? (number('minutes', values.minutes) ?? 1) * 60;
  const summary = await runFuzz({
    seed,
    seconds,
    inputs: number('inputs', values.inputs),
    outDir: values.out!,
    timeoutMs: number('timeout-ms', values['timeout-ms']),
    slowMsPerMb: number('slow-ms-per-mb', values['slow-ms-per-mb']),
    maxRssMb: number('max-rss-mb', values['max-rss-mb']),
    maxGrowthMb: number('max-growth-mb', values['max-growth-mb']),
    samplesDir: values.samples,
    log: (line) => process.stderr.write(`fuzz: ${line}\n`),
  });
  const mb = (b: number) => `${Math.round(b / 1e6)} MB`;
  const lines = [
    `seed            ${summary.seed}`,
    `corpus          ${summary.corpus.length} sample captures`,
    `inputs run      ${summary.inputs} in ${summary.seconds.toFixed(1)} s (${summary.inputsPerSecond.toFixed(0)} inputs/s)`,
    `failures        ${summary.failures.length} (${summary.signatures.length} distinct)`,
    `peak RSS        ${mb(summary.peakRssBytes)} (growth over the run ${mb(summary.rssGrowthBytes)})`,
  ];
  for (const s of summary.signatures) lines.push(`  ${s.count} x ${s.signature}${s.example ? `\n      e.g. ${s.example}` : ''}`);
  process.stdout.write(lines.join('\n') + '\n');
  process.exitCode = summary.failures.length > 0 ? 1 : 0;
}

/** The run options in the note beside a saved input, else the product's defaults. */
function runOptionsFor(file: string): RunOptions {
  const notePath = file.replace(CAPTURE_EXT, '.json');
  return existsSync(notePath) ? (JSON.parse(readFileSync(notePath, 'utf8')) as { run: RunOptions }).run : { evidence: 'redacted', tightCaps: false };
}

async function minimizeOne(file: string): Promise<number> {
  const ext = CAPTURE_EXT.exec(file)?.[0].slice(1) ?? 'pcap';
  const run = runOptionsFor(file);
  const { ruleSet } = await RuleSet.load({ rulesDir: join(REPO_ROOT, 'rules') });
  const tmpDir = mkdtempSync(join(tmpdir(), 'wardwatch-minimize-'));
  try {
    const input = readFileSync(file);
    const result = await minimize(input, { ruleSet, run, tmpDir, ext });
    if (result.signature === null) {
      process.stderr.write(`fuzz: ${file} runs cleanly: nothing to minimize\n`);
      return 1;
    }
    const out = file.replace(CAPTURE_EXT, `.min.${ext}`);
    writeFileSync(out, result.bytes);
    process.stdout.write(`${result.signature}\n${input.length} -> ${result.bytes.length} bytes in ${result.runs} runs: ${out}\n`);
    return 0;
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

/** Runs one capture the way the fuzzer does, with the run options of its note when there is one. */
async function replayOne(file: string): Promise<number> {
  const run = runOptionsFor(file);
  const { ruleSet } = await RuleSet.load({ rulesDir: join(REPO_ROOT, 'rules') });
  try {
    const result = await runCapture(file, ruleSet, run);
    process.stdout.write(JSON.stringify({ run, ...result }, null, 2) + '\n');
    if (result.problems.some((p) => p.includes('analyzer fault'))) {
      const fault = await analyzerFault(file, ruleSet, run);
      if (fault) process.stdout.write(`${fault.stack}\n`);
    }
    return result.problems.length > 0 ? 1 : 0;
  } catch (err) {
    process.stdout.write(`${(err as Error).stack}\n`);
    return 1;
  }
}
