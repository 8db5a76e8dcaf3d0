/**
 * The replay loop: captures read as one in timestamp order, every packet handed to an analysis.
 * The command line, the analysis threads and the fuzzer all replay through it.
 */
import type { PacketSource } from '../capture/capture-reader.js';
import type { CaptureError } from '../capture/errors.js';
import { MergedSource } from '../capture/merged-source.js';
import type { CapturedPacket } from '../capture/packet.js';

export interface ReplayInput {
  /** Where the capture is (analysis threads open it again by it). */
  path: string;
  /** What alerts call it: the path, or `<stdin>`. */
  name: string;
  source: PacketSource;
}

/** What was read of one capture. */
export interface InputOutcome {
  packets: number;
  /** The earliest and latest packet times read, [seconds, nanoseconds]; null when none was. */
  first: PacketTime | null;
  last: PacketTime | null;
  /** Where and why the capture was found damaged; every packet before it was analysed. */
  error: CaptureError | null;
}

export type PacketTime = [number, number];

export interface ReplayHooks {
  /** Bytes of input read so far, every PROGRESS_PACKETS packets. */
  progress?(position: number): void;
  /** After each packet: a promise to wait on before reading more (a slow output), or undefined. */
  backpressure?(): Promise<void> | undefined;
  /** Checked every PROGRESS_PACKETS packets: true stops reading there. */
  interrupted?(): boolean;
}

/** What a replay hands packets to; the packet is only valid during the call. */
export interface PacketAnalysis {
  process(pkt: CapturedPacket, captureFile: string): void;
}

export const PROGRESS_PACKETS = 1 << 16;

/** Reads the captures to their end (or damage, or interruption), then closes them. */
export async function replay(inputs: readonly ReplayInput[], analysis: PacketAnalysis, hooks: ReplayHooks = {}): Promise<InputOutcome[]> {
  const sources = inputs.map((i) => i.source);
  const names = inputs.map((i) => i.name);
  const packets = inputs.map(() => 0);
  const spans = new TimeSpans(inputs.length);
  const merged = new MergedSource(sources);
  const { progress, backpressure, interrupted } = hooks;
  let sinceCheck = 0;
  try {
    await merged.forEach((pkt, index) => {
      spans.note(index, pkt.tsSec, pkt.tsNsec, packets[index]++ === 0);
      analysis.process(pkt, names[index]);
      if (++sinceCheck >= PROGRESS_PACKETS) {
        sinceCheck = 0;
        progress?.(positionOf(sources));
        if (interrupted?.() === true) merged.stop();
      }
      // A slow output makes the reader wait rather than queue records in memory.
      return backpressure?.();
    });
  } finally {
    for (const source of sources) await source.close().catch(() => undefined);
  }
  return inputs.map((input, i) => ({
    packets: packets[i],
    first: packets[i] === 0 ? null : spans.first(i),
    last: packets[i] === 0 ? null : spans.last(i),
    error: input.source.error,
  }));
}

/**
 * Per input, the earliest and latest packet time read (a capture's records need not be in time
 * order): plain numbers, nothing made per packet.
 */
class TimeSpans {
  private readonly times: Float64Array;

  constructor(inputs: number) {
    this.times = new Float64Array(4 * inputs);
  }

  note(index: number, sec: number, nsec: number, isFirst: boolean): void {
    const t = this.times;
    const at = 4 * index;
    if (isFirst || sec < t[at] || (sec === t[at] && nsec < t[at + 1])) {
      t[at] = sec;
      t[at + 1] = nsec;
    }
    if (isFirst || sec > t[at + 2] || (sec === t[at + 2] && nsec > t[at + 3])) {
      t[at + 2] = sec;
      t[at + 3] = nsec;
    }
  }

  first(index: number): PacketTime {
    return [this.times[4 * index], this.times[4 * index + 1]];
  }

  last(index: number): PacketTime {
    return [this.times[4 * index + 2], this.times[4 * index + 3]];
  }
}

/** Bytes of input read so far, over every capture. */
export function positionOf(sources: readonly PacketSource[]): number {
  return sources.reduce((n, s) => n + s.position, 0);
}
