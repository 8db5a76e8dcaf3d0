/**
 * The fuzzing loop: runs inputs in a worker thread, ends the worker when an input runs past the
 * time limit (a hang) and starts a new one after it, samples memory, and saves every failing
 * input with a JSON note so it can become a regression capture.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { loadCorpus, type Seed } from './corpus.js';
import { generateInput, type FuzzInput } from './mutate.js';
import { SHARED_BYTES, SLOT_CURRENT, SLOT_DONE, SLOT_STARTED_MS, type FailureKind, type WorkerMessage, type WorkerSetup } from './protocol.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface FuzzOptions {
  seed: number;
  /** Stop after this many seconds of wall-clock time... */
  seconds?: number;
  /** ...or after this many inputs, whichever comes first. */
  inputs?: number;
  /** Where failing inputs and their notes go. */
  outDir: string;
  /** An input running longer than this is a hang. */
  timeoutMs?: number;
  /** An input slower than this many ms per MB of capture (and than this many ms) is reported slow. */
  slowMsPerMb?: number;
  /** Resident memory (and array buffers, at a third of it) an input may leave behind. */
  maxRssMb?: number;
  /** RSS growth over the run (second fifth, after warm-up, to the last) reported as a failure. */
  maxGrowthMb?: number;
  samplesDir?: string;
  rulesDir?: string;
  /** Copies of one failure (same kind, message shape and place) saved; the rest are counted. */
  savePerSignature?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface FuzzFailure {
  index: number;
  kind: FailureKind | 'memory-growth';
  message: string;
  stack?: string;
  signature: string;
  /** The saved capture, or null when this signature's quota was already saved. */
  file: string | null;
}

export interface FuzzSummary {
  seed: number;
  inputs: number;
  seconds: number;
  inputsPerSecond: number;
  failures: FuzzFailure[];
  /** Distinct failures: signature and how many inputs hit it. */
  signatures: Array<{ signature: string; count: number; example: string | null }>;
  peakRssBytes: number;
  rssGrowthBytes: number;
  corpus: string[];
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const samplesDir = options.samplesDir ?? join(REPO_ROOT, 'pcaps');
  const rulesDir = options.rulesDir ?? join(REPO_ROOT, 'rules');
  const timeoutMs = options.timeoutMs ?? 2000;
  const maxRssBytes = (options.maxRssMb ?? 1536) * 1e6;
  const corpus = loadCorpus(samplesDir);
  const end = options.inputs ?? Number.MAX_SAFE_INTEGER;
  const started = Date.now();
  const deadlineMs = options.seconds === undefined ? Number.MAX_SAFE_INTEGER : started + options.seconds * 1000;
  const tmpDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'wardwatch-fuzz-'));
  const failures: FuzzFailure[] = [];
  const bySignature = new Map<string, { count: number; example: string | null }>();
  /** RSS every 100 ms. */
  const samples: number[] = [];
  const log = options.log ?? (() => undefined);
  const savePerSignature = options.savePerSignature ?? 3;
  let inputs = 0;

  const record = (index: number, kind: FuzzFailure['kind'], message: string, stack?: string): void => {
    const signature = signatureOf(kind, message, stack);
    const seen = bySignature.get(signature) ?? { count: 0, example: null };
    seen.count++;
    let file: string | null = null;
    if (index >= 0 && seen.count <= savePerSignature) {
      file = saveFailure(options.outDir, generateInput(corpus, options.seed, index), options.seed, { kind, message, stack });
      seen.example ??= file;
    }
    bySignature.set(signature, seen);
    failures.push({ index, kind, message, stack, signature, file });
    if (seen.count <= savePerSignature) log(`failure: input ${index}: ${kind}: ${message}${file ? ` (saved ${file})` : ''}`);
  };

  const sampler = setInterval(() => samples.push(process.memoryUsage.rss()), 100);
  let lastLog = started;
  try {
    let next = 0;
    while (next < end && Date.now() < deadlineMs) {
      const setup: WorkerSetup = {
        seed: options.seed,
        start: next,
        end,
        deadlineMs,
        samplesDir,
        rulesDir,
        tmpDir,
        maxRssBytes,
        maxArrayBufferBytes: maxRssBytes / 3,
        slowMsPerMb: options.slowMsPerMb ?? 500,
        shared: new SharedArrayBuffer(SHARED_BYTES),
      };
      const outcome = await runWorker(setup, timeoutMs, record, () => {
        if (Date.now() - lastLog >= 10_000) {
          lastLog = Date.now();
          const done = inputs + Atomics.load(new Int32Array(setup.shared, 0, 2), SLOT_DONE);
          log(`${done} inputs, ${Math.round(done / ((Date.now() - started) / 1000))}/s, ${failures.length} failures, rss ${Math.round(process.memoryUsage.rss() / 1e6)} MB`);
        }
      });
      inputs += outcome.done;
      next = outcome.next;
    }
  } finally {
    clearInterval(sampler);
    rmSync(tmpDir, { recursive: true, force: true });
  }
  samples.push(process.memoryUsage.rss());

  const seconds = (Date.now() - started) / 1000;
  const growth = rssGrowth(samples);
  if (options.maxGrowthMb !== undefined && growth > options.maxGrowthMb * 1e6) {
    record(-1, 'memory-growth', `RSS grew by ${Math.round(growth / 1e6)} MB from the second fifth of the run to the last`);
  }
  return {
    seed: options.seed,
    inputs,
    seconds,
    inputsPerSecond: inputs / Math.max(seconds, 1e-3),
    failures,
    signatures: [...bySignature].map(([signature, s]) => ({ signature, count: s.count, example: s.example })),
    peakRssBytes: samples.reduce((m, s) => Math.max(m, s), 0),
    rssGrowthBytes: growth,
    corpus: corpus.map((s: Seed) => s.name),
  };
}

