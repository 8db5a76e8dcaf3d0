/**
 * A capture file's identity for the record: its size and SHA-256. The hash is computed on a
 * thread of its own while the analysis reads the file: hashing it after the analysis, on the
 * main thread, with a second parse for the packet times, made a replay a tenth slower.
 */
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

export interface CaptureIdentity {
  sizeBytes: number;
  sha256: string;
}

/** Runs as the hashing thread's whole program (a script of its own needs no bundled file). */
// Blocking reads of 4 MiB: the thread has nothing else to do, and a read stream's 64 KiB chunks
// made hashing four times slower (0.53 s against 0.13 s for 128 MiB).
const HASHER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const hash = require('node:crypto').createHash('sha256');
let digest = null;
try {
  const fd = fs.openSync(workerData, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    let n;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(n === buf.length ? buf : buf.subarray(0, n));
    digest = hash.digest('hex');
  } finally {
    fs.closeSync(fd);
  }
} catch {}
parentPort.postMessage(digest);
`;

/** Null when the path is standard input, not a file, or cannot be read again. */
export async function captureIdentity(path: string): Promise<CaptureIdentity | null> {
  if (path === '-') return null;
  try {
    const info = await stat(path);
    if (!info.isFile()) return null;
    const sha256 = await sha256Of(path);
    return sha256 === null ? null : { sizeBytes: info.size, sha256 };
  } catch {
    return null;
  }
}

function sha256Of(path: string): Promise<string | null> {
  return new Promise((resolve) => {
    const worker = new Worker(HASHER, { eval: true, workerData: path });
    worker.once('message', (digest: string | null) => {
      resolve(digest);
      void worker.terminate();
    });
    worker.once('error', () => resolve(null));
    worker.once('exit', () => resolve(null));
  });
}
