/**
 * A replay analysis thread's entry point (dist/bin/replay-worker.js): runs the worker's bundle
 * beside it from V8's code cache, as the command's launcher does. Without it each thread spent
 * 50-80 ms of its start compiling the 1.4 MB worker as an ES module, which Node 20 never caches.
 */
import { workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { compileBundle, runBundle } from '../lib/code-cache.js';

/** Set by the build, which runs a replay with worker threads once so the cache covers what a worker runs. */
const RECORD_ENV = 'WARDWATCH_RECORD_WORKER_CODE_CACHE';

const bundle = fileURLToPath(new URL('./replay-worker.cjs', import.meta.url));
const compiled = compileBundle(bundle);
const worker = runBundle(compiled, bundle) as { startReplayWorker(beforeFinish?: () => void): void };
// One thread records, the first worker (share 0 is the command's own thread): two writing the
// same file would only replace each other's.
const records = process.env[RECORD_ENV] === '1' && (workerData as { index: number }).index === 1;
worker.startReplayWorker(records ? () => compiled.recordCache() : undefined);
