/**
 * Throughput benchmark: wardwatch against tcpdump and tshark on the same generated capture.
 *
 *   npm run bench                          256 MiB capture, seed 1, results in bench-out/
 *   npm run bench -- --size 2GB            a larger capture (tshark is timed on its first 256 MiB)
 *   npm run bench -- --seed 7 --out /tmp/b --keep
 *   npm run bench -- --profile             also profile one replay (bench-out/prof/) and list
 *                                          the 20 functions with the most self time
 *   npm run bench -- --no-live             skip the live-capture loss section
 *   npm run bench -- --no-flood            skip the fragment flood
 *
 * Options: --size N[KB|MB|GB] (binary units), --seed N, --out DIR (default bench-out), --keep
 * (keep the capture; a later run with the same seed and size reuses it), --runs N (wardwatch,
 * tcpdump and tshark are timed N times, default 3, and the fastest run counts), --profile,
 * --no-live, --no-flood.
 *
 * Steps: generate a deterministic mixed capture (not timed: many short TCP flows, bulk
 * transfers, DNS, syslog, internal HL7 and LPD, VLAN tags on part of it, and a few planted
 * CMS8000 streams and NFS mounts to 202.114.4.119); replay it with the built CLI
 * (dist/, run `npm run build` first) and the default rules; replay a crafted fragment flood
 * (tools/bench/fragment-flood.ts) for fragments/s and peak RSS; read it with `tcpdump -w /dev/null`
 * and with tshark and a display filter close to the rules; run tools/bench-indicators.ts; when
 * running as root with tcpreplay, send the capture's first packets to `wardwatch live` over a veth
 * pair at increasing rates and count what it lost (tools/bench/live-loss.ts). Prints a table
 * against the targets and writes the figures to <out>/bench-<size>-<seed>.json.
 *
 * Speed is reported, never asserted. The alerts are: the replay must raise exactly the alerts the
 * planted flows call for, or the bench says so loudly and exits 1.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateCapture, planFile, reusablePlan, type AlertCounts, type CapturePlan } from './bench/generate.js';
import { measureFragmentFlood } from './bench/fragment-flood.js';
import { LiveRigError, liveLossBlocker, measureLiveLoss, type LiveLossResult } from './bench/live-loss.js';
import { commandExists, measure, type Measured } from './bench/measure.js';
import { selfTimes } from './bench/profile.js';
import { measureReading } from './bench/read-speed.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/bin/wardwatch.js');
const MiB = 2 ** 20;

/**
 * The shipped rules in Wireshark's display filter language, per packet: any packet with the
 * indicator block (1000001), and packets from HOME_NET to outside it on TCP 511 or 515-520
 * (1000002, 1000006), carrying HL7 (1000003) or ONC RPC portmap, MOUNT or NFS (1000004/5).
 */
const HOME_NET = '{10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16}';
const TSHARK_FILTER = `ip.addr == 202.114.4.0/24 || (ip.src in ${HOME_NET} && !(ip.dst in ${HOME_NET}) && (tcp.dstport in {511, 515..520} || hl7 || portmap || mount || nfs))`;

const TARGETS = {
  vsTcpdump: 0.5,
  vsTshark: 30,
  peakRssMiB2GB: 200,
  twoWorkers: 1.7,
};

/** Packet rates the live-capture section sends at, in this order. */
const LIVE_RATES = [50_000, 100_000, 200_000, 300_000];

interface ToolResult {
  tool: string;
  seconds: number;
  packetsPerSecond: number;
  mbitPerSecond: number;
  peakRssMiB: number | null;
  note?: string;
}

interface ReplayResult extends ToolResult {
  alerts: AlertCounts;
  /** Every alert as signature, flow and time, sorted, to compare runs exactly. */
  alertKeys: string[];
  packetsRead: number | null;
  /** The replay's own timer (its summary line): reading and analysis without start-up. */
  innerSeconds: number | null;
  exitCode: number | null;
  /** Wall time of every run; `seconds` is the fastest. */
  runs: number[];
}

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(k|m|g)?i?b?$/i.exec(text.trim());
  if (!m) throw new Error(`--size: cannot read '${text}' (try 256MB or 2GB)`);
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

