/**
 * HL7 v2 messages, framed by MLLP (0x0B message 0x1C 0x0D) or bare (a stream that starts with a
 * header segment; each message runs to the next MSH at a segment start).
 *
 * Each direction is read as a stream of segments ended by CR, LF or CRLF. A message starts at an
 * MSH segment; FHS/BHS runs form batch header units (reported) and BTS/FTS runs batch trailer
 * units (checked, not reported). Only the header segment (at most HEADER_CAP bytes) and the
 * segment ids are kept, so state stays bounded whatever the message size; the message text is
 * buffered only in the `full` evidence mode, up to the size cap.
 *
 * Recognition: a direction must open (after blank lines) with 0x0B or a header segment id; every
 * segment id is three upper-case letters or digits followed by the unit's field separator; MSH-2
 * holds 2 to 5 distinct encoding characters followed by the separator. That is all a header needs:
 * MSH-9 and MSH-12 are reported when they have the standard's shape, and the sender need not follow
 * it. The verdict is 'match' once an MSH passes these checks. Before that, any departure ends the
 * direction (the client's failing rejects the flow, the server's only its own direction); after it,
 * the broken message is reported truncated (when its header was good) and the direction
 * resynchronises on the next 0x0B (MLLP) or MSH at a segment start (bare). Batch header events seen
 * before the first match wait for it (at most MAX_PENDING), and are dropped if it never comes.
 *
 * Mid-stream and gaps: a direction that began before the analyzer saw it (a gap of length 0 at the
 * start), or that lost bytes before a match, resynchronises as above, and a false start found so
 * sends it back to resynchronise rather than rejecting it, within PROBE_SKIP_LIMIT bytes passed over.
 * A gap inside a message reports what was seen of it once its header was (the header itself may be
 * cut after its encoding characters), truncated unless it is bare and complete up to a segment end,
 * with `incomplete` saying `gap` (and `midstream` for a direction picked up mid-stream).
 *
 * Size cap: a message longer than maxMessageBytes is reported truncated at the cap and the rest
 * of it is skipped. At the end of the flow a started message is reported, truncated unless it is
 * bare and ended at a segment end.
 */
import type { Direction } from '../analyzer.js';
import type { Hl7Incomplete, Hl7MessageEvent } from './events.js';
import {
  CR,
  FS,
  HEADER_CAP,
  IDENTITY_SEGMENTS,
  isDigit,
  isSeparatorByte,
  isUpper,
  LF,
  MAX_LISTED_SEGMENTS,
  parseHl7Header,
  PROBE_SKIP_LIMIT,
  segmentId,
  UNIT_STARTS,
  VT,
  type Hl7Header,
} from './header.js';

/** Where a direction is in its stream. */
export const START = 0; // stream start: blank lines, then 0x0B or a unit's first segment id
export const CONTENT = 1; // inside a bare stream or an MLLP frame
export const FRAME_END = 2; // after 0x1C: an optional CR
export const BETWEEN_FRAMES = 3;
export const SKIP_FRAME = 4; // MLLP: pass over bytes to the frame end or the next frame start
export const RESYNC = 5; // pass over bytes to 0x0B or MSH at a segment start
export const DONE = 6;

/** What the current unit is. */
export const NO_UNIT = 0;
export const MESSAGE = 1;
export const BATCH_HEADER = 2;
export const BATCH_TRAILER = 3;

export type Framing = 'mllp' | 'bare';

export interface Owner {
  readonly matched: boolean;
  readonly full: boolean;
  readonly maxMessageBytes: number;
  readonly udp: boolean;
  match(): void;
  /** This direction's bytes are not HL7 (see FlowState.reject). */
  reject(dir: Direction): void;
  report(event: Hl7MessageEvent, batchHeader: boolean): void;
  buildEvent(
    dir: Direction,
    framing: Framing,
    header: Hl7Header,
    segments: string[],
    identity: string[],
    length: number,
    truncated: boolean,
    incomplete: Hl7Incomplete[],
    text: Uint8Array | undefined,
  ): Hl7MessageEvent;
}

const idScratch = new Uint8Array(4);
/** Stands for "no unit"; never pushed to (a unit gets fresh arrays when it opens). */
export const NO_SEGMENTS: string[] = [];

