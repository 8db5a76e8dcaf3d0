import type { DecodeStats } from './decode-stats.js';
import { EMPTY_BUFFER, type FragmentBuffer, FragmentBufferPool } from './defrag-buffers.js';
import type { PacketView } from './packet-view.js';

export interface DefragOptions {
  /** Seconds a datagram may wait for its missing fragments (Suricata's default is 60). */
  timeoutSec: number;
  /** Datagrams in reassembly at once; the oldest is dropped beyond it. */
  maxDatagrams: number;
  /**
   * Memory held for datagrams in reassembly: each holds its payload up to the highest offset seen
   * and a map of the bytes received (two bytes per payload byte). The oldest go beyond it.
   */
  maxBytes: number;
}

export const DEFAULT_DEFRAG_OPTIONS: DefragOptions = {
  timeoutSec: 60,
  maxDatagrams: 4096,
  maxBytes: 16 * 1024 * 1024,
};

/** Largest datagram IP can carry; fragments claiming to go past it are malformed. */
const MAX_DATAGRAM = 65535;
/** Real datagrams need a few dozen fragments; thousands of tiny ones are an attack on our CPU. */
const MAX_FRAGMENTS_PER_DATAGRAM = 1024;
/** Hash buckets beyond this would cost more memory than the chains they shorten. */
const MAX_BUCKETS = 1 << 20;
/** Trackers are made this many at a time, up to the datagram cap. */
const FIRST_TRACKERS = 256;
/** Fragments shorter than this are copied byte by byte rather than through a subarray. */
const SHORT_COPY = 64;
const NONE = -1;

/**
 * Tracker t's key is keys[t * KEY_STRIDE ...]: the addresses as PacketView holds them (IPv4 in
 * words 0 and 4, the others zero), the id, the IP version with (for IPv4) the protocol, the VLAN
 * ids, then the key's hash.
 */
const KEY_WORDS = 11;
const K_ID = 8;
const K_PROTO = 9;
const K_VLAN = 10;
const K_HASH = 11;
const KEY_STRIDE = 12;

/** Tracker t's state is meta[t * META_STRIDE + field]. */
const META_STRIDE = 16;
/** Next in the hash bucket's chain, or in the free list. */
const BUCKET_NEXT = 0;
const BUCKET_PREV = 1;
/** Age list: insertion order, which is the order of first sight. */
const OLDER = 2;
const NEWER = 3;
/** Payload length held: the highest offset seen. What counts against the byte cap (twice). */
const LENGTH = 4;
/** Payload bytes received (each counted once). */
const FILLED = 5;
const FRAGMENTS = 6;
/** Total payload length, known once the last fragment (MF=0) arrived; -1 before. */
const TOTAL = 7;
/** Length of the first fragment's header (offset 0), which becomes the datagram's header; -1 before. */
const HEADER_LENGTH = 8;
/** 1 while the tracker holds a datagram. */
const LIVE = 9;

/** First-fragment headers up to this size are kept in the table (any IPv4 header fits). */
const HEADER_STRIDE = 64;

export class DefragStats {
  fragments = 0;
  reassembled = 0;
  /** Datagrams dropped incomplete: timed out, evicted by a cap, or malformed. */
  timeouts = 0;
  evicted = 0;
  /** Overlapping fragments whose bytes disagree (an evasion technique); first data wins. */
  overlapConflicts = 0;
  tooLarge = 0;
}

export interface Ipv6Whole {
  buf: Uint8Array;
  payloadOffset: number;
}

/**
 * IPv4 and IPv6 fragment reassembly in a fixed-size table. Overlap policy: bytes that arrived
 * first win, and any later fragment that disagrees with them is counted as an overlap conflict.
 * Datagrams that never complete are dropped after the timeout or when a cap is reached, oldest
 * first, and counted.
 *
 * Nothing is allocated per fragment. A datagram's tracker is a row of typed arrays, found through
 * a hash of its key (seeded per table, so senders cannot aim at one bucket), and linked into its
 * bucket's chain and into a list by age, so expiry and eviction look at the oldest only. Trackers
 * are made up to the datagram cap and reused; payload buffers come from a pool. Work per fragment
 * is proportional to its own length, however many fragments overlap it.
 */
