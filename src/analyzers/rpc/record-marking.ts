/**
 * TCP record marking (RFC 5531 section 11): each direction's records reassembled across segments
 * and fragments, the first `maxRecordBytes` of each kept for decoding and the rest skipped by
 * count; after a gap that swallows a mark, an impossible header, or from the start of a flow
 * picked up mid-stream, a hunt byte by byte for the mark of a single-fragment record with a
 * plausible header.
 */
import type { Direction, Verdict } from '../analyzer.js';
import { MIN_MESSAGE_BYTES, probeComplete, probeHeader, type Probe } from './header.js';
import { readU32 } from './xdr.js';

/** The top bit of a record mark: this fragment ends its record. */
export const LAST_FRAGMENT = 0x80000000;
const HUNT_WINDOW = 2048;
/** While nothing has matched yet, give up hunting for a record mark after this many bytes. */
const MAX_PROBING_HUNT = 64 * 1024;
const INITIAL_RECORD_CAPACITY = 512;
/** Record buffers grown past this are released once their record is done. */
const KEEP_RECORD_CAPACITY = 64 * 1024;
const NO_BYTES = new Uint8Array(0);
/** What record marking needs of the analyzer it serves. */
export interface RecordOwner {
  /** Record marking rejects the flow while probing, on bytes that cannot be RPC. */
  verdict: Verdict;
  readonly stats: { skippedBytes: number; huntedBytes: number; gaps: number };
  anomaly(counter: 'oversizedRecords' | 'resyncs'): void;
  /** Bytes that cannot be an RPC message: rejects the flow while probing (true), else counts them malformed. */
  malformed(): boolean;
  /** A whole record, or the intact prefix of one that will not be seen whole. */
  decodeMessage(dir: Direction, buf: Uint8Array, length: number): void;
}

/** TCP record-marking state of one direction. */
class RecordStream {
  /** Record mark bytes collected so far (0-3) and their value. */
  markHave = 0;
  mark = 0;
  /** Inside a fragment body, with this many bytes of it still to come. */
  inFragment = false;
  fragLeft = 0;
  fragLast = false;
  fragments = 0;
  /** The first `stored` bytes of the record so far (at most the record cap); allocated on first use. */
  buf = NO_BYTES;
  stored = 0;
  /** No more bytes of this record will be kept (cap reached, gap inside it, or flow over). */
  clipped = false;
  /** Its header has been found plausible. */
  judged = false;
  decoded = false;
  hunting = false;
  huntBuf: Uint8Array | null = null;
  huntHave = 0;
  huntedSinceSync = 0;

  resetRecord(): void {
    this.fragments = 0;
    this.clipped = false;
    this.judged = false;
    this.decoded = false;
    this.releaseBytes();
  }

  releaseBytes(): void {
    this.stored = 0;
    if (this.buf.length > KEEP_RECORD_CAPACITY) this.buf = NO_BYTES;
  }

  startHunting(): void {
    this.resetRecord();
    this.markHave = 0;
    this.inFragment = false;
    this.fragLeft = 0;
    this.hunting = true;
    this.huntHave = 0;
    this.huntedSinceSync = 0;
    this.huntBuf ??= new Uint8Array(HUNT_WINDOW);
  }

  get buffered(): number {
    return this.stored + this.huntHave + this.markHave;
  }
}

export class RecordMarking {
  private readonly streams: [RecordStream, RecordStream] = [new RecordStream(), new RecordStream()];

  /** `midstream`: the flow was picked up after it began, so neither direction starts at a record mark. */
  constructor(
    private readonly owner: RecordOwner,
    private readonly maxRecordBytes: number,
    midstream = false,
  ) {
    if (midstream) for (const s of this.streams) s.startHunting();
  }

  /** Bytes held for reassembly and resynchronisation, both directions together. */
  get bufferedBytes(): number {
    return this.streams[0].buffered + this.streams[1].buffered;
  }

  data(dir: Direction, bytes: Uint8Array): void {
    this.consume(this.streams[dir], dir, bytes, 0);
  }