/** One direction of the flow. */
export class DirectionReader {
  state = START;
  private framing: Framing = 'bare';
  /** Bytes of the current segment seen (stays at 4 once past the id and separator). */
  private segPos = 0;
  private id0 = 0;
  private id1 = 0;
  private id2 = 0;

  private unit = NO_UNIT;
  private separator = 0;
  /** The current segment is the unit's header segment, still being captured. */
  private headerOpen = false;
  private headerLen = 0;
  private headerBuf: Uint8Array | undefined;
  /** undefined: not parsed yet; null: not a valid header. */
  private header: Hl7Header | null | undefined;
  /** Fresh arrays for each unit: the reported event keeps them. */
  private segments: string[] = NO_SEGMENTS;
  private identity: string[] = NO_SEGMENTS;
  private length = 0;
  private text: Uint8Array | undefined;
  private textLen = 0;

  private lineStart = false;
  private mshMatched = 0;
  private skipped = 0;
  /** The direction began before the analyzer saw it. */
  private midstream = false;
  /**
   * The direction lost bytes, or began mid-stream, before a match: a false start found while
   * resynchronising sends it back to resynchronise instead of rejecting it.
   */
  private resynced = false;
  /** Bytes of the current unit were lost (a capture gap or the snap length). */
  private unitLost = false;

  constructor(
    private readonly owner: Owner,
    private readonly dir: Direction,
  ) {}

  get bufferedBytes(): number {
    return this.owner.full ? this.textLen : this.headerLen;
  }

  data(b: Uint8Array): void {
    let i = 0;
    const n = b.length;
    while (i < n && this.state !== DONE) {
      switch (this.state) {
        case START:
          i = this.start(b, i);
          break;
        case CONTENT:
          i = this.content(b, i);
          break;
        case FRAME_END:
          if (b[i] === CR) i++;
          this.state = BETWEEN_FRAMES;
          break;
        case BETWEEN_FRAMES:
          i = this.betweenFrames(b, i);
          break;
        case SKIP_FRAME:
          i = this.skipFrame(b, i);
          break;
        case RESYNC:
          i = this.resync(b, i);
          break;
      }
    }
    if (this.owner.udp && this.state !== DONE) this.datagramEnd();
  }

  /** `length` 0 at the start: the direction began before the analyzer saw it. */
  gap(length: number): void {
    if (this.state === DONE) return;
    if (length === 0 && this.state === START) this.midstream = true;
    if (!this.owner.matched) this.resynced = true;
    switch (this.state) {
      case CONTENT:
        // What was seen of the unit counts once its header was (see closeUnit); then resync.
        if (this.unit !== NO_UNIT) {
          this.unitLost = true;
          this.closeUnit(!(this.framing === 'bare' && this.segPos < 4));
        }
        this.skipAfterLoss();
        break;
      case START:
      case RESYNC:
        this.enterResync(false);
        break;
      case FRAME_END:
      case BETWEEN_FRAMES:
        this.state = SKIP_FRAME;
        break;
    }
  }

  end(): void {
    if (this.state === CONTENT && this.unit !== NO_UNIT) {
      const truncated = this.framing === 'mllp' || this.segPos >= 4;
      this.closeUnitOrReject(truncated);
    }
    this.finish();
  }

  finish(): void {
    this.state = DONE;
    this.dropUnit();
    this.headerBuf = undefined;
    this.text = undefined;
  }

  private start(b: Uint8Array, i: number): number {
    const c = b[i];
    if (c === CR || c === LF) {
      this.countSkipped(1);
      return i + 1;
    }
    if (c === VT) {
      this.openFrame();
      return i + 1;
    }
    if (c === 0x4d || c === 0x46 || c === 0x42) {
      // 'M', 'F', 'B': the first letter of a unit's first segment, checked byte by byte.
      this.framing = 'bare';
      this.beginContent();
      return i;
    }
    this.malformed();
    return i;
  }

  private betweenFrames(b: Uint8Array, i: number): number {
    const c = b[i];
    if (c === CR || c === LF || c === 0x20 || c === 0x09) return i + 1;
    if (c === VT) {
      this.openFrame();
      return i + 1;
    }
    this.malformed();
    return i;
  }