export class Defragmenter {
  readonly stats = new DefragStats();
  private readonly buckets: Int32Array;
  private readonly mask: number;
  private readonly seed = (Math.random() * 0x100000000) >>> 0;
  /** The key of the fragment being added, in the layout of a `keys` row. */
  private readonly probe = new Uint32Array(KEY_WORDS);
  private readonly pool: FragmentBufferPool;
  private readonly maxTrackers: number;
  private capacity = 0;
  private keys = new Uint32Array(0);
  private meta = new Int32Array(0);
  private firstSeen = new Float64Array(0);
  private headers = new Uint8Array(0);
  /** Headers longer than HEADER_STRIDE (IPv6 with long extension headers), by tracker. */
  private longHeaders: (Uint8Array | null)[] = [];
  private buffers: FragmentBuffer[] = [];
  private oldest = NONE;
  private newest = NONE;
  private free = NONE;
  private made = 0;
  private count = 0;
  private heldBytes = 0;
  /** Payload length of the datagram `add` last completed. */
  private lastPayloadLength = 0;

  /** `buckets` (a power of two) defaults to the datagram cap's; one bucket puts every datagram in one chain. */
  constructor(
    private readonly decodeStats: DecodeStats,
    private readonly options: DefragOptions = DEFAULT_DEFRAG_OPTIONS,
    buckets = Math.min(MAX_BUCKETS, 2 ** Math.ceil(Math.log2(Math.max(1, options.maxDatagrams)))),
  ) {
    this.buckets = new Int32Array(buckets).fill(NONE);
    this.mask = buckets - 1;
    // A new datagram makes room first, so there is always one tracker even with a cap below one.
    this.maxTrackers = Math.max(1, options.maxDatagrams);
    // Idle buffers kept for reuse: no more than the datagrams in reassembly may hold.
    this.pool = new FragmentBufferPool(options.maxBytes);
  }

  get pending(): number {
    return this.count;
  }

  get bytesHeld(): number {
    return this.heldBytes;
  }

  /** Trackers made so far: never more than the datagram cap, however many datagrams came. */
  get trackers(): number {
    return this.made;
  }

  /** Bytes of payload buffers made so far; stops growing once the pool holds what the traffic needs. */
  get bufferBytesMade(): number {
    return this.pool.allocatedBytes;
  }

  /** Bytes of payload buffers in use or kept idle for reuse. */
  get bufferBytesKept(): number {
    return this.pool.keptBytes;
  }

  /** Returns the whole datagram (header + payload) once complete, otherwise null. */
  addIpv4(view: PacketView, id: number, proto: number, fragOffset: number, more: boolean, buf: Uint8Array, ipOff: number, hlen: number, dataOff: number, dataEnd: number): Uint8Array | null {
    const k = this.probe;
    const a = view.addr;
    k[0] = a[0];
    k[1] = 0;
    k[2] = 0;
    k[3] = 0;
    k[4] = a[4];
    k[5] = 0;
    k[6] = 0;
    k[7] = 0;
    k[K_ID] = id;
    k[K_PROTO] = 0x400 | proto;
    k[K_VLAN] = vlanKey(view);
    const whole = this.add(view, fragOffset, more, buf, ipOff, hlen, dataOff, dataEnd, hlen, 'ipv4.frag_too_large');
    if (whole === null) return null;
    // Rewrite the length and fragment fields so the datagram reads as one unfragmented packet.
    const total = whole.length;
    whole[2] = total >> 8;
    whole[3] = total & 0xff;
    whole[6] = 0;
    whole[7] = 0;
    return whole;
  }

