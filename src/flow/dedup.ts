import type { PacketView } from '../decode/packet-view.js';
import { DedupStats } from './flow-stats.js';

export interface DedupOptions {
  enabled: boolean;
  /** Copies of one IP packet this close in time are the mirror's doing, not the network's. */
  windowMs: number;
}

export const DEFAULT_DEDUP_OPTIONS: DedupOptions = { enabled: true, windowMs: 1 };

/**
 * Bytes hashed per packet: IP and transport headers and the start of the payload. The transport
 * checksum covers the whole payload, so two packets that agree here and in length are copies.
 */
const HASHED_BYTES = 96;
const PRUNE_AT = 8192;

/**
 * Suppresses SPAN duplicates: the same IP packet mirrored from several switch ports arrives two
 * or more times within microseconds. Link-layer headers and VLAN tags are ignored (they differ
 * between mirrored ports). A real TCP retransmission comes after a retransmission time-out of
 * hundreds of milliseconds and usually differs in IP id or TCP timestamps, so it is kept.
 */
export class Deduplicator {
  readonly stats = new DedupStats();
  private readonly seen = new Map<number, number>();

  constructor(private readonly options: DedupOptions = DEFAULT_DEDUP_OPTIONS) {}

  /** True when the packet is a copy of one seen within the window: drop it. */
  isDuplicate(view: PacketView): boolean {
    if (!this.options.enabled) return false;
    this.stats.checked++;
    const buf = view.ipBuf;
    const start = view.ipOffset;
    const end = start + Math.min(view.ipCapturedLength, HASHED_BYTES);
    let h = 0x811c9dc5 ^ view.ipCapturedLength;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    const nowMs = view.tsSec * 1000 + view.tsNsec / 1e6;
    const previous = this.seen.get(h);
    this.seen.set(h, nowMs);
    if (previous !== undefined && nowMs - previous <= this.options.windowMs && nowMs >= previous) {
      this.stats.suppressed++;
      return true;
    }
    if (this.seen.size > PRUNE_AT) this.prune(nowMs);
    return false;
  }

  private prune(nowMs: number): void {
    for (const [h, t] of this.seen) {
      if (nowMs - t > this.options.windowMs) this.seen.delete(h);
    }
    // More distinct packets inside one window than the cap: forget them all rather than grow.
    if (this.seen.size > PRUNE_AT) this.seen.clear();
  }
}