function rates(plan: CapturePlan, seconds: number): { packetsPerSecond: number; mbitPerSecond: number } {
  return { packetsPerSecond: plan.packets / seconds, mbitPerSecond: (plan.wireBytes * 8) / seconds / 1e6 };
}

/**
 * Replays the capture `runs` times; the fastest run is the result, the largest peak RSS its
 * memory. Every run's alerts are checked against the plan, and must be the same in every run.
 */
async function replayBest(plan: CapturePlan, label: string, extraArgs: string[], timeoutSeconds: number, runs: number, problems: string[]): Promise<ReplayResult> {
  let first: ReplayResult | null = null;
  let best: ReplayResult | null = null;
  let peak: number | null = null;
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await replay(plan, label, extraArgs, timeoutSeconds);
    problems.push(...checkAlerts(r, plan));
    seconds.push(r.seconds);
    if (r.peakRssMiB !== null) peak = Math.max(peak ?? 0, r.peakRssMiB);
    if (first === null) first = r;
    else if (!sameAlertKeys(first, r)) problems.push(`${label}: run ${i + 1} raised different alerts from run 1`);
    if (best === null || (r.exitCode === 0 && r.seconds < best.seconds)) best = r;
    if (r.exitCode !== 0) break;
  }
  return { ...best!, peakRssMiB: peak, runs: seconds };
}

function sameAlertKeys(a: ReplayResult, b: ReplayResult): boolean {
  return a.alertKeys.length === b.alertKeys.length && a.alertKeys.every((k, i) => k === b.alertKeys[i]);
}

async function replay(plan: CapturePlan, label: string, extraArgs: string[], timeoutSeconds: number, nodeArgs: string[] = []): Promise<ReplayResult> {
  const alerts: AlertCounts = {};
  const alertKeys: string[] = [];
  let packetsRead: number | null = null;
  let innerSeconds: number | null = null;
  const run = await measure(process.execPath, [...nodeArgs, CLI, 'replay', plan.file, '--format', 'json', '--log-level', 'warn', ...extraArgs], {
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
    timeoutSeconds,
  });
  reportFailure(label, run, timeoutSeconds);
  alertKeys.sort();
  return { tool: label, seconds: run.seconds, ...rates(plan, run.seconds), peakRssMiB: run.peakRssMiB, alerts, alertKeys, packetsRead, innerSeconds, exitCode: run.exitCode, runs: [run.seconds] };
}

function sameCounts(a: AlertCounts, b: AlertCounts): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