  addIpv6(view: PacketView, id: number, fragOffset: number, more: boolean, buf: Uint8Array, ipOff: number, unfragmentableLength: number, dataOff: number, dataEnd: number): Ipv6Whole | null {
    const k = this.probe;
    k.set(view.addr);
    k[K_ID] = id;
    k[K_PROTO] = 0x600;
    k[K_VLAN] = vlanKey(view);
    // The IPv6 payload length excludes the fixed header; the datagram's limit is on the payload.
    const whole = this.add(view, fragOffset, more, buf, ipOff, unfragmentableLength, dataOff, dataEnd, 0, 'ipv6.frag_too_large');
    if (whole === null) return null;
    // The datagram starts with the first fragment's unfragmentable part, not this fragment's.
    return { buf: whole, payloadOffset: whole.length - this.lastPayloadLength };
  }

  /** Drops datagrams older than the timeout; called with packet time in replay, clock time live. */
  expire(nowSec: number): void {
    const timeout = this.options.timeoutSec;
    while (this.oldest !== NONE && !(nowSec - this.firstSeen[this.oldest] < timeout)) {
      this.drop(this.oldest);
      this.stats.timeouts++;
    }
  }

  /**
   * Adds the fragment whose key is in `probe`: payload [dataOff, dataEnd) of `buf`, and the header
   * [headerOff, headerOff + headerLen) when it is the first. `limitHeader` counts against the
   * 65535-byte limit (IPv4's total length includes its header).
   */
  private add(view: PacketView, offset: number, more: boolean, buf: Uint8Array, headerOff: number, headerLen: number, dataOff: number, dataEnd: number, limitHeader: number, tooLarge: 'ipv4.frag_too_large' | 'ipv6.frag_too_large'): Uint8Array | null {
    this.stats.fragments++;
    this.expire(view.tsSec);
    const dataLength = dataEnd - dataOff;
    if (limitHeader + offset + dataLength > MAX_DATAGRAM) {
      this.stats.tooLarge++;
      this.decodeStats.countAnomaly(tooLarge);
      return null;
    }
    const hash = this.hashProbe();
    let t = this.find(hash);
    if (t === NONE) {
      this.makeRoom(offset + dataLength);
      t = this.insert(hash, view.tsSec);
    }
    const m = this.meta;
    const row = t * META_STRIDE;
    if (++m[row + FRAGMENTS] > MAX_FRAGMENTS_PER_DATAGRAM) {
      this.drop(t);
      this.stats.evicted++;
      return null;
    }
    if (offset === 0 && m[row + HEADER_LENGTH] < 0) this.keepHeader(t, buf, headerOff, headerLen);
    if (!more) m[row + TOTAL] = offset + dataLength;
    this.place(t, offset, buf, dataOff, dataEnd);
    if (this.heldBytes > this.options.maxBytes) this.makeRoom(0);
    if (m[row + LIVE] === 0) return null; // evicted itself
    return this.complete(t);
  }