  gap(dir: Direction, length: number): void {
    this.owner.stats.gaps++;
    const s = this.streams[dir];
    this.owner.stats.skippedBytes += length;
    if (s.hunting) {
      s.huntHave = 0; // the window's bytes no longer join up with what follows
      return;
    }
    if (s.inFragment && length <= s.fragLeft) {
      // The hole is inside the current fragment: the next mark is still where it was announced.
      s.fragLeft -= length;
      this.clip(s, dir);
      if (s.fragLeft === 0) this.endFragment(s, dir);
      return;
    }
    // The hole runs past the next mark: what arrived of this record is all there will be.
    if (s.inFragment && s.stored > 0) this.clip(s, dir);
    s.startHunting();
  }

  /** The flow is over: records cut short are decoded as far as they came. */
  end(): void {
    for (const dir of [0, 1] as const) {
      const s = this.streams[dir];
      if (!s.hunting && s.stored > 0 && !s.decoded) this.clip(s, dir);
    }
  }

  private consume(s: RecordStream, dir: Direction, bytes: Uint8Array, from: number): void {
    const n = bytes.length;
    let i = from;
    while (i < n && this.owner.verdict !== 'reject') {
      if (s.hunting) {
        i = this.hunt(s, dir, bytes, i);
        continue;
      }
      if (!s.inFragment) {
        while (s.markHave < 4 && i < n) {
          s.mark = ((s.mark << 8) | bytes[i++]) >>> 0;
          s.markHave++;
        }
        if (s.markHave < 4) break;
        s.markHave = 0;
        this.startFragment(s, dir, s.mark);
        continue;
      }
      const take = Math.min(s.fragLeft, n - i);
      const overflow = this.append(s, bytes, i, take);
      i += take;
      s.fragLeft -= take;
      if (!s.judged) {
        // A record of one fragment ends where its mark said; credentials must fit inside it.
        const messageEnd = s.fragments === 1 && s.fragLast ? s.stored + s.fragLeft : Infinity;
        const probe = probeHeader(s.buf, 0, s.stored, messageEnd);
        if (probe === 'yes') s.judged = true;
        else if (probe === 'no') {
          if (this.owner.malformed()) return;
          // Lost sync: hunt for the next record, starting over this one's bytes.
          const replay = s.buf.slice(0, s.stored);
          s.startHunting();
          this.consume(s, dir, replay, 0);
          continue;
        }
      }
      if (overflow) {
        this.owner.anomaly('oversizedRecords');
        this.clip(s, dir);
      }
      if (s.fragLeft === 0) this.endFragment(s, dir);
    }
  }

  private startFragment(s: RecordStream, dir: Direction, mark: number): void {
    const length = mark & ~LAST_FRAGMENT;
    if (this.owner.verdict === 'probing' && s.fragments === 0 && length === 0) {
      // An empty opening fragment carries nothing; zero-filled streams would loop on it forever.
      this.owner.verdict = 'reject';
      return;
    }
    s.fragments++;
    s.fragLeft = length;
    s.fragLast = mark >= LAST_FRAGMENT;
    s.inFragment = true;
    if (length === 0) this.endFragment(s, dir);
  }

  private endFragment(s: RecordStream, dir: Direction): void {
    s.inFragment = false;
    if (!s.fragLast) return;
    if (!s.decoded) {
      if (s.judged || probeComplete(s.buf, s.stored) === 'yes') this.owner.decodeMessage(dir, s.buf, s.stored);
      else this.owner.malformed();
    }
    s.resetRecord();
  }

