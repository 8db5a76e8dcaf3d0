import type { DecodeStats } from './decode-stats.js';
import type { PacketView } from './packet-view.js';

export interface DefragOptions {
  /** Seconds a datagram may wait for its missing fragments (Suricata's default is 60). */
  timeoutSec: number;
  /** Datagrams in reassembly at once; the oldest is dropped beyond it. */
  maxDatagrams: number;
  /** Fragment bytes held at once; the oldest datagrams are dropped beyond it. */
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

interface Fragment {
  offset: number;
  data: Uint8Array;
}

interface Datagram {
  firstSeen: number;
  fragments: Fragment[];
  bytes: number;
  /** Total payload length, known once the last fragment (MF=0) arrived. */
  totalLength: number;
  /** Copy of the first fragment's header (offset 0), which becomes the datagram's header. */
  header: Uint8Array | null;
}

export interface Ipv6Whole {
  buf: Uint8Array;
  payloadOffset: number;
}

/**
 * IPv4 and IPv6 fragment reassembly. Overlap policy: bytes that arrived first win, and any
 * later fragment that disagrees with them is counted as an overlap conflict. Datagrams that
 * never complete are dropped after the timeout or when a cap is reached, and counted.
 */
export class Defragmenter {
  readonly stats = new DefragStats();
  private readonly datagrams = new Map<string, Datagram>();
  private heldBytes = 0;

  constructor(
    private readonly decodeStats: DecodeStats,
    private readonly options: DefragOptions = DEFAULT_DEFRAG_OPTIONS,
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
      this.makeRoom(data.length);
      d = { firstSeen: view.tsSec, fragments: [], bytes: 0, totalLength: -1, header: null };
      this.datagrams.set(key, d);
    }
    if (d.fragments.length >= MAX_FRAGMENTS_PER_DATAGRAM) {
      this.drop(key, d);
      this.stats.evicted++;
      return null;
    }
    if (header !== null && d.header === null) d.header = Uint8Array.from(header);
    if (!more) d.totalLength = offset + data.length;
    if (this.conflicts(d, offset, data)) {
      this.stats.overlapConflicts++;
      this.decodeStats.countAnomaly('frag.overlap_conflict');
    }
    d.fragments.push({ offset, data: Uint8Array.from(data) });
    d.bytes += data.length;
    this.heldBytes += data.length;
    if (this.heldBytes > this.options.maxBytes) this.makeRoom(0);
    if (!this.datagrams.has(key)) return null; // evicted itself
    return this.complete(key, d);
  }

  private conflicts(d: Datagram, offset: number, data: Uint8Array): boolean {
    for (const f of d.fragments) {
      const from = Math.max(offset, f.offset);
      const to = Math.min(offset + data.length, f.offset + f.data.length);
      for (let i = from; i < to; i++) {
        if (data[i - offset] !== f.data[i - f.offset]) return true;
      }
    }
    return false;
  }

  private complete(key: string, d: Datagram): Uint8Array | null {
    if (d.totalLength < 0 || d.header === null || d.bytes < d.totalLength) return null;
    // Fill in arrival order skipping bytes already covered: the first arrival wins.
    const covered = new Uint8Array(d.totalLength);
    let missing = d.totalLength;
    const whole = new Uint8Array(d.header.length + d.totalLength);
    whole.set(d.header, 0);
    const base = d.header.length;
    for (const f of d.fragments) {
      const end = Math.min(f.offset + f.data.length, d.totalLength);
      for (let i = f.offset; i < end; i++) {
        if (covered[i] === 0) {
          covered[i] = 1;
          whole[base + i] = f.data[i - f.offset];
          missing--;
        }
      }
    }
    if (missing > 0) return null;
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
    this.heldBytes -= d.bytes;
  }
}

function vlanKey(view: PacketView): number {
  return view.vlanCount === 0 ? 0 : view.vlanIds[0] * 4096 + (view.vlanCount > 1 ? view.vlanIds[1] : 0);
}
