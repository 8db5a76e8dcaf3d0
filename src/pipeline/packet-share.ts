import type { CapturedPacket } from '../capture/packet.js';
import { outerPairHashOf, shardOf } from '../decode/outer-pair.js';
import type { Detector } from './detector.js';
import type { PacketAnalysis } from './replay.js';

/**
 * One analysis thread's share of a sharded replay: the packets whose outer address pair hashes to
 * it go to its detector; the others only tell the time, so that flows here time out as they
 * would on one thread.
 */
export class PacketShare implements PacketAnalysis {
  private clockSec = -1;

  constructor(
    private readonly detector: Detector,
    private readonly index: number,
    private readonly count: number,
  ) {}

  process(pkt: CapturedPacket, captureFile: string): void {
    if (shardOf(outerPairHashOf(pkt), this.count) === this.index) {
      this.detector.process(pkt, captureFile);
    } else if (pkt.tsSec !== this.clockSec) {
      this.clockSec = pkt.tsSec;
      this.detector.advanceClock(pkt.tsSec);
    }
  }
}