/** Runs one worker until it finishes, crashes or hangs; returns where to go on. */
function runWorker(
  setup: WorkerSetup,
  timeoutMs: number,
  record: (index: number, kind: FailureKind, message: string, stack?: string) => void,
  tick: () => void,
): Promise<{ next: number; done: number }> {
  const slots = new Int32Array(setup.shared, 0, 2);
  const times = new Float64Array(setup.shared, 8, 1);
  Atomics.store(slots, SLOT_CURRENT, -1);
  const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), {
    workerData: setup,
    // A runaway heap ends the worker (and is reported), not the fuzzer.
    resourceLimits: { maxOldGenerationSizeMb: Math.round(setup.maxRssBytes / 1e6) },
    stdout: true,
    stderr: true,
  });
  worker.stdout.resume();
  worker.stderr.resume();
  return new Promise((resolvePromise, rejectPromise) => {
    let settled = false;
    const done = (): number => Atomics.load(slots, SLOT_DONE);
    const current = (): number => Atomics.load(slots, SLOT_CURRENT);
    /** After a crash: past the input that was running, or past the last one finished. */
    const resumeAt = (): number => (current() >= 0 ? current() + 1 : setup.start + done());
    /** `lost`: the input that hung or crashed the worker, which never counted itself done. */
    const finish = (next: number, lost = 0): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      resolvePromise({ next, done: done() + lost });
    };
    const watchdog = setInterval(() => {
      tick();
      const index = current();
      if (index >= 0 && Date.now() - times[SLOT_STARTED_MS] > timeoutMs) {
        record(index, 'hang', `still running after ${timeoutMs} ms`);
        void worker.terminate();
        finish(index + 1, 1);
      }
    }, 50);
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'failure') record(message.index, message.kind, message.message, message.stack);
      else finish(message.next);
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (settled) return;
      if (current() < 0 && done() === 0) {
        // Not even one input ran: the worker itself cannot start.
        settled = true;
        clearInterval(watchdog);
        rejectPromise(err);
        return;
      }
      // An error between inputs (a late rejection, a stream error) belongs to the last one run.
      const index = current() >= 0 ? current() : setup.start + done() - 1;
      record(index, err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'worker-crash', `${err.name}: ${err.message}`, err.stack);
      finish(resumeAt(), current() >= 0 ? 1 : 0);
    });
    worker.on('exit', () => finish(resumeAt()));
  });
}

/** One failure's identity: kind, message with numbers blanked, and the innermost product frame. */
export function signatureOf(kind: string, message: string, stack?: string): string {
  const shape = message.replace(/0x[0-9a-f]+/gi, 'N').replace(/\d+/g, 'N').slice(0, 160);
  const frame = stack
    ?.split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('at ') && l.includes('/src/'));
  const where = frame?.replace(/^at /, '').replace(/\(.*\/src\//, '(src/').replace(/:\d+\)$/, ')') ?? '';
  return `${kind}: ${shape}${where ? ` @ ${where}` : ''}`;
}

/** Writes the failing input as a capture and a JSON note beside it; returns the capture's path. */
export function saveFailure(outDir: string, input: FuzzInput, seed: number, failure: { kind: string; message: string; stack?: string }): string {
  mkdirSync(outDir, { recursive: true });
  const base = `${failure.kind}-seed${seed}-input${input.index}`;
  const file = join(outDir, `${base}.${input.format}${input.gzip ? '.gz' : ''}`);
  writeFileSync(file, input.bytes);
  const note = {
    seed,
    index: input.index,
    source: input.seed,
    format: input.format,
    gzip: input.gzip,
    bytes: input.bytes.length,
    run: input.run,
    mutations: input.mutations,
    failure: { kind: failure.kind, message: failure.message, stack: failure.stack?.split('\n').slice(0, 12).join('\n') },
  };
  writeFileSync(join(outDir, `${base}.json`), JSON.stringify(note, null, 2) + '\n');
  return file;
}

/** RSS of the last fifth of the run minus that of the second (medians, so spikes do not count). */
function rssGrowth(samples: readonly number[]): number {
  if (samples.length < 10) return 0;
  const fifth = Math.floor(samples.length / 5);
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return Math.max(0, median(samples.slice(-fifth)) - median(samples.slice(fifth, 2 * fifth)));
}