  private skipFrame(b: Uint8Array, i: number): number {
    const n = b.length;
    let j = i;
    while (j < n && b[j] !== VT && b[j] !== FS) j++;
    if (!this.countSkipped(j - i) || j === n) return j;
    if (b[j] === VT) this.openFrame();
    else this.state = FRAME_END;
    return j + 1;
  }

  private resync(b: Uint8Array, i: number): number {
    const n = b.length;
    for (let j = i; j < n; j++) {
      const c = b[j];
      if (c === VT) {
        if (!this.countSkipped(j - i)) return j;
        this.openFrame();
        return j + 1;
      }
      if (this.mshMatched > 0) {
        if (c === 'MSH'.charCodeAt(this.mshMatched)) {
          if (++this.mshMatched === 3) {
            if (!this.countSkipped(j - i)) return j;
            this.framing = 'bare';
            this.beginContent();
            this.id0 = 0x4d;
            this.id1 = 0x53;
            this.id2 = 0x48;
            this.segPos = 3;
            return j + 1;
          }
          continue;
        }
        this.mshMatched = 0;
      }
      if (c === CR || c === LF) {
        this.lineStart = true;
      } else {
        if (this.lineStart && c === 0x4d) this.mshMatched = 1;
        this.lineStart = false;
      }
    }
    this.countSkipped(n - i);
    return n;
  }

  /** Before a match, passing over too much means this is not HL7. False once rejected. */
  private countSkipped(n: number): boolean {
    if (this.owner.matched) return true;
    this.skipped += n;
    if (this.skipped <= PROBE_SKIP_LIMIT) return true;
    this.owner.reject(this.dir);
    return this.state !== DONE;
  }

  /**
   * Before a match: bytes that cannot be HL7. A direction that has been resynchronising goes
   * back to it (it found a false start); any other is not HL7.
   */
  private notHl7(): void {
    if (this.resynced) {
      this.dropUnit();
      this.enterResync(false);
      return;
    }
    this.owner.reject(this.dir);
  }

  private content(b: Uint8Array, i: number): number {
    const c = b[i];
    if (c === CR || c === LF) {
      if (!this.finishSegment()) return i;
      return this.addBytes(b, i, i + 1) === 1 ? i + 1 : i;
    }
    if (c === VT) return this.frameStartInContent(i);
    if (c === FS) return this.frameEndInContent(i);
    const pos = this.segPos;
    if (pos >= 4) {
      const n = b.length;
      let j = i + 1;
      while (j < n) {
        const x = b[j];
        if (x === CR || x === LF || x === VT || x === FS) break;
        j++;
      }
      return i + this.addBytes(b, i, j);
    }
    if (pos === 3) return this.classify(c) ? i + 1 : i;
    if (!this.isIdByte(c, pos)) {
      this.malformed();
      return i;
    }
    if (pos === 0) this.id0 = c;
    else if (pos === 1) this.id1 = c;
    else this.id2 = c;
    this.segPos = pos + 1;
    return i + 1;
  }

  private isIdByte(c: number, pos: number): boolean {
    if (this.unit === NO_UNIT) {
      // Only a unit's first segment may start a stream or a frame.
      for (const start of UNIT_STARTS) {
        if (
          start.charCodeAt(pos) === c &&
          (pos < 1 || start.charCodeAt(0) === this.id0) &&
          (pos < 2 || start.charCodeAt(1) === this.id1)
        ) {
          return true;
        }
      }
      return false;
    }
    return isUpper(c) || (pos > 0 && isDigit(c));
  }

  /** 0x0B inside content: in MLLP the previous frame lost its end; in a bare stream, framing begins. */
  private frameStartInContent(i: number): number {
    if (this.framing === 'mllp') {
      this.closeUnitOrReject(true);
    } else if (this.segPos === 0) {
      this.closeUnitOrReject(false);
    } else {
      this.malformed();
      return i;
    }
    if (this.state !== CONTENT) return i;
    this.openFrame();
    return i + 1;
  }

  private frameEndInContent(i: number): number {
    if (this.framing !== 'mllp') {
      this.malformed();
      return i;
    }
    if (!this.finishSegment()) return i;
    this.closeUnitOrReject(false);
    if (this.state !== CONTENT) return i;
    this.state = FRAME_END;
    return i + 1;
  }

