import type { ReassemblyStats } from './flow-stats.js';

/** Receives one direction's bytes in sequence order. */
export interface StreamSink {
  data(bytes: Uint8Array): void;
  gap(length: number): void;
}

export interface ReassemblyOptions {
  /** Bytes per direction handed to consumers; beyond it the direction is no longer inspected. */
  depth: number;
  /** Out-of-order bytes one direction may hold. */
  maxBufferedPerStream: number;
  /** Out-of-order segments one direction may hold. */
  maxSegmentsPerStream: number;
  /** Out-of-order bytes all streams together may hold. */
  memcap: number;
  /** A segment further ahead than this is a sequence jump, not a hole to wait for. */
  maxAhead: number;
  /** After this many jumps in a row, the stream resynchronises on the new sequence numbers. */
  jumpsBeforeResync: number;
}

export const DEFAULT_REASSEMBLY_OPTIONS: ReassemblyOptions = {
  depth: 1024 * 1024,
  maxBufferedPerStream: 1024 * 1024,
  maxSegmentsPerStream: 4096,
  memcap: 64 * 1024 * 1024,
  maxAhead: 16 * 1024 * 1024,
  jumpsBeforeResync: 8,
};

/** A buffered out-of-order segment, linked in sequence order. */
interface Segment {
  seq: number;
  data: Uint8Array;
  /** Bytes after `data` that were on the wire but cut by the snap length. */
  cut: number;
  prev: Segment | null;
  next: Segment | null;
}

/**
 * Bytes of each stream's most recently delivered data kept to compare retransmissions with: a
 * retransmission that disagrees with what was already handed on is counted (Suricata's
 * tcp.overlap_diff_data), as when a segment the receiver never took (a TTL too small to reach
 * it) came first. The last bytes are what a retransmission of the last segments overlaps.
 */
const RECENT_BYTES = 256;

/** Signed distance a - b in 32-bit sequence space (handles wrap-around). */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * Reassembles one direction of a TCP connection.
 *
 * Policy: the first bytes to arrive for a sequence range win. Retransmissions are dropped,
 * overlapping segments are trimmed to their new bytes, and overlaps whose bytes disagree with
 * the buffered ones are counted as conflicts. A hole is declared a gap, and the stream moves
 * past it, when the peer acknowledges data beyond it, when the buffers fill up, or at the end
 * of the flow: a lost packet never stalls the stream.
 */
export class TcpStream {
  private started = false;
  /** Next sequence number to deliver. */
  private nextSeq = 0;
  /**
   * Out-of-order segments, sorted by seq, never overlapping one another: a list, so that an
   * insert or a delivery from the front moves nothing (a late segment lands near the tail,
   * where the search starts).
   */
  private first: Segment | null = null;
  private last: Segment | null = null;
  private count = 0;
  private buffered = 0;
  /** Highest ack the peer sent for this direction's data. */
  private peerAck = 0;
  private peerAckSeen = false;
  private jumps = 0;
  private finSeq = -1;
  /**
   * The last bytes delivered, ending at nextSeq: RECENT_BYTES (made on the first delivery), the
   * newest last, `recentLength` of them valid (a gap empties it). Kept in order rather than as a
   * ring so that a delivery copies once and makes no view of a view.
   */
  private recent: Uint8Array | null = null;
  private recentLength = 0;
  /** Bytes handed on so far. */
  delivered = 0;
  /** True once the consumer said enough or the depth was reached: bytes are only counted. */
  stopped = false;

  constructor(
    private readonly sink: StreamSink,
    private readonly stats: ReassemblyStats,
    private readonly options: ReassemblyOptions,
  ) {}

  /** Starts the stream at a SYN (data begins at seq + 1). */
  syn(seq: number): void {
    if (this.started) return;
    this.started = true;
    this.nextSeq = (seq + 1) >>> 0;
  }

  fin(seq: number): void {
    this.finSeq = seq >>> 0;
  }

  /** Stops inspection: nothing more is buffered, copied or delivered. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.releaseBuffers();
  }

  /**
   * A segment: `captured` bytes of payload starting at `seq`, of `wireLength` bytes on the wire
   * (more than captured.length when the snap length cut the packet).
   */
  segment(seq: number, captured: Uint8Array, wireLength: number): void {
    if (wireLength === 0) return;
    if (!this.started) {
      this.started = true; // mid-stream pickup: the first bytes seen are the stream's start
      this.nextSeq = seq >>> 0;
    }
    if (this.stopped) {
      this.advanceStopped(seq, wireLength);
      return;
    }
    const rel = seqDiff(seq, this.nextSeq);
    // Checked first: a jump of more than half the sequence space reads as a negative distance.
    if (rel > this.options.maxAhead || rel < -this.options.maxAhead) {
      this.sequenceJump(seq, captured, wireLength);
      return;
    }
    if (rel + wireLength <= 0) {
      this.stats.retransmissions++;
      this.compareWithDelivered(rel, captured);
      return;
    }
    this.jumps = 0;
    if (rel <= 0) {
      // In order, possibly with a retransmitted front: only the new bytes go on.
      if (rel < 0) {
        this.stats.overlaps++;
        this.compareWithDelivered(rel, captured);
      }
      this.deliverAt(-rel, captured, wireLength);
      this.drain();
    } else {
      this.stats.outOfOrder++;
      this.buffer(seq, captured, wireLength);
      this.skipAcknowledgedHoles();
    }
  }

