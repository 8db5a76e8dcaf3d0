/** What the fuzzer's main thread and its worker share. */

export type FailureKind = 'exception' | 'invariant' | 'analyzer-fault' | 'hang' | 'slow' | 'memory' | 'worker-crash';

export interface WorkerSetup {
  seed: number;
  /** First input index to run, and one past the last. */
  start: number;
  end: number;
  /** Wall-clock time (ms since the epoch) after which no new input starts. */
  deadlineMs: number;
  samplesDir: string;
  rulesDir: string;
  tmpDir: string;
  maxRssBytes: number;
  maxArrayBufferBytes: number;
  /** An input slower than this many ms per MB of capture (and than the same number of ms) is too slow. */
  slowMsPerMb: number;
  /** Int32 [current input or -1, inputs done], then Float64 start time of the current input. */
  shared: SharedArrayBuffer;
}

export const SLOT_CURRENT = 0;
export const SLOT_DONE = 1;
export const SLOT_STARTED_MS = 0;
export const SHARED_BYTES = 16;

export interface FailureMessage {
  type: 'failure';
  index: number;
  kind: FailureKind;
  message: string;
  stack?: string;
}

export interface FinishedMessage {
  type: 'finished';
  /** The next input index to run. */
  next: number;
}

export type WorkerMessage = FailureMessage | FinishedMessage;