  private hashProbe(): number {
    const k = this.probe;
    let h = this.seed;
    for (let i = 0; i < KEY_WORDS; i++) {
      // One MurmurHash3 round per word, then its finalizer.
      let w = Math.imul(k[i], 0xcc9e2d51);
      w = Math.imul((w << 15) | (w >>> 17), 0x1b873593);
      h ^= w;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  /** The tracker holding the key in `probe`, or NONE. */
  private find(hash: number): number {
    const k = this.probe;
    const keys = this.keys;
    for (let t = this.buckets[hash & this.mask]; t !== NONE; t = this.meta[t * META_STRIDE + BUCKET_NEXT]) {
      const at = t * KEY_STRIDE;
      if (keys[at + K_HASH] !== hash) continue;
      let i = 0;
      while (i < KEY_WORDS && keys[at + i] === k[i]) i++;
      if (i === KEY_WORDS) return t;
    }
    return NONE;
  }

  /** A tracker for the key in `probe`, newest in age order; there is room for it (makeRoom). */
  private insert(hash: number, nowSec: number): number {
    if (this.free === NONE) this.makeTrackers();
    const t = this.free;
    const m = this.meta;
    const row = t * META_STRIDE;
    this.free = m[row + BUCKET_NEXT];
    const at = t * KEY_STRIDE;
    this.keys.set(this.probe, at);
    this.keys[at + K_HASH] = hash;
    this.firstSeen[t] = nowSec;
    m[row + LENGTH] = 0;
    m[row + FILLED] = 0;
    m[row + FRAGMENTS] = 0;
    m[row + TOTAL] = -1;
    m[row + HEADER_LENGTH] = -1;
    m[row + LIVE] = 1;
    const b = hash & this.mask;
    const head = this.buckets[b];
    m[row + BUCKET_PREV] = NONE;
    m[row + BUCKET_NEXT] = head;
    if (head !== NONE) m[head * META_STRIDE + BUCKET_PREV] = t;
    this.buckets[b] = t;
    m[row + NEWER] = NONE;
    m[row + OLDER] = this.newest;
    if (this.newest !== NONE) m[this.newest * META_STRIDE + NEWER] = t;
    else this.oldest = t;
    this.newest = t;
    this.count++;
    return t;
  }

  /** Doubles the trackers (up to the cap) and puts the new ones on the free list. */
  private makeTrackers(): void {
    const from = this.capacity;
    const to = Math.min(this.maxTrackers, Math.max(FIRST_TRACKERS, 2 * from));
    this.keys = grown(this.keys, new Uint32Array(to * KEY_STRIDE));
    this.meta = grown(this.meta, new Int32Array(to * META_STRIDE));
    this.firstSeen = grown(this.firstSeen, new Float64Array(to));
    this.headers = grown(this.headers, new Uint8Array(to * HEADER_STRIDE));
    for (let t = to - 1; t >= from; t--) {
      this.longHeaders.push(null);
      this.buffers.push(EMPTY_BUFFER);
      this.meta[t * META_STRIDE + BUCKET_NEXT] = this.free;
      this.free = t;
    }
    this.capacity = to;
    this.made = to;
  }

  /** Copies the first fragment's header: the table has room for most, longer ones get their own array. */
  private keepHeader(t: number, buf: Uint8Array, from: number, length: number): void {
    let to = this.headers;
    let at = t * HEADER_STRIDE;
    if (length > HEADER_STRIDE) {
      to = this.longHeaders[t] = new Uint8Array(length);
      at = 0;
    }
    // Byte by byte: a subarray of a Node Buffer costs more than copying a header.
    for (let i = 0; i < length; i++) to[at + i] = buf[from + i];
    this.meta[t * META_STRIDE + HEADER_LENGTH] = length;
  }

  /** Copies in the bytes not received yet; bytes already there win, and disagreement is counted. */
  private place(t: number, offset: number, buf: Uint8Array, dataOff: number, dataEnd: number): void {
    const m = this.meta;
    const row = t * META_STRIDE;
    const end = offset + dataEnd - dataOff;
    // Nothing past the highest offset seen has arrived: only the bytes before it need a check.
    const seen = m[row + LENGTH];
    if (end > seen) this.grow(t, end);
    const { payload, received } = this.buffers[t];
    const checkedEnd = Math.min(end, seen);
    let filled = m[row + FILLED];
    let conflict = false;
    for (let i = offset; i < checkedEnd; i++) {
      const b = buf[dataOff + i - offset];
      if (received[i] === 0) {
        received[i] = 1;
        payload[i] = b;
        filled++;
      } else if (payload[i] !== b) conflict = true;
    }
    const fresh = Math.max(offset, seen);
    if (fresh < end) {
      const from = dataOff + fresh - offset;
      if (end - fresh < SHORT_COPY) {
        for (let i = fresh; i < end; i++) {
          payload[i] = buf[from + i - fresh];
          received[i] = 1;
        }
      } else {
        payload.set(buf.subarray(from, dataEnd), fresh);
        received.fill(1, fresh, end);
      }
      filled += end - fresh;
    }
    m[row + FILLED] = filled;
    if (conflict) {
      this.stats.overlapConflicts++;
      this.decodeStats.countAnomaly('frag.overlap_conflict');
    }
  }

  /** Extends the payload (and its map) to `length` bytes: memory follows the highest offset seen. */
  private grow(t: number, length: number): void {
    const old = this.buffers[t];
    const row = t * META_STRIDE;
    if (length > old.capacity) {
      const moved = this.pool.acquire(length);
      if (old.capacity > 0) {
        moved.payload.set(old.payload);
        moved.received.set(old.received);
        this.pool.release(old, this.meta[row + LENGTH]);
      }
      this.buffers[t] = moved;
    }
    this.heldBytes += 2 * (length - this.meta[row + LENGTH]);
    this.meta[row + LENGTH] = length;
  }

  private complete(t: number): Uint8Array | null {
    const m = this.meta;
    const row = t * META_STRIDE;
    const total = m[row + TOTAL];
    const hlen = m[row + HEADER_LENGTH];
    if (total < 0 || hlen < 0 || m[row + FILLED] < total) return null;
    const { payload, received } = this.buffers[t];
    // Bytes past the announced end may have arrived too; the datagram ends where MF=0 said.
    if (m[row + LENGTH] > total) {
      const hole = received.indexOf(0);
      if (hole !== NONE && hole < total) return null;
    }
    const whole = new Uint8Array(hlen + total);
    const long = this.longHeaders[t];
    if (long !== null) whole.set(long, 0);
    else whole.set(this.headers.subarray(t * HEADER_STRIDE, t * HEADER_STRIDE + hlen), 0);
    whole.set(total === payload.length ? payload : payload.subarray(0, total), hlen);
    this.lastPayloadLength = total;
    this.drop(t);
    this.stats.reassembled++;
    return whole;
  }

  /** Drops the oldest datagrams until a new one (of `incoming` bytes) fits under both caps. */
  private makeRoom(incoming: number): void {
    const { maxDatagrams, maxBytes } = this.options;
    while (this.oldest !== NONE && (this.count >= maxDatagrams || this.heldBytes + incoming > maxBytes)) {
      this.drop(this.oldest);
      this.stats.evicted++;
    }
  }

  /** Unlinks the datagram from its bucket and the age list, and takes back its buffer and tracker. */
  private drop(t: number): void {
    const m = this.meta;
    const row = t * META_STRIDE;
    const next = m[row + BUCKET_NEXT];
    const prev = m[row + BUCKET_PREV];
    if (prev !== NONE) m[prev * META_STRIDE + BUCKET_NEXT] = next;
    else this.buckets[this.keys[t * KEY_STRIDE + K_HASH] & this.mask] = next;
    if (next !== NONE) m[next * META_STRIDE + BUCKET_PREV] = prev;
    const older = m[row + OLDER];
    const newer = m[row + NEWER];
    if (older !== NONE) m[older * META_STRIDE + NEWER] = newer;
    else this.oldest = newer;
    if (newer !== NONE) m[newer * META_STRIDE + OLDER] = older;
    else this.newest = older;
    const length = m[row + LENGTH];
    this.pool.release(this.buffers[t], length);
    this.buffers[t] = EMPTY_BUFFER;
    this.longHeaders[t] = null;
    this.heldBytes -= 2 * length;
    this.count--;
    m[row + LIVE] = 0;
    m[row + BUCKET_NEXT] = this.free;
    this.free = t;
  }
}

/** `to` with `from` copied into its start. */
function grown<T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}

function vlanKey(view: PacketView): number {
  return view.vlanCount === 0 ? 0 : view.vlanIds[0] * 4096 + (view.vlanCount > 1 ? view.vlanIds[1] : 0);
}