  /** The peer acknowledged up to `ack`: data before it was sent, so a hole before it is lost. */
  ack(ack: number): void {
    if (!this.peerAckSeen || seqDiff(ack, this.peerAck) > 0) {
      this.peerAck = ack >>> 0;
      this.peerAckSeen = true;
    }
    this.skipAcknowledgedHoles();
  }

  /** Holes the peer has acknowledged past were lost by the capture: move over them. */
  private skipAcknowledgedHoles(): void {
    if (!this.peerAckSeen) return;
    while (!this.stopped && this.first !== null && seqDiff(this.peerAck, this.first.seq) >= 0) {
      this.skipTo(this.first.seq);
      this.drain();
    }
  }

  /** The flow is over: hand on what is buffered, with gaps for what never came. */
  flush(): void {
    if (this.stopped) return;
    while (this.first !== null) {
      this.skipTo(this.first.seq);
      this.drain();
    }
    // Data the peer acknowledged but the capture never saw.
    if (this.peerAckSeen && this.started) {
      let end = this.peerAck;
      if (this.finSeq >= 0 && seqDiff(end, this.finSeq) > 0) end = this.finSeq;
      const missing = seqDiff(end, this.nextSeq);
      if (missing > 0 && missing <= this.options.maxAhead) this.skipTo(end);
    }
  }

  private deliverAt(skip: number, captured: Uint8Array, wireLength: number): void {
    const newWire = wireLength - skip;
    if (skip < captured.length) this.emit(skip === 0 ? captured : captured.subarray(skip));
    // Bytes on the wire that the snap length kept from us.
    const cut = newWire - Math.max(0, captured.length - skip);
    if (cut > 0) this.emitGap(cut);
    this.nextSeq = (this.nextSeq + newWire) >>> 0;
  }

  private drain(): void {
    while (this.first !== null && !this.stopped) {
      const first = this.first;
      const rel = seqDiff(first.seq, this.nextSeq);
      if (rel > 0) return;
      this.unlink(first);
      this.release(first.data.length);
      const wire = first.data.length + first.cut;
      if (rel + wire > 0) this.deliverAt(-rel, first.data, wire);
    }
  }

  private buffer(seq: number, captured: Uint8Array, wireLength: number): void {
    if (this.overCap(captured.length)) {
      this.stats.segmentsDroppedMemcap++;
      // Make room by giving up on holes: buffered data goes on after gaps.
      while (this.overCap(captured.length)) {
        if (this.first === null) return; // the other streams hold the memory: drop it
        this.skipTo(this.first.seq);
        this.drain();
        if (this.stopped) return;
        if (seqDiff(seq, this.nextSeq) <= 0) {
          this.segment(seq, captured, wireLength); // now in order: delivered, never buffered
          return;
        }
      }
    }
    this.insert(seq, captured, wireLength - captured.length);
  }

  private overCap(incoming: number): boolean {
    const o = this.options;
    return this.count >= o.maxSegmentsPerStream || this.buffered + incoming > o.maxBufferedPerStream || this.stats.bufferedBytes + incoming > o.memcap;
  }

  /** Inserts the parts of [seq, seq+data) that no buffered segment covers yet (first wins). */
  private insert(seq: number, data: Uint8Array, cut: number): void {
    let start = 0; // offset in data of the first byte not yet placed
    // The last segment that starts before `seq`, searched from the tail.
    let prev = this.last;
    while (prev !== null && seqDiff(prev.seq, seq) >= 0) prev = prev.prev;
    // It may cover our front.
    if (prev !== null) {
      const prevEnd = seqDiff(prev.seq, seq) + prev.data.length;
      if (prevEnd > 0) {
        this.stats.overlaps++;
        this.checkConflict(prev, seq, data, 0, Math.min(prevEnd, data.length));
        start = Math.min(prevEnd, data.length);
      }
    }
    let next = prev === null ? this.first : prev.next;
    while (start < data.length) {
      const nextAt = next === null ? data.length : seqDiff(next.seq, seq);
      if (nextAt >= data.length) {
        this.placeBefore(next, (seq + start) >>> 0, data.subarray(start), cut);
        return;
      }
      if (nextAt > start) this.placeBefore(next, (seq + start) >>> 0, data.subarray(start, nextAt), 0);
      // `next` covers [nextAt, nextAt + len): its bytes win.
      const covering = next!;
      const covered = Math.min(nextAt + covering.data.length, data.length);
      this.stats.overlaps++;
      this.checkConflict(covering, seq, data, Math.max(start, nextAt), covered);
      start = covered;
      next = covering.next;
    }
  }

