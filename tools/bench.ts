/**
 * Throughput benchmark: wardwatch against tcpdump, nDPI and tshark on two mixes, then stress.
 *
 *   npm run bench                          full: both mixes at 1 GB, 5 interleaved rounds
 *   npm run bench -- --quick               small sizes, 3 rounds, no live section (a few minutes)
 *   npm run bench -- --captures DIR --size 1G
 *   npm run bench -- --profile             also profile one replay of the real mix
 *
 * Options: --size N[KB|MB|GB] (each mix; binary units), --captures DIR (real captures; default
 * ../shared/real-captures beside the checkout, the real mix is skipped with a message when it is
 * missing), --flat-sizes A,B (the real mix sizes compared for memory, default 200MB,2GB),
 * --runs N (interleaved rounds; the median counts), --seed N (generated mix), --cache DIR (where
 * the mixes are built and kept for later runs, default $TMPDIR/wardwatch-bench), --out DIR (the
 * figures as JSON, default bench-out), --profile, --no-live, --no-stress, --no-generated,
 * --no-real.
 *
 * The mixes. Generated (tools/bench/generate.ts): a deterministic capture of short and long TCP
 * flows, DNS, syslog, internal HL7 and LPD, VLAN tags, and planted CMS8000 streams and NFS mounts
 * to 202.114.4.119, whose alerts replay must raise exactly. Real (tools/bench/real-mix.ts): the
 * captures in --captures, merged and repeated with their addresses remapped per copy, one copy's
 * NFS client and server moved to raise 1000001 and 1000004.
 *
 * Per mix, in rounds (A B C ... A B C ...) so the machine's drift falls on every tool alike:
 * wardwatch replay, replay --workers 2, two single-thread replays side by side (the ceiling for
 * two threads here), the mix split in two by host pair with each half replayed by its own process,
 * side by side (the most any two-thread split could reach: tools/bench/host-pair-split.ts),
 * `tcpdump -r F -w /dev/null`, `ndpiReader -q -i F` and tshark with a display filter like the
 * rules on the first 100 MB (scaled to the whole). Wall time is from spawn to exit,
 * peak RSS from /usr/bin/time -v (tools/bench/measure.ts). Every replay must raise the same alert
 * set (signature, flow, time); the bench says so loudly and exits 1 otherwise.
 *
 * Then: peak memory on two sizes of the real mix; fragment floods (IPv4, IPv6), a SYN flood and
 * RPC-dense NFS, each a rate and a peak memory, the floods' MOUNT call in fragments must raise
 * 1000004; indicator lookups; live-capture loss over a veth pair (root, tcpreplay).
 *
 * Speed is reported, never asserted.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateCapture, reusablePlan, type AlertCounts } from './bench/generate.js';
import { LiveRigError, liveLossBlocker, measureLiveLoss, type LiveLossResult } from './bench/live-loss.js';
import { commandExists, measure, type Measured } from './bench/measure.js';
import { selfTimes } from './bench/profile.js';
import { measureReading } from './bench/read-speed.js';
import { splitByHostPair } from './bench/host-pair-split.js';
import { buildRealMix, captureFiles } from './bench/real-mix.js';
import { median, replayRuns, writeFragmentFlood, writeRpcDense, writeSynFlood } from './bench/stress.js';
import { launcherNodeFlags } from './launcher-flags.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/bin/wardwatch.js');
const MiB = 2 ** 20;
const TSHARK_PREFIX = 100 * MiB;

/**
 * The shipped rules in Wireshark's display filter language, per packet: any packet with the
 * indicator block (1000001), and packets from HOME_NET to outside it on TCP 511 or 515-520
 * (1000002, 1000006), carrying HL7 (1000003) or ONC RPC portmap, MOUNT or NFS (1000004/5).
 */
const HOME_NET = '{10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16}';
const TSHARK_FILTER = `ip.addr == 202.114.4.0/24 || (ip.src in ${HOME_NET} && !(ip.dst in ${HOME_NET}) && (tcp.dstport in {511, 515..520} || hl7 || portmap || mount || nfs))`;

const TARGETS = {
  realVsNdpi: 0.5,
  generatedVsTcpdump: 0.5,
  fragmentsPerSecond: 1e6,
  peakRssMiB: 200,
  rssFlatness: 0.1,
  workersVsCeiling: 0.9,
};

const LIVE_RATES = [50_000, 100_000, 200_000, 300_000];

interface Mix {
  name: string;
  file: string;
  packets: number;
  wireBytes: number;
  fileBytes: number;
  /** Alerts the replay must raise exactly, or null when only the same set in every run counts. */
  expectedAlerts: AlertCounts | null;
  /** Signatures that must be among the alerts. */
  requiredSids: string[];
  /** Where the first TSHARK_PREFIX bytes end on a record boundary. */
  prefix: { bytes: number; packets: number };
}

interface Sample {
  seconds: number;
  peakRssMiB: number | null;
  exitCode: number | null;
  alertKeys?: string[];
  alerts?: AlertCounts;
  packetsRead?: number | null;
  innerSeconds?: number | null;
}

