import { IPPROTO_TCP, type PacketView } from '../decode/packet-view.js';
import { DedupStats } from './flow-stats.js';

export interface DedupOptions {
  enabled: boolean;
  /** Copies of one IP packet this close in time are the mirror's doing, not the network's. */
  windowMs: number;
}

export const DEFAULT_DEDUP_OPTIONS: DedupOptions = { enabled: true, windowMs: 1 };

/**
 * Bytes hashed per packet other than TCP: IP and transport headers and the start of the payload
 * (an IPv4 UDP checksum may be absent). Two such packets that agree on these bytes and in length
 * are copies. A TCP packet is known by its decoded header fields instead (see tcpHash).
 */
const HASHED_BYTES = 64;
/**
 * Slots in the table of recent packets: a 1 ms window at a million packets a second holds a
 * thousand. Small enough to stay in the CPU cache, which matters more here than the hashing.
 */
const SLOTS = 1 << 12;

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
    const length = view.ipCapturedLength;
    let h = view.ipProto === IPPROTO_TCP ? tcpHash(view, length) : bytesHash(view, length);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
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

/**
 * A TCP packet's identity: addresses, ports, sequence and acknowledgement numbers, flags, window,
 * TTL, the IPv4 TOS and id or the IPv6 traffic class and flow label, the TCP options and the
 * checksum, which covers the payload. Mirror copies agree on all of them; segments that differ in
 * any byte almost never do. The options are hashed as they are because a capture taken on the
 * sending host often holds no real checksum (offloaded to the card): duplicate ACKs then differ
 * only in their SACK blocks or timestamps. Reading decoded fields spares hashing the fixed
 * header bytes one by one, on most of the packets there are.
 */
function tcpHash(view: PacketView, length: number): number {
  const a = view.addr;
  const buf = view.ipBuf;
  const ip = view.ipOffset;
  let h = mix(0x811c9dc5 ^ length, a[0]);
  h = mix(h, a[4]);
  if (view.ipVersion === 6) {
    for (let i = 1; i < 4; i++) h = mix(mix(h, a[i]), a[i + 4]);
  }
  h = mix(h, (view.srcPort << 16) | view.dstPort);
  h = mix(h, view.tcpSeq);
  h = mix(h, view.tcpAck);
  h = mix(h, (view.ttl << 24) | (view.tcpFlags << 16) | view.tcpWindow);
  // IPv4: TOS and id. IPv6: traffic class and flow label (the first word without the version).
  h = view.ipVersion === 4 ? mix(h, (buf[ip + 1] << 16) | (buf[ip + 4] << 8) | buf[ip + 5]) : mix(h, ((buf[ip] & 0x0f) << 24) | (buf[ip + 1] << 16) | (buf[ip + 2] << 8) | buf[ip + 3]);
  const tcp = view.transportOffset;
  h = mix(h, (buf[tcp + 16] << 8) | buf[tcp + 17]);
  // Options fill whole words up to the payload.
  for (let o = tcp + 20; o + 4 <= view.payloadOffset; o += 4) h = mix(h, buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16) | (buf[o + 3] << 24));
  return h;
}

/** MurmurHash3 over the packet's first bytes, four at a time, the last few one at a time. */
function bytesHash(view: PacketView, length: number): number {
  const buf = view.ipBuf;
  const start = view.ipOffset;
  const end = Math.min(start + length, start + HASHED_BYTES);
  let h = 0x811c9dc5 ^ length;
  let i = start;
  for (; i + 4 <= end; i += 4) h = mix(h, buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
  for (; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h;
}

/** One MurmurHash3 round: mixes a 32-bit word into the hash. */
function mix(h: number, word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h ^= k;
  return (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
}