  /** The current segment ends. False when that showed the bytes are not HL7 (state changed). */
  private finishSegment(): boolean {
    const pos = this.segPos;
    if (pos === 0) return true;
    if (pos < 3) {
      this.malformed();
      return false;
    }
    if (pos === 3 && !this.classify(-1)) return false;
    this.segPos = 0;
    if (this.headerOpen) {
      this.headerOpen = false;
      const header = parseHl7Header(this.headerView());
      this.header = header ?? null;
      if (!header) {
        this.malformed();
        return false;
      }
      if (this.unit === MESSAGE) this.owner.match();
    }
    return true;
  }

  /**
   * A segment id is complete; `fourth` is the byte after it, or -1 when the segment ended there.
   * Decides which unit the segment belongs to. False when the state changed.
   */
  private classify(fourth: number): boolean {
    const id = segmentId(this.id0, this.id1, this.id2);
    let kind = NO_UNIT;
    if (id === 'MSH') kind = MESSAGE;
    else if (id === 'FHS') kind = BATCH_HEADER;
    else if (id === 'BHS') {
      const joinsFileHeader =
        this.unit === BATCH_HEADER && this.segments.length === 1 && this.segments[0] === 'FHS';
      if (!joinsFileHeader) kind = BATCH_HEADER;
    } else if ((id === 'BTS' || id === 'FTS') && this.unit !== BATCH_TRAILER) kind = BATCH_TRAILER;

    if (kind !== NO_UNIT) {
      if (this.unit !== NO_UNIT) {
        this.closeUnitOrReject(false);
        if (this.state !== CONTENT) return false;
      }
      const separatorOk = fourth === -1 ? kind === BATCH_TRAILER : isSeparatorByte(fourth);
      if (!separatorOk) {
        this.malformed();
        return false;
      }
      this.openUnit(kind, fourth === -1 ? 0 : fourth);
    } else if (this.unit === NO_UNIT || (fourth !== -1 && this.separator !== 0 && fourth !== this.separator)) {
      this.malformed();
      return false;
    }

    idScratch[0] = this.id0;
    idScratch[1] = this.id1;
    idScratch[2] = this.id2;
    const idLength = fourth === -1 ? 3 : 4;
    if (fourth !== -1) idScratch[3] = fourth;
    if (this.addBytes(idScratch, 0, idLength) < idLength) return false;
    this.segPos = 4;
    if (this.segments.length < MAX_LISTED_SEGMENTS) this.segments.push(id);
    if (IDENTITY_SEGMENTS.has(id) && !this.identity.includes(id)) this.identity.push(id);
    return true;
  }

  private openUnit(kind: number, separator: number): void {
    this.unit = kind;
    this.separator = separator;
    this.headerOpen = kind === MESSAGE || kind === BATCH_HEADER;
    this.headerLen = 0;
    this.header = undefined;
    this.segments = [];
    this.identity = [];
    this.length = 0;
    this.textLen = 0;
  }

  /**
   * Counts bytes of the current unit, keeping the header segment (and in full mode the text).
   * Returns how many were taken: fewer than offered when the size cap was hit (state changed).
   */
  private addBytes(src: Uint8Array, from: number, to: number): number {
    const n = to - from;
    if (this.unit === NO_UNIT) return n;
    const max = this.owner.maxMessageBytes;
    const taken = Math.min(n, max - this.length);
    if (this.headerOpen && this.headerLen < HEADER_CAP) {
      const keep = Math.min(taken, HEADER_CAP - this.headerLen);
      if (!this.owner.full) {
        const need = this.headerLen + keep;
        if (this.headerBuf === undefined || this.headerBuf.length < need) this.growHeader(need);
        this.headerBuf!.set(src.subarray(from, from + keep), this.headerLen);
      }
      this.headerLen += keep;
    }
    if (this.owner.full) this.appendText(src, from, from + taken);
    this.length += taken;
    if (taken < n) this.oversize();
    return taken;
  }

  /**
   * Header segments are usually a couple of hundred bytes: the buffer starts small and doubles up
   * to HEADER_CAP, because an HL7 connection stays open for hours with one held per direction.
   */
  private growHeader(need: number): void {
    let size = Math.max(this.headerBuf?.length ?? 0, 256);
    while (size < need) size *= 2;
    const grown = new Uint8Array(Math.min(size, HEADER_CAP));
    if (this.headerBuf) grown.set(this.headerBuf.subarray(0, this.headerLen));
    this.headerBuf = grown;
  }