function checkAlerts(result: ReplayResult, plan: CapturePlan): string[] {
  const problems: string[] = [];
  if (result.exitCode !== 0) problems.push(`${result.tool} ${result.exitCode === null ? 'did not finish' : `exited with ${result.exitCode}`}`);
  if (result.packetsRead !== plan.packets) problems.push(`${result.tool} read ${result.packetsRead ?? 'an unknown number of'} packets, the capture holds ${plan.packets}`);
  if (!sameCounts(result.alerts, plan.expectedAlerts)) {
    const sids = [...new Set([...Object.keys(plan.expectedAlerts), ...Object.keys(result.alerts)])].sort();
    problems.push(`${result.tool} alerts differ from the planted ones:\n` + sids.map((s) => `      sid ${s}: expected ${plan.expectedAlerts[s] ?? 0}, raised ${result.alerts[s] ?? 0}`).join('\n'));
  }
  return problems;
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

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '256MB' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: 'bench-out' },
      keep: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      runs: { type: 'string', default: '3' },
      live: { type: 'boolean', default: true },
      flood: { type: 'boolean', default: true },
    },
    allowNegative: true,
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not '${values.runs}'`);
  const sizeBytes = parseSize(values.size);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, not '${values.seed}'`);
  const outDir = resolve(values.out);
  const label = sizeLabel(sizeBytes);
  mkdirSync(outDir, { recursive: true });
  const capture = join(outDir, `bench-${label}-${seed}.pcap`);
  const problems: string[] = [];

  if (!existsSync(CLI)) {
    console.error(`${CLI} is missing: run npm run build first`);
    return 2;
  }
  if (newestMtime(join(ROOT, 'src')) > statSync(CLI).mtimeMs) console.warn('warning: src/ has changed since the last build; the bench runs dist/ as it is (npm run build to refresh it)');

  // 1. The capture.
  let plan = reusablePlan(capture, seed, sizeBytes);
  if (plan !== null) {
    console.log(`capture  reusing ${capture} (seed ${seed}, ${label}, generated earlier)`);
  } else {
    process.stdout.write(`capture  generating ${capture} (seed ${seed}, ${label}) ...`);
    plan = generateCapture(capture, seed, sizeBytes, (done) => process.stdout.write(` ${Math.round(done / MiB)}`));
    console.log(` MiB in ${fmt(plan.generateSeconds)} s`);
  }
  const planted = plan.planted.map((p) => `${p.kind} ${p.client} -> ${p.server}`);
  console.log(`         ${fmt(plan.fileBytes / MiB)} MiB, ${plan.packets.toLocaleString('en-US')} packets, ${fmt(plan.captureSeconds, 2)} s of capture time, ${Object.values(plan.flowsStarted).reduce((a, b) => a + b, 0).toLocaleString('en-US')} flows`);
  console.log(`         planted ${plan.planted.length} alert-worthy flows:\n${planted.map((p) => `           ${p}`).join('\n')}`);
  console.log(`         expected alerts: ${Object.entries(plan.expectedAlerts).map(([sid, n]) => `${sid} ×${n}`).join(', ')}`);
  warmPageCache(capture);

  // 2. wardwatch, one worker and, when the CLI has them, two.
  console.log(`\nwardwatch replay (default rules, best of ${runs}) ...`);
  const results: ToolResult[] = [];
  const single = await replayBest(plan, 'wardwatch', [], 60 + plan.fileBytes / MiB, runs, problems);
  results.push(single);
  console.log(`  ${single.runs.map((t) => fmt(t, 2)).join(' / ')} s (its own timer: ${fmt(single.innerSeconds, 2)} s without start-up); alerts ${Object.entries(single.alerts).map(([sid, n]) => `${sid} ×${n}`).join(', ') || 'none'}`);

  const help = spawnSync(process.execPath, [CLI, 'replay', '--help'], { encoding: 'utf8' }).stdout ?? '';
  let workers: { result: ReplayResult; speedup: number; sameAlerts: boolean } | null = null;
  if (help.includes('--workers')) {
    console.log(`wardwatch replay --workers 2 (best of ${runs}) ...`);
    const two = await replayBest(plan, 'wardwatch --workers 2', ['--workers', '2'], Math.max(60, 5 * single.seconds), runs, problems);
    results.push(two);
    const sameAlerts = sameAlertKeys(single, two);
    if (!sameAlerts) problems.push('wardwatch --workers 2 raised different alerts (signature, flow or time) from one worker');
    workers = { result: two, speedup: single.seconds / two.seconds, sameAlerts };
    console.log(`  ${two.runs.map((t) => fmt(t, 2)).join(' / ')} s, ${fmt(workers.speedup, 2)}× one worker; alerts ${sameAlerts ? 'exactly the same as one worker' : 'DIFFERENT from one worker'}`);
  } else {
    console.log('  (replay has no --workers option: the two-worker run is skipped)');
  }

  // 2a. What two threads can gain on this machine at all: two whole replays side by side, sharing
  // nothing. Cores that share caches and memory bandwidth cap any split of the work below this.
  console.log('two whole single-thread replays at the same time ...');
  const pair = await Promise.all([0, 1].map(() => replay(plan, 'wardwatch (one of two at once)', [], Math.max(60, 5 * single.seconds))));
  for (const r of pair) problems.push(...checkAlerts(r, plan));
  const parallelCeiling = (2 * single.seconds) / Math.max(...pair.map((r) => r.seconds));
  console.log(`  ${pair.map((r) => fmt(r.seconds, 2)).join(' / ')} s: together ${fmt(parallelCeiling, 2)}× the throughput of one alone`);

  // 2b. wardwatch's reader alone and with decoding: the floor under replay.
  console.log('wardwatch reader alone, and reader + decoder (best of 3, in-process timing) ...');
  try {
    const speed = measureReading(join(ROOT, 'dist'), plan.file);
    const reader: ToolResult = { tool: 'wardwatch reader alone', seconds: speed.readSeconds, ...rates(plan, speed.readSeconds), peakRssMiB: null, note: `${fmt(speed.bytes / speed.readSeconds / 1e9, 2)} GB/s` };
    const decoder: ToolResult = { tool: 'wardwatch reader + decoder', seconds: speed.decodeSeconds, ...rates(plan, speed.decodeSeconds), peakRssMiB: null, note: `${fmt(speed.bytes / speed.decodeSeconds / 1e9, 2)} GB/s` };
    results.push(reader, decoder);
    console.log(`  reading ${reader.note}, reading and decoding ${decoder.note}`);
  } catch (err) {
    problems.push((err as Error).message);
  }

  // 2c. A fragment flood that never completes: how fast the defragmenter sheds it, at what memory.
  if (values.flood) {
    const count = 800_000;
    console.log(`wardwatch replay of a fragment flood (${count.toLocaleString('en-US')} first fragments, none completing; best of ${runs}) ...`);
    try {
      const flood = await measureFragmentFlood(CLI, join(outDir, 'fragment-flood.pcap'), count, runs);
      const note = `${fmt(flood.fragmentsPerSecond / 1e6, 2)} M fragments/s by its own timer, ${fmt(count / flood.seconds / 1e6, 2)} M/s with start-up`;
      results.push({ tool: 'wardwatch replay, fragment flood', seconds: flood.seconds, packetsPerSecond: count / flood.seconds, mbitPerSecond: (flood.fileBytes * 8) / flood.seconds / 1e6, peakRssMiB: flood.peakRssMiB, note });
      console.log(`  ${flood.runs.map((t) => fmt(t, 2)).join(' / ')} s: ${note}; peak RSS ${fmt(flood.peakRssMiB, 0)} MiB`);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }

  // 3. tcpdump: reading the file in C, the floor.
  let tcpdump: ToolResult | null = null;
  if (commandExists('tcpdump')) {
    console.log(`tcpdump -r FILE -w /dev/null (best of ${runs}) ...`);
    let best: Measured | null = null;
    for (let i = 0; i < runs; i++) {
      const run = await measure('tcpdump', ['-r', plan.file, '-w', '/dev/null'], { timeoutSeconds: 600 });
      reportFailure('tcpdump', run, 600);
      if (run.exitCode !== 0) break;
      if (best === null || run.seconds < best.seconds) best = run;
    }
    if (best !== null) {
      tcpdump = { tool: 'tcpdump -w /dev/null', seconds: best.seconds, ...rates(plan, best.seconds), peakRssMiB: best.peakRssMiB };
      results.push(tcpdump);
      console.log(`  ${fmt(best.seconds, 2)} s`);
    }
  } else {
    console.log('tcpdump is not installed: skipped');
  }

  // 4. tshark with a display filter like the rules, on a prefix of large captures.
  let tshark: (ToolResult & { matched: number; prefixBytes: number }) | null = null;
  if (commandExists('tshark')) {
    const usePrefix = plan.prefix.packets < plan.packets;
    const end = usePrefix ? plan.prefix.bytes : plan.fileBytes;
    const args = ['-r', plan.file, '-n', ...(usePrefix ? ['-c', String(plan.prefix.packets)] : []), '-Y', TSHARK_FILTER, '-T', 'fields', '-e', 'frame.number'];
    console.log(`tshark ${args.map((a) => (a === TSHARK_FILTER ? `'${a}'` : a)).join(' ')}${usePrefix ? ` (the first ${fmt(end / MiB)} MiB)` : ''} (best of ${runs}) ...`);
    // Best of several like the others: tshark's time varies by a fifth from run to run here.
    let matched = 0;
    let run: Measured | null = null;
    for (let i = 0; i < runs; i++) {
      let lines = 0;
      const attempt = await measure('tshark', args, { onLine: (l) => l !== '' && lines++, timeoutSeconds: 900 });
      reportFailure('tshark', attempt, 900);
      if (run === null || attempt.exitCode !== 0 || attempt.seconds < run.seconds) {
        run = attempt;
        matched = lines;
      }
      if (attempt.exitCode !== 0) break;
    }
    if (run === null) throw new Error('tshark was not run');
    const scale = plan.fileBytes / end;
    const seconds = run.seconds * scale;
    tshark = {
      tool: usePrefix ? 'tshark (extrapolated)' : 'tshark -Y',
      seconds,
      ...rates(plan, seconds),
      peakRssMiB: run.peakRssMiB,
      matched,
      prefixBytes: end,
      note: usePrefix ? `timed ${fmt(run.seconds, 2)} s on the first ${fmt(end / MiB)} MiB, scaled linearly ×${fmt(scale, 2)}; peak RSS is the prefix's` : undefined,
    };
    if (run.exitCode === 0) {
      results.push(tshark);
      console.log(`  ${fmt(run.seconds, 2)} s, ${matched.toLocaleString('en-US')} frames matched`);
    } else {
      tshark = null;
    }
  } else {
    console.log('tshark is not installed: skipped');
  }

  // 5. Indicator loading and lookups.
  console.log('\nindicator lookups (tools/bench-indicators.ts) ...');
  let indicators: Record<string, number> | null = null;
  const lines: string[] = [];
  const ind = await measure(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/bench-indicators.ts')], { onLine: (l) => lines.push(l), timeoutSeconds: 300 });
  for (const l of lines) if (!l.startsWith('{')) console.log(`  ${l}`);
  const last = lines.filter((l) => l.startsWith('{')).pop();
  if (ind.exitCode === 0 && last !== undefined) indicators = JSON.parse(last) as Record<string, number>;
  else reportFailure('bench-indicators', ind, 300);

  // 6. Live capture: loss at increasing packet rates.
  let live: LiveLossResult | null = null;
  let liveSkipped: string | null = values.live ? liveLossBlocker(CLI) : '--no-live';
  if (liveSkipped === null) {
    console.log(`\nwardwatch live on a veth pair, ${LIVE_RATES.map((r) => r.toLocaleString('en-US')).join(' / ')} pps ...`);
    try {
      live = await measureLiveLoss({ capture: plan.file, rates: LIVE_RATES, cli: CLI, log: (line) => console.log(`  ${line}`) });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof LiveRigError) liveSkipped = message;
      else problems.push(`live capture: ${message}`);
    }
  }
  if (liveSkipped !== null) console.log(`\nlive capture loss: skipped (${liveSkipped})`);

  // 7. The tables.
  const rows = [['tool', 'seconds', 'packets/s', 'Mbit/s', 'peak RSS MiB']];
  for (const r of results) rows.push([r.tool, fmt(r.seconds, 2), fmt(r.packetsPerSecond, 0), fmt(r.mbitPerSecond, 0), fmt(r.peakRssMiB, 0)]);
  console.log(`\n${label} capture, ${plan.packets.toLocaleString('en-US')} packets, ${fmt(plan.wireBytes / MiB)} MiB on the wire\n`);
  console.log(table(rows));
  if (tshark?.note) console.log(`tshark: ${tshark.note}`);

  const vsTcpdump = tcpdump ? tcpdump.seconds / single.seconds : null;
  const vsTshark = tshark ? tshark.seconds / single.seconds : null;
  const rssTarget = sizeBytes >= 2 ** 31 && single.peakRssMiB !== null ? single.peakRssMiB < TARGETS.peakRssMiB2GB : null;
  const targetRows = [
    ['target', 'measured', 'goal', ''],
    ['wardwatch speed / tcpdump', fmt(vsTcpdump, 2), `>= ${TARGETS.vsTcpdump}`, verdict(vsTcpdump === null ? null : vsTcpdump >= TARGETS.vsTcpdump)],
    ['wardwatch speed / tshark', fmt(vsTshark, 1), `>= ${TARGETS.vsTshark}`, verdict(vsTshark === null ? null : vsTshark >= TARGETS.vsTshark)],
    ['peak RSS MiB (2 GB capture)', fmt(single.peakRssMiB, 0), `< ${TARGETS.peakRssMiB2GB}`, rssTarget === null ? 'n/a (needs --size 2GB)' : verdict(rssTarget)],
    ['2 workers / 1 worker', fmt(workers?.speedup, 2), `>= ${TARGETS.twoWorkers}`, verdict(workers === null ? null : workers.speedup >= TARGETS.twoWorkers)],
    ['  2 whole replays at once / 1', fmt(parallelCeiling, 2), '', "this machine's ceiling for two threads"],
  ];
  console.log(`\n${table(targetRows)}`);
  if (indicators) console.log(`\nindicators: ${indicators.entries.toLocaleString('en-US')} loaded in ${indicators.load_ms} ms; ${fmt(indicators.lookups_per_second / 1e6, 1)} M lookups/s; peak RSS ${indicators.peak_rss_mib} MiB`);
  if (live) {
    const { sample, highestCleanPps } = live;
    const loopNote = sample.loops > 1 ? `, the capture's ${sample.packets.toLocaleString('en-US')} packets looped` : ` (the capture's first ${sample.packets.toLocaleString('en-US')})`;
    console.log(`\nlive capture loss: ${live.packetsPerRate.toLocaleString('en-US')} packets per rate${loopNote}, frames of ${fmt(sample.meanFrameBytes, 0)} bytes on average\n`);
    const liveRows = [['requested pps', 'achieved pps', 'Mbit/s', 'sent', 'analysed', 'kernel drops', 'link drops', 'loss %']];
    for (const r of live.rows) {
      liveRows.push([fmt(r.requestedPps, 0), fmt(r.achievedPps, 0), fmt(r.achievedMbitPerSecond, 0), fmt(r.sent, 0), fmt(r.analysed, 0), fmt(r.kernelDrops, 0), fmt(r.linkDrops, 0), fmt(r.lossPercent, 3)]);
    }
    console.log(table(liveRows, []));
    const clean = live.rows.find((r) => r.requestedPps === highestCleanPps);
    console.log(
      clean
        ? `highest rate with under ${live.thresholdPercent} % loss: ${fmt(clean.requestedPps, 0)} pps requested (${fmt(clean.achievedPps, 0)} achieved); ${fmt(live.seconds, 0)} s in all`
        : `no rate had under ${live.thresholdPercent} % loss; ${fmt(live.seconds, 0)} s in all`,
    );
  }

  // 8. Optional profile of one replay.
  let profile: ReturnType<typeof selfTimes> | null = null;
  if (values.profile) {
    const profDir = join(outDir, 'prof');
    rmSync(profDir, { recursive: true, force: true });
    mkdirSync(profDir, { recursive: true });
    console.log(`\nprofiling wardwatch replay (node --cpu-prof, ${profDir}) ...`);
    const run = await replay(plan, 'wardwatch --cpu-prof', [], 120 + 2 * single.seconds, ['--cpu-prof', '--cpu-prof-dir', profDir]);
    problems.push(...checkAlerts(run, plan));
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f));
    profile = selfTimes(files, ROOT);
    const top = [['self ms', 'share', 'function', 'where']];
    for (const f of profile.functions.slice(0, 20)) top.push([fmt(f.selfMs, 0), `${fmt(f.share * 100, 1)}%`, f.name, f.location]);
    console.log(`${fmt(run.seconds, 2)} s under the profiler, ${fmt(profile.totalMs, 0)} ms sampled in ${files.length} profile(s); top 20 by self time:\n`);
    console.log(table(top, [2, 3]).replace(/^/gm, '  '));
  }

  // 9. Figures as JSON.
  const json = join(outDir, `bench-${label}-${seed}.json`);
  const strip = (r: ToolResult): ToolResult => {
    const { alertKeys: _keys, ...rest } = r as ReplayResult;
    return rest;
  };
  writeFileSync(
    json,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        capture: plan,
        results: results.map(strip),
        tsharkFilter: TSHARK_FILTER,
        tsharkMatched: tshark?.matched ?? null,
        ratios: { wardwatchVsTcpdump: vsTcpdump, wardwatchVsTshark: vsTshark, twoWorkersSpeedup: workers?.speedup ?? null, twoWorkersSameAlerts: workers?.sameAlerts ?? null, twoWholeReplaysAtOnce: parallelCeiling },
        targets: TARGETS,
        indicators,
        live: live ?? { skipped: liveSkipped },
        profile: profile === null ? null : { totalMs: profile.totalMs, top: profile.functions.slice(0, 20) },
        problems,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nfigures: ${json}`);

  if (!values.keep) {
    rmSync(capture, { force: true });
    rmSync(planFile(capture), { force: true });
    rmSync(join(outDir, 'fragment-flood.pcap'), { force: true });
  } else {
    console.log(`capture kept: ${capture}`);
  }

  if (problems.length > 0) {
    console.error(`\n${'!'.repeat(72)}\nBENCH FAILED\n${problems.map((p) => `  - ${p}`).join('\n')}\n${'!'.repeat(72)}`);
    return 1;
  }
  console.log('alerts: exactly the planted ones');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
