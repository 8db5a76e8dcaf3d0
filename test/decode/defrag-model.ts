/**
 * The defragmenter as first written, kept as the reference the table-based one must match
 * fragment for fragment: a Map keyed by strings, iterated from its oldest entry for expiry and
 * eviction, and two fresh arrays per datagram. Slow under a flood, but short enough to trust.
 */
import type { DecodeStats } from '../../src/decode/decode-stats.js';
import { DefragStats, type DefragOptions, type Ipv6Whole } from '../../src/decode/defrag.js';
import type { PacketView } from '../../src/decode/packet-view.js';

/** Largest datagram IP can carry; fragments claiming to go past it are malformed. */
const MAX_DATAGRAM = 65535;
const EMPTY = new Uint8Array(0);
/** Real datagrams need a few dozen fragments; thousands of tiny ones are an attack on our CPU. */
const MAX_FRAGMENTS_PER_DATAGRAM = 1024;

/**
 * A datagram being rebuilt: its payload bytes in place, and which of them have arrived. Work per
 * fragment is proportional to its own length, however many fragments overlap it.
 */
interface Datagram {
  firstSeen: number;
  /** Payload bytes received so far, at their offsets; grows as later offsets arrive. */
  payload: Uint8Array;
  /** 1 for each payload byte received. */
  received: Uint8Array;
  /** Payload bytes received (each counted once). */
  filled: number;
  fragments: number;
  /** Total payload length, known once the last fragment (MF=0) arrived. */
  totalLength: number;
  /** Copy of the first fragment's header (offset 0), which becomes the datagram's header. */
  header: Uint8Array | null;
}

/**
 * IPv4 and IPv6 fragment reassembly. Overlap policy: bytes that arrived first win, and any
 * later fragment that disagrees with them is counted as an overlap conflict. Datagrams that
 * never complete are dropped after the timeout or when a cap is reached, and counted.
 */
export class MapDefragmenter {
  readonly stats = new DefragStats();
  private readonly datagrams = new Map<string, Datagram>();
  private heldBytes = 0;

  constructor(
    private readonly decodeStats: DecodeStats,
    private readonly options: DefragOptions,
  ) {}

  get pending(): number {
    return this.datagrams.size;
  }

  get bytesHeld(): number {
    return this.heldBytes;
  }

  /** Returns the whole datagram (header + payload) once complete, otherwise null. */
  addIpv4(view: PacketView, id: number, proto: number, fragOffset: number, more: boolean, buf: Uint8Array, ipOff: number, hlen: number, dataOff: number, dataEnd: number): Uint8Array | null {
    const key = `4|${view.addr[0]}|${view.addr[4]}|${id}|${proto}|${vlanKey(view)}`;
    const header = fragOffset === 0 ? buf.subarray(ipOff, ipOff + hlen) : null;
    const whole = this.add(view, key, fragOffset, more, header, buf.subarray(dataOff, dataEnd), hlen, 'ipv4.frag_too_large');
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
    const a = view.addr;
    const key = `6|${a[0]}.${a[1]}.${a[2]}.${a[3]}|${a[4]}.${a[5]}.${a[6]}.${a[7]}|${id}|${vlanKey(view)}`;
    const header = fragOffset === 0 ? buf.subarray(ipOff, ipOff + unfragmentableLength) : null;
    // The IPv6 payload length excludes the fixed header; the datagram's limit is on the payload.
    const whole = this.add(view, key, fragOffset, more, header, buf.subarray(dataOff, dataEnd), 0, 'ipv6.frag_too_large');
    if (whole === null) return null;
    // The datagram starts with the first fragment's unfragmentable part, not this fragment's.
    return { buf: whole, payloadOffset: whole.length - this.lastPayloadLength };
  }

  /** Drops datagrams older than the timeout; called with packet time in replay, clock time live. */
  expire(nowSec: number): void {
    for (const [key, d] of this.datagrams) {
      if (nowSec - d.firstSeen < this.options.timeoutSec) break; // insertion order is age order
      this.drop(key, d);
      this.stats.timeouts++;
    }
  }

