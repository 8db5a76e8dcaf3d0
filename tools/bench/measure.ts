/**
 * Runs a command and measures it: wall time from spawn to exit, and the peak resident memory of
 * the process, from `/usr/bin/time -v` when installed, else by polling VmHWM in /proc.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

const GNU_TIME = '/usr/bin/time';

export interface Measured {
  seconds: number;
  /** Peak resident set size in MiB, or null when it could not be measured. */
  peakRssMiB: number | null;
  exitCode: number | null;
  /** Killed after `timeoutSeconds`. */
  timedOut: boolean;
  /** The last lines the command wrote to stderr. */
  stderrTail: string;
}

export interface MeasureOptions {
  /** Each line the command writes to stdout. */
  onLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Kills the command (and anything it started) after this long. */
  timeoutSeconds?: number;
}

/** Process groups of the commands running now, killed if the bench itself is interrupted. */
const running = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const pid of running) killGroup(pid);
    process.exit(130);
  });
}

let gnuTime: boolean | undefined;

function hasGnuTime(): boolean {
  if (gnuTime === undefined) gnuTime = existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-v', 'true'], { stdio: 'ignore' }).status === 0;
  return gnuTime;
}

export function commandExists(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

export async function measure(command: string, args: string[], options: MeasureOptions = {}): Promise<Measured> {
  const useTime = hasGnuTime();
  const dir = mkdtempSync(join(tmpdir(), 'wardwatch-bench-'));
  const timeFile = join(dir, 'time.txt');
  const [cmd, argv] = useTime ? [GNU_TIME, ['-v', '-o', timeFile, command, ...args]] : [command, args];
  const started = performance.now();
  // A process group of its own, so a timeout also stops the command under /usr/bin/time.
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, detached: true });
  if (child.pid !== undefined) running.add(child.pid);
  let timedOut = false;
  const timer =
    options.timeoutSeconds === undefined
      ? null
      : setTimeout(() => {
          timedOut = true;
          if (child.pid !== undefined) killGroup(child.pid);
        }, options.timeoutSeconds * 1000);

  let polledKiB = 0;
  const poll = useTime ? null : setInterval(() => (polledKiB = Math.max(polledKiB, vmHwmKiB(child.pid))), 20);

  const flushStdout = splitLines(child.stdout!, options.onLine);
  let stderr = '';
  const flushStderr = splitLines(child.stderr!, (line) => {
    stderr = `${stderr}${line}\n`.slice(-8000);
    options.onStderrLine?.(line);
  });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const seconds = (performance.now() - started) / 1000;
  if (child.pid !== undefined) running.delete(child.pid);
  if (timer !== null) clearTimeout(timer);
  if (poll !== null) clearInterval(poll);
  flushStdout();
  flushStderr();

  let peakKiB: number | null = polledKiB > 0 ? polledKiB : null;
  let code = exitCode;
  if (useTime && existsSync(timeFile)) {
    const report = readFileSync(timeFile, 'utf8');
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(report);
    if (rss) peakKiB = Number(rss[1]);
    const status = /Exit status: (\d+)/.exec(report);
    if (status) code = Number(status[1]);
  }
  rmSync(dir, { recursive: true, force: true });
  return { seconds, peakRssMiB: peakKiB === null ? null : peakKiB / 1024, exitCode: timedOut ? null : code, timedOut, stderrTail: stderr.trim().split('\n').slice(-15).join('\n') };
}

/** Calls `onLine` for each line of the stream; the returned function passes on an unterminated last line. */
function splitLines(stream: Readable, onLine: ((line: string) => void) | undefined): () => void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    if (!onLine) return;
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      onLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  return () => {
    if (pending !== '' && onLine) onLine(pending);
    pending = '';
  };
}

/** The high-water mark of a process's resident memory, 0 when it cannot be read. */
function vmHwmKiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
