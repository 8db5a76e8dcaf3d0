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
/** Slots in the table of recent packets: far more than one window holds at line rate. */
const SLOTS = 1 << 16;

/**
 * Suppresses SPAN duplicates: the same IP packet mirrored from several switch ports arrives two
 * or more times within microseconds. Link-layer headers and VLAN tags are ignored (they differ
 * between mirrored ports). A real TCP retransmission comes after a retransmission time-out of
 * hundreds of milliseconds and usually differs in IP id or TCP timestamps, so it is kept.
 *
 * Recent packets live in a fixed table indexed by their hash: no allocation, no pruning. Two
 * different packets sharing a slot only overwrite each other (a copy may then go unnoticed);
 * a packet is only ever called a copy when its full 32-bit hash and length match.
 */
export class Deduplicator {
  readonly stats = new DedupStats();
  private readonly hashes = new Int32Array(SLOTS);
  private readonly lengths = new Int32Array(SLOTS);
  private readonly times = new Float64Array(SLOTS).fill(-Infinity);

  constructor(private readonly options: DedupOptions = DEFAULT_DEDUP_OPTIONS) {}

  /** True when the packet is a copy of one seen within the window: drop it. */
  isDuplicate(view: PacketView): boolean {
    if (!this.options.enabled) return false;
    this.stats.checked++;
    const buf = view.ipBuf;
    const start = view.ipOffset;
    const length = view.ipCapturedLength;
    const end = start + Math.min(length, HASHED_BYTES);
    let h = 0x811c9dc5 ^ length;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    const slot = (h ^ (h >>> 16)) & (SLOTS - 1);
    const nowMs = view.tsSec * 1000 + view.tsNsec / 1e6;
    const previous = this.times[slot];
    const copy = this.hashes[slot] === h && this.lengths[slot] === length && nowMs >= previous && nowMs - previous <= this.options.windowMs;
    this.hashes[slot] = h;
    this.lengths[slot] = length;
    this.times[slot] = nowMs;
    if (copy) this.stats.suppressed++;
    return copy;
  }
}