  /** Payload length of the datagram `add` last completed. */
  private lastPayloadLength = 0;

  /** `headerLength` counts against the 65535-byte limit (IPv4's total length includes its header). */
  private add(view: PacketView, key: string, offset: number, more: boolean, header: Uint8Array | null, data: Uint8Array, headerLength: number, tooLarge: 'ipv4.frag_too_large' | 'ipv6.frag_too_large'): Uint8Array | null {
    this.stats.fragments++;
    this.expire(view.tsSec);
    if (headerLength + offset + data.length > MAX_DATAGRAM) {
      this.stats.tooLarge++;
      this.decodeStats.countAnomaly(tooLarge);
      return null;
    }
    let d = this.datagrams.get(key);
    if (d === undefined) {
      this.makeRoom(offset + data.length);
      d = { firstSeen: view.tsSec, payload: EMPTY, received: EMPTY, filled: 0, fragments: 0, totalLength: -1, header: null };
      this.datagrams.set(key, d);
    }
    if (++d.fragments > MAX_FRAGMENTS_PER_DATAGRAM) {
      this.drop(key, d);
      this.stats.evicted++;
      return null;
    }
    if (header !== null && d.header === null) d.header = Uint8Array.from(header);
    if (!more) d.totalLength = offset + data.length;
    this.place(d, offset, data);
    if (this.heldBytes > this.options.maxBytes) this.makeRoom(0);
    if (!this.datagrams.has(key)) return null; // evicted itself
    return this.complete(key, d);
  }

  /** Copies in the bytes not received yet; bytes already there win, and disagreement is counted. */
  private place(d: Datagram, offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    if (end > d.payload.length) this.grow(d, end);
    const payload = d.payload;
    const received = d.received;
    let conflict = false;
    for (let i = offset; i < end; i++) {
      const b = data[i - offset];
      if (received[i] === 0) {
        received[i] = 1;
        payload[i] = b;
        d.filled++;
      } else if (payload[i] !== b) conflict = true;
    }
    if (conflict) {
      this.stats.overlapConflicts++;
      this.decodeStats.countAnomaly('frag.overlap_conflict');
    }
  }

  /** Extends the payload (and its map) to `length` bytes: memory follows the highest offset seen. */
  private grow(d: Datagram, length: number): void {
    const size = Math.min(MAX_DATAGRAM, length);
    const payload = new Uint8Array(size);
    const received = new Uint8Array(size);
    payload.set(d.payload);
    received.set(d.received);
    this.heldBytes += 2 * (size - d.payload.length);
    d.payload = payload;
    d.received = received;
  }

  private complete(key: string, d: Datagram): Uint8Array | null {
    if (d.totalLength < 0 || d.header === null || d.filled < d.totalLength) return null;
    // Bytes past the announced end may have arrived too; the datagram ends where MF=0 said.
    for (let i = 0; i < d.totalLength; i++) if (d.received[i] === 0) return null;
    const whole = new Uint8Array(d.header.length + d.totalLength);
    whole.set(d.header, 0);
    whole.set(d.payload.subarray(0, d.totalLength), d.header.length);
    this.lastPayloadLength = d.totalLength;
    this.drop(key, d);
    this.stats.reassembled++;
    return whole;
  }

  private makeRoom(incoming: number): void {
    for (const [key, d] of this.datagrams) {
      if (this.datagrams.size < this.options.maxDatagrams && this.heldBytes + incoming <= this.options.maxBytes) return;
      this.drop(key, d);
      this.stats.evicted++;
    }
  }

  private drop(key: string, d: Datagram): void {
    this.datagrams.delete(key);
    this.heldBytes -= 2 * d.payload.length;
  }
}

function vlanKey(view: PacketView): number {
  return view.vlanCount === 0 ? 0 : view.vlanIds[0] * 4096 + (view.vlanCount > 1 ? view.vlanIds[1] : 0);
}
