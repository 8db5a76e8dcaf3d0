/**
 * Runs fuzz inputs one after another in a worker thread. Before each input it writes the input's
 * index and start time to shared memory, so the main thread can tell a hang from slow progress
 * and end the worker even while it spins in synchronous code.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { RuleSet } from '../../src/detect/rule-set.js';
import { loadCorpus } from './corpus.js';
import { generateInput } from './mutate.js';
import { analyzerFault, runCapture } from './run-input.js';
import { SLOT_CURRENT, SLOT_DONE, SLOT_STARTED_MS, type FailureMessage, type WorkerSetup } from './protocol.js';

const setup = workerData as WorkerSetup;
const slots = new Int32Array(setup.shared, 0, 2);
const times = new Float64Array(setup.shared, 8, 1);

function report(message: FailureMessage): void {
  parentPort!.postMessage(message);
}

const corpus = loadCorpus(setup.samplesDir);
const { ruleSet } = await RuleSet.load({ rulesDir: setup.rulesDir });

let index = setup.start;
for (; index < setup.end && Date.now() < setup.deadlineMs; index++) {
  const input = generateInput(corpus, setup.seed, index);
  const path = join(setup.tmpDir, `input-${threadId}.${input.format}${input.gzip ? '.gz' : ''}`);
  writeFileSync(path, input.bytes);
  times[SLOT_STARTED_MS] = Date.now();
  Atomics.store(slots, SLOT_CURRENT, index);
  let failure: Omit<FailureMessage, 'type' | 'index'> | null = null;
  const started = performance.now();
  try {
    const result = await runCapture(path, ruleSet, input.run);
    const ms = performance.now() - started;
    if (result.problems.length > 0) {
      const fault = result.problems.some((p) => p.includes('analyzer fault')) ? await analyzerFault(path, ruleSet, input.run) : null;
      failure = fault === null ? { kind: 'invariant', message: result.problems.join('; ') } : { kind: 'analyzer-fault', message: `${fault.name}: ${fault.message}`, stack: fault.stack };
    } else {
      // Replay runs at tens of MB/s: far slower than that is work growing faster than the input.
      // A second run tells a slow input from a pause of the machine (or the garbage collector).
      const allowedMs = setup.slowMsPerMb * Math.max(1, input.bytes.length / 1e6);
      if (ms > allowedMs) {
        const again = performance.now();
        await runCapture(path, ruleSet, input.run);
        const best = Math.min(ms, performance.now() - again);
        if (best > allowedMs) failure = { kind: 'slow', message: `${Math.round(best)} ms for ${input.bytes.length} bytes of capture (allowed ${Math.round(allowedMs)} ms)` };
      }
    }
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    failure = { kind: 'exception', message: `${e.name}: ${e.message}`, stack: e.stack };
  }
  Atomics.store(slots, SLOT_CURRENT, -1);
  const memory = process.memoryUsage();
  if (failure === null && (memory.rss > setup.maxRssBytes || memory.arrayBuffers > setup.maxArrayBufferBytes)) {
    failure = { kind: 'memory', message: `after this input: rss ${mb(memory.rss)} MB, array buffers ${mb(memory.arrayBuffers)} MB` };
  }
  if (failure !== null) report({ type: 'failure', index, ...failure });
  Atomics.add(slots, SLOT_DONE, 1);
  // A fresh worker starts with fresh memory.
  if (failure?.kind === 'memory') {
    index++;
    break;
  }
}
parentPort!.postMessage({ type: 'finished', next: index });

function mb(bytes: number): number {
  return Math.round(bytes / 1e6);
}