  /** Links a copy of `bytes` in before `next` (at the tail when null). */
  private placeBefore(next: Segment | null, seq: number, bytes: Uint8Array, cut: number): void {
    const prev = next === null ? this.last : next.prev;
    const segment: Segment = { seq, data: Uint8Array.from(bytes), cut, prev, next };
    if (prev === null) this.first = segment;
    else prev.next = segment;
    if (next === null) this.last = segment;
    else next.prev = segment;
    this.count++;
    this.buffered += bytes.length;
    this.stats.bufferedBytes += bytes.length;
  }

  private unlink(segment: Segment): void {
    if (segment.prev === null) this.first = segment.next;
    else segment.prev.next = segment.next;
    if (segment.next === null) this.last = segment.prev;
    else segment.next.prev = segment.prev;
    segment.prev = segment.next = null;
    this.count--;
  }

  private checkConflict(existing: Segment, seq: number, data: Uint8Array, from: number, to: number): void {
    const shift = seqDiff(seq, existing.seq);
    for (let k = from; k < to; k++) {
      if (data[k] !== existing.data[k + shift]) {
        this.stats.overlapConflicts++;
        return;
      }
    }
  }

  /** Declares [nextSeq, seq) lost and moves on. */
  private skipTo(seq: number): void {
    const missing = seqDiff(seq, this.nextSeq);
    if (missing <= 0) return;
    this.emitGap(missing);
    this.nextSeq = seq >>> 0;
  }

  private sequenceJump(seq: number, captured: Uint8Array, wireLength: number): void {
    this.stats.sequenceJumps++;
    if (++this.jumps < this.options.jumpsBeforeResync) return;
    // The other end really moved on (or the capture lost a lot): follow it.
    this.jumps = 0;
    this.releaseBuffers();
    this.emitGap(1);
    this.nextSeq = seq >>> 0;
    this.deliverAt(0, captured, wireLength);
  }

  private advanceStopped(seq: number, wireLength: number): void {
    const end = (seq + wireLength) >>> 0;
    if (seqDiff(end, this.nextSeq) > 0) this.nextSeq = end;
  }

  /**
   * A segment `-rel` bytes before nextSeq overlaps data already delivered: counts a conflict when
   * the part still held in `recent` differs.
   */
  private compareWithDelivered(rel: number, captured: Uint8Array): void {
    const recent = this.recent;
    if (recent === null) return;
    // captured[k] is the byte at nextSeq + rel + k; recent holds [nextSeq - recentLength, nextSeq).
    const from = Math.max(0, -rel - this.recentLength);
    const to = Math.min(captured.length, -rel);
    for (let k = from; k < to; k++) {
      const back = -rel - k; // 1 for the newest byte
      if (captured[k] !== recent[RECENT_BYTES - back]) {
        this.stats.overlapConflicts++;
        return;
      }
    }
  }

  private remember(bytes: Uint8Array): void {
    const recent = (this.recent ??= new Uint8Array(RECENT_BYTES));
    const n = bytes.length;
    if (n >= RECENT_BYTES) {
      recent.set(n === RECENT_BYTES ? bytes : bytes.subarray(n - RECENT_BYTES));
    } else {
      recent.copyWithin(0, n);
      recent.set(bytes, RECENT_BYTES - n);
    }
    this.recentLength = Math.min(RECENT_BYTES, this.recentLength + n);
  }

  private emit(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.remember(bytes);
    const room = this.options.depth - this.delivered;
    const part = bytes.length > room ? bytes.subarray(0, room) : bytes;
    this.delivered += part.length;
    this.stats.bytesDelivered += part.length;
    this.sink.data(part);
    if (this.delivered >= this.options.depth && !this.stopped) {
      this.stats.depthReached++;
      this.stop();
    }
  }

  private emitGap(length: number): void {
    this.recentLength = 0;
    if (this.stopped) return;
    this.stats.gaps++;
    this.stats.gapBytes += length;
    this.sink.gap(length);
  }

  private release(bytes: number): void {
    this.buffered -= bytes;
    this.stats.bufferedBytes -= bytes;
  }

  private releaseBuffers(): void {
    this.recent = null;
    this.recentLength = 0;
    this.stats.bufferedBytes -= this.buffered;
    this.buffered = 0;
    this.first = this.last = null;
    this.count = 0;
  }
}