interface ToolRow {
  tool: string;
  /** Median wall time over the rounds (tshark: scaled from its prefix). */
  seconds: number;
  runs: number[];
  packetsPerSecond: number;
  mbitPerSecond: number;
  peakRssMiB: number | null;
  /** This tool's wall time over wardwatch's: wardwatch's throughput as a share of the tool's. */
  wardwatchShare: number | null;
  note?: string;
}

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(k|m|g)?i?b?$/i.exec(text.trim());
  if (!m) throw new Error(`cannot read size '${text}' (try 256MB or 2GB)`);
  const unit = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

function sizeLabel(bytes: number): string {
  if (bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30}GB`;
  if (bytes % MiB === 0) return `${bytes / MiB}MB`;
  return `${bytes}B`;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Reads the file once so that no tool pays for the disk and the others for the page cache. */
function warmPageCache(file: string): void {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 * MiB);
  while (readSync(fd, buf, 0, buf.length, null) > 0);
  closeSync(fd);
}

/** Bytes and records of a classic pcap up to the record that crosses `limit`. */
function pcapPrefix(file: string, limit: number): { bytes: number; packets: number } {
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(16);
  let at = 24;
  let packets = 0;
  const size = statSync(file).size;
  while (at + 16 <= size && at < limit) {
    readSync(fd, head, 0, 16, at);
    at += 16 + head.readUInt32LE(8);
    packets++;
  }
  closeSync(fd);
  return { bytes: Math.min(at, size), packets };
}

async function replay(mix: Mix, extraArgs: string[], nodeArgs: string[] = [], file = mix.file): Promise<Sample> {
  const alerts: AlertCounts = {};
  const alertKeys: string[] = [];
  let packetsRead: number | null = null;
  let innerSeconds: number | null = null;
  const timeout = 120 + (4 * mix.fileBytes) / MiB;
  const run = await measure(process.execPath, [...launcherNodeFlags(), ...nodeArgs, CLI, 'replay', file, '--format', 'json', '--log-level', 'warn', ...extraArgs], {
    onLine: (line) => {
      if (line.includes('"event_type":"alert"')) {
        const r = JSON.parse(line) as { timestamp: string; src_ip: string; src_port?: number; dest_ip: string; dest_port?: number; alert: { signature_id: number } };
        const sid = String(r.alert.signature_id);
        alerts[sid] = (alerts[sid] ?? 0) + 1;
        alertKeys.push(`${sid} ${r.src_ip}:${r.src_port ?? ''} ${r.dest_ip}:${r.dest_port ?? ''} ${r.timestamp}`);
      } else if (line.includes('"event_type":"stats"')) {
        const r = JSON.parse(line) as { stats?: { decoder?: { pkts?: number } } };
        packetsRead = r.stats?.decoder?.pkts ?? null;
      }
    },
    onStderrLine: (line) => {
      const m = /^traffic\s.* in ([\d.]+) s\b/.exec(line);
      if (m) innerSeconds = Number(m[1]);
    },
    timeoutSeconds: timeout,
  });
  reportFailure(`wardwatch replay ${extraArgs.join(' ')}`, run, timeout);
  alertKeys.sort();
  return { seconds: run.seconds, peakRssMiB: run.peakRssMiB, exitCode: run.exitCode, alerts, alertKeys, packetsRead, innerSeconds };
}

async function external(label: string, command: string, args: string[], timeout = 900): Promise<Sample> {
  const run = await measure(command, args, { timeoutSeconds: timeout });
  reportFailure(label, run, timeout);
  return { seconds: run.seconds, peakRssMiB: run.peakRssMiB, exitCode: run.exitCode };
}

function sameCounts(a: AlertCounts, b: AlertCounts): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

/** What is wrong with a replay's result: its exit, its packet count, its alerts. */
function checkReplay(mix: Mix, label: string, s: Sample, reference: Sample | null): string[] {
  const problems: string[] = [];
  const name = `${mix.name} mix, ${label}`;
  if (s.exitCode !== 0) return [`${name} ${s.exitCode === null ? 'did not finish' : `exited with ${s.exitCode}`}`];
  if (s.packetsRead !== mix.packets) problems.push(`${name} read ${s.packetsRead ?? 'an unknown number of'} packets, the capture holds ${mix.packets}`);
  if (mix.expectedAlerts !== null && !sameCounts(s.alerts!, mix.expectedAlerts)) {
    const sids = [...new Set([...Object.keys(mix.expectedAlerts), ...Object.keys(s.alerts!)])].sort();
    problems.push(`${name}: alerts differ from the planted ones:\n` + sids.map((x) => `      sid ${x}: expected ${mix.expectedAlerts![x] ?? 0}, raised ${s.alerts![x] ?? 0}`).join('\n'));
  }
  for (const sid of mix.requiredSids) if (!s.alerts![sid]) problems.push(`${name} did not raise ${sid}`);
  if (reference !== null && !sameKeys(reference.alertKeys!, s.alertKeys!)) problems.push(`${name} raised a different alert set (signature, flow or time) from the first single-thread replay`);
  return problems;
}

function sameKeys(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

function reportFailure(label: string, run: Measured, timeoutSeconds?: number): void {
  if (run.timedOut) console.error(`  ${label} was stopped after ${timeoutSeconds} s:\n${indent(run.stderrTail)}`);
  else if (run.exitCode !== 0) console.error(`  ${label} exited with ${run.exitCode}:\n${indent(run.stderrTail)}`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

function fmt(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Columns aligned; those listed in `left` to the left, the others to the right. */
function table(rows: string[][], left: number[] = [0]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (left.includes(c) ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd()).join('\n');
}

function verdict(ok: boolean | null): string {
  return ok === null ? 'n/a' : ok ? 'met' : 'MISSED';
}

interface MixResult {
  mix: Mix;
  rows: ToolRow[];
  /** Median seconds per tool name. */
  seconds: Record<string, number>;
  /** Two whole replays side by side over one alone, in throughput. */
  ceiling: number | null;
  /** --workers 2 throughput over the side-by-side ceiling's. */
  workersVsCeiling: number | null;
  /** The host-pair halves replayed side by side, over the ceiling: what any two-thread split could reach. */
  splitBound: number | null;
  workersSameAlerts: boolean | null;
}

const PAIR = '2 single-thread replays at once';
const HALVES = '2 replays of host-pair halves at once';

/** A tool's name in the round lines and notes. */
function shortName(tool: string): string {
  if (tool === HALVES) return 'halves';
  return `${tool.split(' ')[0]}${tool.includes('workers') ? ' -w2' : tool === PAIR ? ' pair' : ''}`;
}

/** The mix split in two by host pair (host-pair-split.ts), kept beside it for later runs. */
async function hostPairHalves(mix: Mix): Promise<{ files: [string, string]; pairs: number; packets: [number, number] }> {
  const files: [string, string] = [`${mix.file}.half-0.pcap`, `${mix.file}.half-1.pcap`];
  const meta = `${mix.file}.halves.json`;
  const fresh = existsSync(meta) && statSync(meta).mtimeMs > statSync(mix.file).mtimeMs && files.every((f) => existsSync(f));
  const split = fresh ? (JSON.parse(readFileSync(meta, 'utf8')) as { pairs: number; packets: [number, number] }) : await splitByHostPair(mix.file, files);
  if (!fresh) writeFileSync(meta, JSON.stringify(split));
  for (const f of files) warmPageCache(f);
  return { files, pairs: split.pairs, packets: split.packets };
}

/**
 * Runs every tool once per round for `runs` rounds, in the same order each round; medians count.
 */
async function compareOnMix(mix: Mix, runs: number, problems: string[]): Promise<MixResult> {
  warmPageCache(mix.file);
  const tools: { name: string; run: () => Promise<Sample[]>; wardwatch?: boolean }[] = [];
  tools.push({ name: 'wardwatch replay', run: async () => [await replay(mix, [])], wardwatch: true });
  tools.push({ name: 'wardwatch replay --workers 2', run: async () => [await replay(mix, ['--workers', '2'])], wardwatch: true });
  tools.push({ name: PAIR, run: () => Promise.all([replay(mix, []), replay(mix, [])]), wardwatch: true });
  const halves = await hostPairHalves(mix);
  tools.push({ name: HALVES, run: () => Promise.all(halves.files.map((f) => replay(mix, [], [], f))) });
  if (commandExists('tcpdump')) tools.push({ name: 'tcpdump -r F -w /dev/null', run: async () => [await external('tcpdump', 'tcpdump', ['-r', mix.file, '-w', '/dev/null'])] });
  else console.log('  tcpdump is not installed: skipped');
  if (commandExists('ndpiReader')) tools.push({ name: 'ndpiReader -q -i F', run: async () => [await external('ndpiReader', 'ndpiReader', ['-q', '-i', mix.file])] });
  else console.log('  ndpiReader is not installed (Debian libndpi-bin): skipped');
  const usePrefix = mix.prefix.packets < mix.packets;
  if (commandExists('tshark')) {
    const args = ['-r', mix.file, '-n', ...(usePrefix ? ['-c', String(mix.prefix.packets)] : []), '-Y', TSHARK_FILTER, '-T', 'fields', '-e', 'frame.number'];
    tools.push({ name: usePrefix ? `tshark -Y (first ${fmt(mix.prefix.bytes / MiB, 0)} MiB, scaled)` : 'tshark -Y', run: async () => [await external('tshark', 'tshark', args)] });
  } else {
    console.log('  tshark is not installed: skipped');
  }

  const samples = new Map<string, Sample[][]>(tools.map((t) => [t.name, []]));
  let reference: Sample | null = null;
  for (let round = 1; round <= runs; round++) {
    const line: string[] = [];
    for (const t of tools) {
      const s = await t.run();
      samples.get(t.name)!.push(s);
      if (t.wardwatch) {
        for (const x of s) {
          if (reference === null && x.exitCode === 0) reference = x;
          problems.push(...checkReplay(mix, t.name, x, reference));
        }
      } else if (s.some((x) => x.exitCode !== 0)) {
        problems.push(`${mix.name} mix: ${t.name} exited with ${s.map((x) => x.exitCode).join(', ')}`);
      } else if (t.name === HALVES && s.reduce((n, x) => n + (x.packetsRead ?? 0), 0) !== mix.packets) {
        problems.push(`${mix.name} mix: the host-pair halves read ${s.map((x) => x.packetsRead).join(' + ')} packets, the capture holds ${mix.packets}`);
      }
      line.push(`${shortName(t.name)} ${fmt(Math.max(...s.map((x) => x.seconds)), 2)}`);
    }
    console.log(`  round ${round}/${runs}: ${line.join(', ')} s`);
  }

  const seconds: Record<string, number> = {};
  const rows: ToolRow[] = [];
  const ww = median(samples.get('wardwatch replay')!.map((s) => s[0].seconds));
  for (const t of tools) {
    const got = samples.get(t.name)!;
    const walls = got.map((s) => Math.max(...s.map((x) => x.seconds)));
    const isTshark = t.name.startsWith('tshark');
    const scale = isTshark && usePrefix ? mix.fileBytes / mix.prefix.bytes : 1;
    const sec = median(walls) * scale;
    seconds[t.name] = sec;
    const work = t.name === PAIR ? 2 : 1;
    const peaks = got.flatMap((s) => s.map((x) => x.peakRssMiB)).filter((x): x is number => x !== null);
    rows.push({
      tool: t.name,
      seconds: sec,
      runs: walls,
      packetsPerSecond: (work * mix.packets) / sec,
      mbitPerSecond: (work * mix.wireBytes * 8) / sec / 1e6,
      peakRssMiB: peaks.length > 0 ? Math.max(...peaks) : null,
      wardwatchShare: t.wardwatch || t.name === HALVES ? null : sec / ww,
      note:
        isTshark && usePrefix
          ? `timed ${fmt(median(walls), 2)} s on the first ${fmt(mix.prefix.bytes / MiB, 0)} MiB (${mix.prefix.packets.toLocaleString('en-US')} packets), scaled ×${fmt(scale, 2)}`
          : t.name === HALVES
            ? `the capture split by host pair, ${halves.pairs.toLocaleString('en-US')} pairs dealt largest first: ${halves.packets.map((n) => n.toLocaleString('en-US')).join(' and ')} packets, each half replayed by its own process`
            : undefined,
    });
  }
  const pair = seconds[PAIR];
  const two = seconds['wardwatch replay --workers 2'];
  const ceiling = pair !== undefined ? (2 * ww) / pair : null;
  const workersVsCeiling = pair !== undefined && two !== undefined ? pair / (2 * two) : null;
  const splitBound = pair !== undefined ? pair / (2 * seconds[HALVES]) : null;
  const firstTwo = samples.get('wardwatch replay --workers 2')![0]?.[0];
  const workersSameAlerts = firstTwo && reference ? sameKeys(firstTwo.alertKeys!, reference.alertKeys!) : null;
  return { mix, rows, seconds, ceiling, workersVsCeiling, splitBound, workersSameAlerts };
}

function printMix(r: MixResult): void {
  const { mix } = r;
  console.log(`\n${mix.name} mix: ${fmt(mix.fileBytes / MiB, 0)} MiB, ${mix.packets.toLocaleString('en-US')} packets (${fmt(mix.wireBytes / mix.packets, 0)} bytes on average), median of ${r.rows[0].runs.length} interleaved rounds\n`);
  const rows = [['tool', 'seconds', 'packets/s', 'Mbit/s', 'peak RSS MiB', 'wardwatch ÷ tool']];
  for (const t of r.rows) rows.push([t.tool, fmt(t.seconds, 2), fmt(t.packetsPerSecond, 0), fmt(t.mbitPerSecond, 0), fmt(t.peakRssMiB, 0), t.wardwatchShare === null ? '' : `${fmt(t.wardwatchShare, 2)}×`]);
  console.log(table(rows));
  for (const t of r.rows) if (t.note) console.log(`${shortName(t.tool)}: ${t.note}`);
  console.log(`(wardwatch ÷ tool: wardwatch's throughput as a share of the tool's; the pair's rates count both replays)`);
  console.log(`two threads: side by side ${fmt(r.ceiling, 2)}× one replay's throughput (this machine's ceiling); --workers 2 reaches ${fmt(r.workersVsCeiling, 2)} of it, the host-pair halves side by side (the best any two-thread split could do) ${fmt(r.splitBound, 2)}; alerts ${r.workersSameAlerts === null ? '-' : r.workersSameAlerts ? 'identical to one thread' : 'DIFFERENT from one thread'}`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      size: { type: 'string' },
      captures: { type: 'string', default: resolve(ROOT, '../shared/real-captures') },
      'flat-sizes': { type: 'string' },
      seed: { type: 'string', default: '1' },
      cache: { type: 'string', default: join(tmpdir(), 'wardwatch-bench') },
      out: { type: 'string', default: 'bench-out' },
      profile: { type: 'boolean', default: false },
      runs: { type: 'string' },
      live: { type: 'boolean' },
      stress: { type: 'boolean', default: true },
      generated: { type: 'boolean', default: true },
      real: { type: 'boolean', default: true },
    },
    allowNegative: true,
  });
  const quick = values.quick;
  const runs = Number(values.runs ?? (quick ? 3 : 5));
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not '${values.runs}'`);
  const sizeBytes = parseSize(values.size ?? (quick ? '128MB' : '1GB'));
  const flatSizes = (values['flat-sizes'] ?? (quick ? '100MB,400MB' : '200MB,2GB')).split(',').map(parseSize);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, not '${values.seed}'`);
  const live = values.live ?? !quick;
  const cacheDir = resolve(values.cache);
  const outDir = resolve(values.out);
  mkdirSync(cacheDir, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  const problems: string[] = [];
  const started = performance.now();

  if (!existsSync(CLI)) {
    console.error(`${CLI} is missing: run npm run build first`);
    return 2;
  }
  if (newestMtime(join(ROOT, 'src')) > statSync(CLI).mtimeMs) console.warn('warning: src/ has changed since the last build; the bench runs dist/ as it is (npm run build to refresh it)');
  console.log(`${quick ? 'quick' : 'full'} bench: mixes of ${sizeLabel(sizeBytes)}, ${runs} interleaved rounds, captures cached in ${cacheDir}`);

  // 1. The mixes.
  const mixes: Mix[] = [];
  if (values.generated) {
    const capture = join(cacheDir, `generated-${sizeLabel(sizeBytes)}-${seed}.pcap`);
    let plan = reusablePlan(capture, seed, sizeBytes);
    if (plan !== null) {
      console.log(`generated mix: reusing ${capture}`);
    } else {
      process.stdout.write(`generated mix: writing ${capture} ...`);
      plan = generateCapture(capture, seed, sizeBytes, (done) => process.stdout.write(` ${Math.round(done / MiB)}`));
      console.log(` MiB in ${fmt(plan.generateSeconds)} s`);
    }
    console.log(`  ${plan.packets.toLocaleString('en-US')} packets, ${Object.values(plan.flowsStarted).reduce((a, b) => a + b, 0).toLocaleString('en-US')} flows; expected alerts ${Object.entries(plan.expectedAlerts).map(([sid, n]) => `${sid} ×${n}`).join(', ')}`);
    mixes.push({ name: 'generated', file: capture, packets: plan.packets, wireBytes: plan.wireBytes, fileBytes: plan.fileBytes, expectedAlerts: plan.expectedAlerts, requiredSids: [], prefix: pcapPrefix(capture, TSHARK_PREFIX) });
  }
  const capturesDir = resolve(values.captures);
  const haveReal = values.real && existsSync(capturesDir) && captureFiles(capturesDir).length > 0;
  const realMix = async (bytes: number): Promise<Mix> => {
    process.stdout.write(`real mix ${sizeLabel(bytes)}: `);
    const m = await buildRealMix(capturesDir, bytes, cacheDir, sizeLabel(bytes), (p) => process.stdout.write(`${p} `));
    console.log(m.reused ? `reusing ${m.file}` : `built ${m.file} in ${fmt(m.buildSeconds)} s`);
    console.log(`  ${m.copies} copies of ${m.sources.map((s) => s.name).join(', ')}; ${m.packets.toLocaleString('en-US')} packets, ${fmt((100 * m.fragments) / m.packets, 0)} % IP fragments${m.plantedCopy === null ? '' : `; copy ${m.plantedCopy + 1} carries the planted MOUNT`}`);
    for (const s of m.skipped) console.log(`  ${s}`);
    return { name: 'real', file: m.file, packets: m.packets, wireBytes: m.wireBytes, fileBytes: m.fileBytes, expectedAlerts: null, requiredSids: m.plantedCopy === null ? [] : ['1000001', '1000004'], prefix: pcapPrefix(m.file, TSHARK_PREFIX) };
  };
  if (haveReal) mixes.push(await realMix(sizeBytes));
  else if (values.real) console.log(`real mix: skipped, no captures in ${capturesDir} (--captures DIR)`);

  // 2. Each mix against the other tools.
  const results: MixResult[] = [];
  for (const mix of mixes) {
    console.log(`\n${mix.name} mix: ${runs} rounds of every tool ...`);
    const r = await compareOnMix(mix, runs, problems);
    printMix(r);
    results.push(r);
  }

  // 2a. wardwatch's reader alone and with decoding: the floor under replay.
  const reading: Record<string, { readGBps: number; decodeGBps: number }> = {};
  for (const mix of mixes) {
    try {
      const speed = measureReading(join(ROOT, 'dist'), mix.file);
      reading[mix.name] = { readGBps: speed.bytes / speed.readSeconds / 1e9, decodeGBps: speed.bytes / speed.decodeSeconds / 1e9 };
      console.log(`${mix.name} mix, in-process (best of 3): reading ${fmt(reading[mix.name].readGBps, 2)} GB/s, reading and decoding ${fmt(reading[mix.name].decodeGBps, 2)} GB/s`);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }

  // 3. Memory on two sizes of the real mix.
  let flat: { sizes: string[]; peakRssMiB: (number | null)[]; seconds: number[] } | null = null;
  if (haveReal) {
    const flatMixes: Mix[] = [];
    for (const bytes of flatSizes) flatMixes.push(await realMix(bytes));
    const flatRuns = Math.min(runs, 3);
    console.log(`\nmemory: the real mix at ${flatSizes.map(sizeLabel).join(' and ')}, ${flatRuns} interleaved rounds ...`);
    const peaks: (number | null)[][] = flatMixes.map(() => []);
    const walls: number[][] = flatMixes.map(() => []);
    for (let round = 0; round < flatRuns; round++) {
      for (const [i, m] of flatMixes.entries()) {
        const s = await replay(m, []);
        problems.push(...checkReplay(m, `replay of ${sizeLabel(flatSizes[i])}`, s, null));
        peaks[i].push(s.peakRssMiB);
        walls[i].push(s.seconds);
      }
    }
    flat = { sizes: flatSizes.map(sizeLabel), peakRssMiB: peaks.map((p) => (p.every((x) => x !== null) ? median(p as number[]) : null)), seconds: walls.map(median) };
    const rows = [['real mix', 'seconds', 'packets/s', 'peak RSS MiB (median)']];
    for (const [i, m] of flatMixes.entries()) rows.push([flat.sizes[i], fmt(flat.seconds[i], 2), fmt(m.packets / flat.seconds[i], 0), fmt(flat.peakRssMiB[i], 0)]);
    console.log(table(rows));
  }

  // 4. Stress.
  const stress: { name: string; rate: number; unit: string; seconds: number; peakRssMiB: number | null; note: string }[] = [];
  if (values.stress) {
    const stressRuns = Math.min(runs, 3);
    const floodCount = quick ? 200_000 : 800_000;
    for (const family of ['ipv4', 'ipv6'] as const) {
      const file = join(cacheDir, `fragment-flood-${family}-${floodCount}.pcap`);
      if (!existsSync(file)) writeFragmentFlood(file, floodCount, family);
      console.log(`\nstress: ${family} fragment flood, ${floodCount.toLocaleString('en-US')} first fragments that never complete, a MOUNT call in fragments at its end (median of ${stressRuns}) ...`);
      const r = await replayRuns(CLI, file, stressRuns);
      const frags = r.summary.find((l) => l.startsWith('frags')) ?? '';
      const ok = (r.alerts['1000004'] ?? 0) >= 1;
      if (!ok) problems.push(`${family} fragment flood: the MOUNT call in fragments after the flood did not raise 1000004`);
      const rate = floodCount / (r.innerSeconds ?? r.seconds);
      const note = `${ok ? '1000004 raised after the flood' : '1000004 MISSING'}; ${frags.replace(/^frags\s+/, '')}`;
      stress.push({ name: `${family} fragment flood`, rate, unit: 'fragments/s', seconds: r.seconds, peakRssMiB: r.peakRssMiB, note });
      console.log(`  ${fmt(rate / 1e6, 2)} M fragments/s by its own timer (${r.runs.map((t) => fmt(t, 2)).join(' / ')} s with start-up), peak RSS ${fmt(r.peakRssMiB, 0)} MiB; ${note}`);
    }
    const syns = quick ? 200_000 : 1_000_000;
    const synFile = join(cacheDir, `syn-flood-${syns}.pcap`);
    if (!existsSync(synFile)) writeSynFlood(synFile, syns);
    console.log(`\nstress: SYN flood, ${syns.toLocaleString('en-US')} SYNs each a new half-open flow, 20 000 a second (median of ${stressRuns}) ...`);
    const syn = await replayRuns(CLI, synFile, stressRuns);
    const flows = (syn.summary.find((l) => l.startsWith('flows')) ?? '').replace(/^flows\s+/, '');
    stress.push({ name: 'SYN flood', rate: syns / (syn.innerSeconds ?? syn.seconds), unit: 'SYNs/s', seconds: syn.seconds, peakRssMiB: syn.peakRssMiB, note: flows });
    console.log(`  ${fmt(syns / (syn.innerSeconds ?? syn.seconds), 0)} SYNs/s by its own timer, peak RSS ${fmt(syn.peakRssMiB, 0)} MiB; flows ${flows}`);
    if (!/evicted [1-9]/.test(flows) && syns > 100_000) problems.push(`SYN flood: no flow was evicted, the flow table's cap did not hold (${flows})`);

    const rpcBytes = quick ? 32 * MiB : 256 * MiB;
    const rpcFile = join(cacheDir, `rpc-dense-${sizeLabel(rpcBytes)}.pcap`);
    let rpcCalls: number;
    const rpcMeta = `${rpcFile}.calls`;
    if (existsSync(rpcFile) && existsSync(rpcMeta)) rpcCalls = Number(readFileSync(rpcMeta, 'utf8'));
    else {
      rpcCalls = writeRpcDense(rpcFile, rpcBytes).calls;
      writeFileSync(rpcMeta, String(rpcCalls));
    }
    console.log(`\nstress: RPC-dense NFS, ${rpcCalls.toLocaleString('en-US')} NFSv3 GETATTR calls and replies on 40 internal flows, ${sizeLabel(rpcBytes)} (median of ${stressRuns}) ...`);
    const rpc = await replayRuns(CLI, rpcFile, stressRuns);
    const rpcOk = (rpc.alerts['1000004'] ?? 0) >= 1;
    if (!rpcOk) problems.push('RPC-dense NFS: the MOUNT call to the indicator did not raise 1000004');
    const rpcRate = rpcCalls / (rpc.innerSeconds ?? rpc.seconds);
    stress.push({ name: 'RPC-dense NFS', rate: rpcRate, unit: 'calls/s (2 packets each)', seconds: rpc.seconds, peakRssMiB: rpc.peakRssMiB, note: rpcOk ? '1000004 raised' : '1000004 MISSING' });
    console.log(`  ${fmt(rpcRate, 0)} calls/s by its own timer (${r2(rpc.runs)} s with start-up), peak RSS ${fmt(rpc.peakRssMiB, 0)} MiB; ${rpcOk ? '1000004 raised' : '1000004 MISSING'}`);
  }

  // 5. Indicator loading and lookups.
  let indicators: Record<string, number> | null = null;
  if (!quick) {
    console.log('\nindicator lookups (tools/bench-indicators.ts) ...');
    const lines: string[] = [];
    const ind = await measure(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/bench-indicators.ts')], { onLine: (l) => lines.push(l), timeoutSeconds: 300 });
    const last = lines.filter((l) => l.startsWith('{')).pop();
    if (ind.exitCode === 0 && last !== undefined) indicators = JSON.parse(last) as Record<string, number>;
    else reportFailure('bench-indicators', ind, 300);
  }

  // 6. Live capture: loss at increasing packet rates, sending the generated mix's first packets.
  let liveResult: LiveLossResult | null = null;
  const liveSource = mixes.find((m) => m.name === 'generated') ?? mixes[0];
  let liveSkipped: string | null = !live ? (quick ? '--quick' : '--no-live') : liveSource === undefined ? 'no mix' : liveLossBlocker(CLI);
  if (liveSkipped === null) {
    console.log(`\nwardwatch live on a veth pair, ${LIVE_RATES.map((r) => r.toLocaleString('en-US')).join(' / ')} pps ...`);
    try {
      liveResult = await measureLiveLoss({ capture: liveSource.file, rates: LIVE_RATES, cli: CLI, log: (line) => console.log(`  ${line}`) });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof LiveRigError) liveSkipped = message;
      else problems.push(`live capture: ${message}`);
    }
  }

  // 7. Optional profile of one replay of the real mix (else the generated one).
  let profile: ReturnType<typeof selfTimes> | null = null;
  const profiled = mixes.find((m) => m.name === 'real') ?? mixes[0];
  if (values.profile && profiled !== undefined) {
    const profDir = join(outDir, 'prof');
    rmSync(profDir, { recursive: true, force: true });
    mkdirSync(profDir, { recursive: true });
    console.log(`\nprofiling wardwatch replay of the ${profiled.name} mix (node --cpu-prof, ${profDir}) ...`);
    const run = await replay(profiled, [], ['--cpu-prof', '--cpu-prof-dir', profDir]);
    problems.push(...checkReplay(profiled, 'replay under the profiler', run, null));
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f));
    profile = selfTimes(files, ROOT);
    const top = [['self ms', 'share', 'function', 'where']];
    for (const f of profile.functions.slice(0, 25)) top.push([fmt(f.selfMs, 0), `${fmt(f.share * 100, 1)}%`, f.name, f.location]);
    console.log(`${fmt(run.seconds, 2)} s under the profiler, ${fmt(profile.totalMs, 0)} ms sampled; top 25 by self time:\n`);
    console.log(table(top, [2, 3]).replace(/^/gm, '  '));
  }

  // 8. The summary against the targets.
  const gen = results.find((r) => r.mix.name === 'generated');
  const real = results.find((r) => r.mix.name === 'real');
  const share = (r: MixResult | undefined, prefix: string) => r?.rows.find((t) => t.tool.startsWith(prefix))?.wardwatchShare ?? null;
  const realNdpi = share(real, 'ndpiReader');
  const genTcpdump = share(gen, 'tcpdump');
  const floods = stress.filter((s) => s.name.includes('fragment'));
  const minFlood = floods.length > 0 ? Math.min(...floods.map((f) => f.rate)) : null;
  const flatPeak = flat?.peakRssMiB[flat.peakRssMiB.length - 1] ?? null;
  const flatSmall = flat?.peakRssMiB[0] ?? null;
  const growth = flatPeak !== null && flatSmall !== null ? flatPeak / flatSmall - 1 : null;
  const workers = real ?? gen;
  const targetRows = [
    ['target', 'measured', 'goal', ''],
    ['real mix: wardwatch ÷ ndpiReader throughput', fmt(realNdpi, 2), `>= ${TARGETS.realVsNdpi}`, verdict(realNdpi === null ? null : realNdpi >= TARGETS.realVsNdpi)],
    ['generated mix: wardwatch ÷ tcpdump throughput', fmt(genTcpdump, 2), `>= ${TARGETS.generatedVsTcpdump}`, verdict(genTcpdump === null ? null : genTcpdump >= TARGETS.generatedVsTcpdump)],
    ['fragment flood, M fragments/s (slower family)', fmt(minFlood === null ? null : minFlood / 1e6, 2), `>= ${TARGETS.fragmentsPerSecond / 1e6}`, verdict(minFlood === null ? null : minFlood >= TARGETS.fragmentsPerSecond)],
    [`peak RSS MiB, real mix ${flat?.sizes[flat.sizes.length - 1] ?? ''}`, fmt(flatPeak, 0), `<= ${TARGETS.peakRssMiB}`, verdict(flatPeak === null ? null : flatPeak <= TARGETS.peakRssMiB)],
    [`  growth from ${flat?.sizes[0] ?? ''}`, growth === null ? '-' : `${fmt(100 * growth, 0)} %`, `<= ${100 * TARGETS.rssFlatness} %`, verdict(growth === null ? null : growth <= TARGETS.rssFlatness)],
    [`--workers 2 ÷ side-by-side ceiling (${workers?.mix.name ?? '-'} mix)`, fmt(workers?.workersVsCeiling, 2), `>= ${TARGETS.workersVsCeiling}`, verdict(workers?.workersVsCeiling == null ? null : workers.workersVsCeiling >= TARGETS.workersVsCeiling)],
    ['  host-pair halves side by side ÷ that ceiling (bound on any split)', fmt(workers?.splitBound, 2), '', ''],
    ['  alerts identical to one thread', workers?.workersSameAlerts == null ? '-' : workers.workersSameAlerts ? 'yes' : 'NO', 'yes', verdict(workers?.workersSameAlerts ?? null)],
  ];
  for (const r of results) printMix(r);
  if (stress.length > 0) {
    console.log('\nstress (replay, default rules; rate by the replay\'s own timer, without start-up)\n');
    const rows = [['capture', 'rate', 'unit', 'seconds', 'peak RSS MiB', '']];
    for (const s of stress) rows.push([s.name, fmt(s.rate, 0), s.unit, fmt(s.seconds, 2), fmt(s.peakRssMiB, 0), s.note]);
    console.log(table(rows, [0, 2, 5]));
  }
  console.log(`\n${table(targetRows)}`);
  if (indicators) console.log(`\nindicators: ${indicators.entries.toLocaleString('en-US')} loaded in ${indicators.load_ms} ms; ${fmt(indicators.lookups_per_second / 1e6, 1)} M lookups/s; peak RSS ${indicators.peak_rss_mib} MiB`);
  if (liveResult) {
    const liveRows = [['requested pps', 'achieved pps', 'Mbit/s', 'sent', 'analysed', 'kernel drops', 'link drops', 'loss %']];
    for (const r of liveResult.rows) liveRows.push([fmt(r.requestedPps, 0), fmt(r.achievedPps, 0), fmt(r.achievedMbitPerSecond, 0), fmt(r.sent, 0), fmt(r.analysed, 0), fmt(r.kernelDrops, 0), fmt(r.linkDrops, 0), fmt(r.lossPercent, 3)]);
    console.log(`\nlive capture loss (${liveResult.packetsPerRate.toLocaleString('en-US')} packets per rate, frames of ${fmt(liveResult.sample.meanFrameBytes, 0)} bytes on average)\n`);
    console.log(table(liveRows, []));
  } else {
    console.log(`\nlive capture loss: skipped (${liveSkipped})`);
  }

  const json = join(outDir, `bench-${quick ? 'quick' : 'full'}-${sizeLabel(sizeBytes)}.json`);
  writeFileSync(
    json,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        runs,
        mixes: results.map((r) => ({ ...r.mix, tools: r.rows, ceiling: r.ceiling, workersVsCeiling: r.workersVsCeiling, splitBound: r.splitBound, workersSameAlerts: r.workersSameAlerts })),
        reading,
        memory: flat,
        stress,
        tsharkFilter: TSHARK_FILTER,
        targets: TARGETS,
        indicators,
        live: liveResult ?? { skipped: liveSkipped },
        profile: profile === null ? null : { totalMs: profile.totalMs, top: profile.functions.slice(0, 25) },
        problems,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nfigures: ${json}; bench took ${fmt((performance.now() - started) / 60000, 1)} min`);

  if (problems.length > 0) {
    console.error(`\n${'!'.repeat(72)}\nBENCH FAILED\n${problems.map((p) => `  - ${p}`).join('\n')}\n${'!'.repeat(72)}`);
    return 1;
  }
  console.log('alerts: the planted ones, the same in every replay');
  return 0;
}

function r2(values: number[]): string {
  return values.map((t) => fmt(t, 2)).join(' / ');
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