  private appendText(src: Uint8Array, from: number, to: number): void {
    const need = this.textLen + (to - from);
    if (!this.text || this.text.length < need) {
      let size = Math.max(this.text?.length ?? 0, 4096);
      while (size < need) size *= 2;
      const grown = new Uint8Array(Math.min(size, this.owner.maxMessageBytes));
      if (this.text) grown.set(this.text.subarray(0, this.textLen));
      this.text = grown;
    }
    this.text.set(src.subarray(from, to), this.textLen);
    this.textLen = need;
  }

  private headerView(): Uint8Array {
    if (this.owner.full) return this.text ? this.text.subarray(0, Math.min(this.headerLen, this.textLen)) : new Uint8Array(0);
    return this.headerBuf ? this.headerBuf.subarray(0, this.headerLen) : new Uint8Array(0);
  }

  private oversize(): void {
    const lineStart = this.segPos === 0;
    this.closeUnitOrReject(true);
    if (this.state !== CONTENT) return;
    if (this.framing === 'mllp') this.state = SKIP_FRAME;
    else this.enterResync(lineStart);
  }

  /** Reports the current unit if it is a message or batch header with a valid header. */
  private closeUnit(truncated: boolean): boolean {
    const kind = this.unit;
    if (kind === NO_UNIT) return true;
    let valid = true;
    if (kind === MESSAGE || kind === BATCH_HEADER) {
      if (this.header === undefined) this.header = parseHl7Header(this.headerView()) ?? null;
      const header = this.header;
      valid = header !== null && (header.segment === 'MSH') === (kind === MESSAGE);
      if (valid && header) {
        if (kind === MESSAGE) this.owner.match();
        const text = this.owner.full && this.text ? this.text.subarray(0, this.textLen) : undefined;
        const incomplete: Hl7Incomplete[] = [];
        if (this.unitLost) incomplete.push('gap');
        if (this.midstream) incomplete.push('midstream');
        const event = this.owner.buildEvent(
          this.dir,
          this.framing,
          header,
          this.segments,
          this.identity,
          this.length,
          truncated,
          incomplete,
          text,
        );
        this.owner.report(event, kind === BATCH_HEADER);
      }
    }
    this.dropUnit();
    return valid;
  }

  private closeUnitOrReject(truncated: boolean): void {
    if (!this.closeUnit(truncated) && !this.owner.matched) this.notHl7();
  }

  private dropUnit(): void {
    this.unit = NO_UNIT;
    this.headerOpen = false;
    this.headerLen = 0;
    this.header = undefined;
    this.segments = NO_SEGMENTS;
    this.identity = NO_SEGMENTS;
    this.length = 0;
    this.textLen = 0;
    this.unitLost = false;
    // A large text buffer is not worth keeping between messages.
    if (this.text && this.text.length > 65536) this.text = undefined;
  }

  /** Bytes that are not HL7: before a match the flow is rejected, after it the direction resyncs. */
  private malformed(): void {
    if (!this.owner.matched) {
      this.notHl7();
      return;
    }
    const lineStart = this.state !== CONTENT || this.segPos === 0;
    if (this.state === CONTENT && this.unit !== NO_UNIT) this.closeUnit(true);
    if (this.framing === 'mllp' && this.state !== START) this.state = SKIP_FRAME;
    else this.enterResync(lineStart);
  }

  private skipAfterLoss(): void {
    if (this.framing === 'mllp') this.state = SKIP_FRAME;
    else this.enterResync(false);
  }

  private enterResync(lineStart: boolean): void {
    this.state = RESYNC;
    this.lineStart = lineStart;
    this.mshMatched = 0;
  }

  private openFrame(): void {
    this.framing = 'mllp';
    this.beginContent();
  }

  private beginContent(): void {
    this.dropUnit();
    this.state = CONTENT;
    this.segPos = 0;
  }

  /** UDP: a datagram ends a bare message; the next datagram starts afresh. */
  private datagramEnd(): void {
    const bare = this.state === CONTENT && this.framing === 'bare';
    if (bare && this.finishSegment()) this.closeUnitOrReject(false);
    if ((this.state === CONTENT && this.framing === 'bare') || this.state === RESYNC) {
      this.dropUnit();
      this.segPos = 0;
      this.state = START;
    }
  }
}
