import type { CaptureError } from '../capture/errors.js';
import { openCapture } from '../capture/open-capture.js';
import { CapturedPacket } from '../capture/packet.js';
import type { Pipeline } from './pipeline.js';

export interface CaptureReport {
  name: string;
  format: string;
  compressed: boolean;
  packets: number;
  /** Bytes of (decompressed) capture read. */
  bytesRead: number;
  /** Damage that stopped the read, if any; packets before it were analysed. */
  error: CaptureError | null;
}

/** Reads one capture through the pipeline. Damage ends the read, never the run. */
export async function replayCapture(path: string, pipeline: Pipeline): Promise<CaptureReport> {
  const { source, compressed } = await openCapture(path);
  const pkt = new CapturedPacket();
  let packets = 0;
  try {
    for (;;) {
      while (source.next(pkt)) {
        packets++;
        pipeline.process(pkt);
      }
      if (!(await source.refill())) break;
    }
  } finally {
    await source.close().catch(() => undefined);
  }
  return { name: source.name, format: source.format, compressed, packets, bytesRead: source.position, error: source.error };
}
