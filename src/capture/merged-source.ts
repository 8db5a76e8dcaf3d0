import type { PacketSource } from './capture-reader.js';
import { CapturedPacket } from './packet.js';

/**
 * Reads several captures as one, in timestamp order, so that a conversation split across files
 * stays one flow. Each source keeps its own head packet; the earliest goes out first (ties go to
 * the source named first). A damaged source ends where the damage is; the others go on.
 */
export class MergedSource {
  private readonly heads: CapturedPacket[];
  private readonly ready: boolean[];
  private readonly live: boolean[];
  private stopped = false;

  constructor(readonly sources: readonly PacketSource[]) {
    this.heads = sources.map(() => new CapturedPacket());
    this.ready = sources.map(() => false);
    this.live = sources.map(() => true);
  }

  /** Ends forEach after the packet being handled. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Calls `handle` for every packet of every source in timestamp order, with the index of the
   * source it came from. The packet is only valid during the call. A handler that must wait (a
   * consumer applying back-pressure) returns a promise, and reading resumes when it settles.
   */
  async forEach(handle: (pkt: CapturedPacket, sourceIndex: number) => void | Promise<void>): Promise<void> {
    if (this.sources.length === 1) return this.forEachOfOne(handle);
    for (let i = 0; i < this.sources.length; i++) await this.fill(i);
    while (!this.stopped) {
      let best = -1;
      for (let i = 0; i < this.sources.length; i++) {
        if (!this.ready[i]) continue;
        if (best < 0 || earlier(this.heads[i], this.heads[best])) best = i;
      }
      if (best < 0) return;
      const wait = handle(this.heads[best], best);
      if (wait !== undefined) await wait;
      this.ready[best] = false;
      // Fast path: the next packet of the same source is usually already buffered.
      if (this.sources[best].next(this.heads[best])) this.ready[best] = true;
      else await this.fill(best);
    }
  }

  /** One capture, the usual case: nothing to merge, so the loop is as tight as the reader's. */
  private async forEachOfOne(handle: (pkt: CapturedPacket, sourceIndex: number) => void | Promise<void>): Promise<void> {
    const source = this.sources[0];
    const pkt = this.heads[0];
    do {
      while (source.next(pkt)) {
        const wait = handle(pkt, 0);
        if (wait !== undefined) await wait;
        if (this.stopped) return;
      }
    } while (await source.refill());
  }

  private async fill(i: number): Promise<void> {
    const source = this.sources[i];
    while (this.live[i]) {
      if (source.next(this.heads[i])) {
        this.ready[i] = true;
        return;
      }
      if (!(await source.refill())) this.live[i] = false;
    }
  }
}

function earlier(a: CapturedPacket, b: CapturedPacket): boolean {
  return a.tsSec < b.tsSec || (a.tsSec === b.tsSec && a.tsNsec < b.tsNsec);
}