  /** Keeps what fits of `count` record bytes under the cap; true when some had to be skipped. */
  private append(s: RecordStream, bytes: Uint8Array, at: number, count: number): boolean {
    if (s.clipped) {
      this.owner.stats.skippedBytes += count;
      return false;
    }
    const keep = Math.min(count, this.maxRecordBytes - s.stored);
    if (s.stored + keep > s.buf.length) {
      let capacity = Math.max(s.buf.length, INITIAL_RECORD_CAPACITY);
      while (capacity < s.stored + keep) capacity *= 2;
      const bigger = new Uint8Array(Math.min(capacity, this.maxRecordBytes));
      bigger.set(s.buf.subarray(0, s.stored));
      s.buf = bigger;
    }
    s.buf.set(bytes.subarray(at, at + keep), s.stored);
    s.stored += keep;
    this.owner.stats.skippedBytes += count - keep;
    return keep < count;
  }

  /**
   * No more of the current record will be kept (cap reached, gap inside it, flow over): decodes
   * the prefix that arrived intact and lets its bytes go.
   */
  private clip(s: RecordStream, dir: Direction): void {
    s.clipped = true;
    if (!s.decoded) {
      s.decoded = true;
      // A prefix too short to tell ('more') is cut, not malformed: the gap is counted as one.
      const probe = probeHeader(s.buf, 0, s.stored);
      if (probe === 'yes') this.owner.decodeMessage(dir, s.buf, s.stored);
      else if (probe === 'no') this.owner.malformed();
    }
    s.releaseBytes();
  }

  private hunt(s: RecordStream, dir: Direction, bytes: Uint8Array, from: number): number {
    const window = s.huntBuf as Uint8Array;
    const take = Math.min(HUNT_WINDOW - s.huntHave, bytes.length - from);
    window.set(bytes.subarray(from, from + take), s.huntHave);
    s.huntHave += take;
    s.huntedSinceSync += take;
    this.owner.stats.huntedBytes += take;
    const have = s.huntHave;
    let p = 0;
    for (; p + 4 <= have; p++) {
      // Most bytes fail at once: a last-fragment mark, then a msg_type of 0 or 1.
      if (window[p] < 0x80 || (p + 12 <= have && (window[p + 8] | window[p + 9] | window[p + 10] | (window[p + 11] & 0xfe)) !== 0)) continue;
      const found = probeMarkAt(window, p, have);
      // Undecided with the window full from here on: more bytes cannot come into view, move on.
      if (found === 'more' && (p > 0 || have < HUNT_WINDOW)) break;
      if (found === 'yes') {
        const resumed = window.slice(p, have);
        s.hunting = false;
        s.huntHave = 0;
        this.owner.anomaly('resyncs');
        this.consume(s, dir, resumed, 0);
        return from + take;
      }
    }
    window.copyWithin(0, p, s.huntHave);
    s.huntHave -= p;
    if (this.owner.verdict === 'probing' && s.huntedSinceSync > MAX_PROBING_HUNT) this.owner.verdict = 'reject';
    return from + take;
  }
}

/**
 * Whether a resync can start at `p`: a record mark announcing a whole single-fragment record
 * (what RPC stacks send) whose header is plausible, and, when the next record's start is in view
 * too, one that looks like a record as well. A lone header check is not enough: the tail of a
 * call header (program, version, procedure 1, then zeros) reads as a mark and a reply.
 */
function probeMarkAt(b: Uint8Array, p: number, end: number): Probe {
  const mark = readU32(b, p);
  if (mark < LAST_FRAGMENT) return 'no';
  const length = mark - LAST_FRAGMENT;
  if (length < MIN_MESSAGE_BYTES) return 'no';
  const fragmentEnd = p + 4 + length;
  const probe = probeHeader(b, p + 4, Math.min(end, fragmentEnd), fragmentEnd);
  if (probe === 'more') return fragmentEnd <= end ? 'no' : 'more';
  if (probe === 'no' || fragmentEnd + 4 > end) return probe;
  const nextMark = readU32(b, fragmentEnd);
  const next = nextMark & ~LAST_FRAGMENT;
  if (next < MIN_MESSAGE_BYTES) return 'no';
  const nextEnd = fragmentEnd + 4 + next;
  return probeHeader(b, fragmentEnd + 4, Math.min(end, nextEnd), nextMark >= LAST_FRAGMENT ? nextEnd : Infinity) === 'no' ? 'no' : 'yes';
}
