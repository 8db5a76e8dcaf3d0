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
 * holds 2 to 5 distinct encoding characters; MSH-9 is a three-letter message type with an
 * optional three-character trigger; MSH-12 is a 2.x version. The verdict is 'match' once an MSH
 * passes these checks. Before that, any departure rejects the flow; after it, the broken message
 * is reported truncated (when its header was good) and the direction resynchronises on the next
 * 0x0B (MLLP) or MSH at a segment start (bare). Batch header events seen before the first match
 * wait for it (at most MAX_PENDING), and are dropped if it never comes.
 *
 * Size cap: a message longer than maxMessageBytes is reported truncated at the cap and the rest
 * of it is skipped. A gap drops the partial message, except that a bare message complete up to a
 * segment end is reported. At the end of the flow a started message is reported, truncated
 * unless it is bare and ended at a segment end.
 */
import type { Analyzer, AnalyzerContext, AnalyzerFactory, Direction, Verdict } from './analyzer.js';
import type { Hl7MessageEvent } from './events.js';

export const DEFAULT_MAX_MESSAGE_BYTES = 1 << 20;
/** Bytes of a header segment kept for parsing; MSH-1..MSH-12 fit with room to spare. */
export const HEADER_CAP = 4096;
/** Segment ids listed per message; identitySegments still sees every segment. */
export const MAX_LISTED_SEGMENTS = 1024;
const MAX_FIELD_CHARS = 128;
/** Before a match, bytes a direction may pass over while resynchronising after a gap. */
const PROBE_SKIP_LIMIT = 64 * 1024;
const MAX_PENDING = 4;
const MIN_MESSAGE_BYTES = 64;

/**
 * Segments that identify the patient: demographics (PID, PD1), next of kin (NK1), visit (PV1,
 * PV2), merged identities (MRG), insurance (IN1-IN3), guarantor (GT1) and accident (ACC).
 * Clinical content (DG1, OBX, ...) is protected health information too but names no one.
 */
export const IDENTITY_SEGMENTS: ReadonlySet<string> = new Set([
  'PID', 'PD1', 'NK1', 'PV1', 'PV2', 'MRG', 'IN1', 'IN2', 'IN3', 'GT1', 'ACC',
]);

const VT = 0x0b;
const FS = 0x1c;
const CR = 0x0d;
const LF = 0x0a;

/** Segment ids that begin a unit, and so may begin a stream or an MLLP frame. */
const UNIT_STARTS = ['MSH', 'FHS', 'BHS', 'BTS', 'FTS'];

export interface Hl7Header {
  /** 'MSH', 'FHS' or 'BHS'. */
  readonly segment: string;
  readonly fieldSeparator: string;
  readonly encodingCharacters: string;
  /** Field 3 and 4 of the segment, whole. */
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  /** MSH-9.1, MSH-9.2, MSH-9.3 ('' for FHS/BHS). */
  readonly messageType: string;
  readonly triggerEvent: string;
  readonly messageStructure: string;
  /** MSH-10, or FHS-11/BHS-11. */
  readonly controlId: string;
  /** MSH-12.1 ('' for FHS/BHS). */
  readonly version: string;
}

/** A printable ASCII character that is neither a letter nor a digit nor a space. */
export function isSeparatorByte(b: number): boolean {
  return b > 0x20 && b < 0x7f && !isUpper(b) && !isDigit(b) && !(b >= 0x61 && b <= 0x7a);
}

function isUpper(b: number): boolean {
  return b >= 0x41 && b <= 0x5a;
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

export function isMessageTypeCode(s: string): boolean {
  return /^[A-Z]{3}$/.test(s);
}

export function isTriggerEventCode(s: string): boolean {
  return s === '' || /^[A-Z0-9]{3}$/.test(s);
}

export function isHl7Version(s: string): boolean {
  return /^2\.\d{1,2}(\.\d{1,2})?$/.test(s);
}

function printable(s: string): string {
  const cut = s.length > MAX_FIELD_CHARS ? s.slice(0, MAX_FIELD_CHARS) : s;
  return cut.replace(/[^\x20-\x7e]/g, '?');
}

/**
 * Parses an MSH, FHS or BHS segment (its bytes from the segment id on, without the terminator;
 * a truncated segment parses if the needed fields are there). Undefined when it is not a
 * plausible header. Field numbers follow the standard: field 1 IS the separator, so after
 * splitting on it, field n sits at index n - 1.
 */
export function parseHl7Header(segment: Uint8Array): Hl7Header | undefined {
  if (segment.length < 8) return undefined;
  const text = Buffer.from(segment.buffer, segment.byteOffset, segment.length).toString('latin1');
  const id = text.slice(0, 3);
  if (id !== 'MSH' && id !== 'FHS' && id !== 'BHS') return undefined;
  if (!isSeparatorByte(segment[3])) return undefined;
  const separator = text[3];
  const fields = text.split(separator);
  const field = (n: number): string => fields[n - 1] ?? '';
  const encoding = field(2);
  if (encoding.length < 2 || encoding.length > 5) return undefined;
  for (let i = 0; i < encoding.length; i++) {
    const c = encoding.charCodeAt(i);
    if (!isSeparatorByte(c) || encoding.indexOf(encoding[i]) !== i) return undefined;
  }
  const component = encoding[0];
  if (id !== 'MSH') {
    return {
      segment: id,
      fieldSeparator: separator,
      encodingCharacters: encoding,
      sendingApplication: printable(field(3)),
      sendingFacility: printable(field(4)),
      messageType: '',
      triggerEvent: '',
      messageStructure: '',
      controlId: printable(field(11)),
      version: '',
    };
  }
  if (fields.length < 12) return undefined;
  const type = field(9).split(component);
  const messageType = type[0];
  const triggerEvent = type[1] ?? '';
  const version = field(12).split(component)[0];
  if (!isMessageTypeCode(messageType) || !isTriggerEventCode(triggerEvent) || !isHl7Version(version)) {
    return undefined;
  }
  return {
    segment: id,
    fieldSeparator: separator,
    encodingCharacters: encoding,
    sendingApplication: printable(field(3)),
    sendingFacility: printable(field(4)),
    messageType,
    triggerEvent,
    messageStructure: printable(type[2] ?? ''),
    controlId: printable(field(10)),
    version,
  };
}

const idCache = new Map<number, string>();

function segmentId(a: number, b: number, c: number): string {
  const key = (a << 16) | (b << 8) | c;
  let id = idCache.get(key);
  if (id === undefined) {
    id = String.fromCharCode(a, b, c);
    // Ids are validated [A-Z][A-Z0-9]{2}, so the cache cannot outgrow 26 * 36 * 36 entries.
    idCache.set(key, id);
  }
  return id;
}

/** Where a direction is in its stream. */
const START = 0; // stream start: blank lines, then 0x0B or a unit's first segment id
const CONTENT = 1; // inside a bare stream or an MLLP frame
const FRAME_END = 2; // after 0x1C: an optional CR
const BETWEEN_FRAMES = 3;
const SKIP_FRAME = 4; // MLLP: pass over bytes to the frame end or the next frame start
const RESYNC = 5; // pass over bytes to 0x0B or MSH at a segment start
const DONE = 6;

/** What the current unit is. */
const NO_UNIT = 0;
const MESSAGE = 1;
const BATCH_HEADER = 2;
const BATCH_TRAILER = 3;

type Framing = 'mllp' | 'bare';

interface Owner {
  readonly matched: boolean;
  readonly full: boolean;
  readonly maxMessageBytes: number;
  readonly udp: boolean;
  match(): void;
  reject(): void;
  report(event: Hl7MessageEvent, batchHeader: boolean): void;
  buildEvent(
    dir: Direction,
    framing: Framing,
    header: Hl7Header,
    segments: string[],
    identity: string[],
    length: number,
    truncated: boolean,
    text: Uint8Array | undefined,
  ): Hl7MessageEvent;
}

const idScratch = new Uint8Array(4);
/** Stands for "no unit"; never pushed to (a unit gets fresh arrays when it opens). */
const NO_SEGMENTS: string[] = [];

/** One direction of the flow. */
class DirectionReader {
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

  gap(): void {
    switch (this.state) {
      case CONTENT:
        if (this.framing === 'bare' && this.segPos < 4) {
          // Complete up to its last segment end; an unattributed id fragment is left out.
          this.closeUnitOrReject(false);
        } else {
          this.dropUnit();
        }
        if (this.state === CONTENT) this.skipAfterLoss();
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
    this.owner.reject();
    return false;
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
        const event = this.owner.buildEvent(
          this.dir,
          this.framing,
          header,
          this.segments,
          this.identity,
          this.length,
          truncated,
          text,
        );
        this.owner.report(event, kind === BATCH_HEADER);
      }
    }
    this.dropUnit();
    return valid;
  }

  private closeUnitOrReject(truncated: boolean): void {
    if (!this.closeUnit(truncated) && !this.owner.matched) this.owner.reject();
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
    // A large text buffer is not worth keeping between messages.
    if (this.text && this.text.length > 65536) this.text = undefined;
  }

  /** Bytes that are not HL7: before a match the flow is rejected, after it the direction resyncs. */
  private malformed(): void {
    if (!this.owner.matched) {
      this.owner.reject();
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

export interface Hl7Options {
  /** Largest message followed before it is reported truncated (default 1 MiB, at least 64). */
  readonly maxMessageBytes?: number;
}

/** What the two directions of a flow share: the verdict and the event output. */
class FlowState implements Owner {
  verdict: Verdict = 'probing';
  readonly full: boolean;
  readonly udp: boolean;
  readonly maxMessageBytes: number;
  readonly readers: [DirectionReader, DirectionReader];
  /** Batch header events waiting for the first match. */
  private pending: Hl7MessageEvent[] = [];

  constructor(
    private readonly ctx: AnalyzerContext,
    options: Hl7Options,
  ) {
    this.full = ctx.evidence === 'full';
    this.udp = ctx.flow.transport === 'udp';
    const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxMessageBytes = Number.isFinite(max) ? Math.max(MIN_MESSAGE_BYTES, Math.floor(max)) : DEFAULT_MAX_MESSAGE_BYTES;
    this.readers = [new DirectionReader(this, 0), new DirectionReader(this, 1)];
  }

  get matched(): boolean {
    return this.verdict === 'match';
  }

  match(): void {
    if (this.verdict !== 'probing') return;
    this.verdict = 'match';
    const pending = this.pending;
    this.pending = [];
    for (const event of pending) this.ctx.emit(event);
  }

  reject(): void {
    this.verdict = 'reject';
    this.pending = [];
    this.readers[0].finish();
    this.readers[1].finish();
  }

  dropPending(): void {
    this.pending = [];
  }

  report(event: Hl7MessageEvent, batchHeader: boolean): void {
    if (this.matched) this.ctx.emit(event);
    else if (batchHeader && this.pending.length < MAX_PENDING) this.pending.push(event);
  }

  buildEvent(
    dir: Direction,
    framing: Framing,
    header: Hl7Header,
    segments: string[],
    identity: string[],
    length: number,
    truncated: boolean,
    text: Uint8Array | undefined,
  ): Hl7MessageEvent {
    const identifying = this.ctx.evidence !== 'none';
    return {
      proto: 'hl7',
      dir,
      type: 'hl7.message',
      framing,
      messageType: header.messageType,
      triggerEvent: header.triggerEvent,
      controlId: identifying ? header.controlId : '',
      version: header.version,
      sendingApplication: identifying ? header.sendingApplication : '',
      sendingFacility: identifying ? header.sendingFacility : '',
      segments,
      identitySegments: identity,
      length,
      ...(truncated ? { truncated: true as const } : {}),
      ...(this.full && text ? { phi: { text: Buffer.from(text.buffer, text.byteOffset, text.length).toString('utf8') } } : {}),
    };
  }
}

export class Hl7Analyzer implements Analyzer {
  private readonly flow: FlowState;

  constructor(ctx: AnalyzerContext, options: Hl7Options = {}) {
    this.flow = new FlowState(ctx, options);
  }

  get verdict(): Verdict {
    return this.flow.verdict;
  }

  /** Message bytes held now, both directions: header segments, or the message text in full mode. */
  get bufferedBytes(): number {
    return this.flow.readers[0].bufferedBytes + this.flow.readers[1].bufferedBytes;
  }

  data(dir: Direction, bytes: Uint8Array): void {
    if (this.flow.verdict === 'reject') return;
    this.flow.readers[dir === 1 ? 1 : 0].data(bytes);
  }

  gap(dir: Direction, _length: number): void {
    if (this.flow.verdict === 'reject') return;
    this.flow.readers[dir === 1 ? 1 : 0].gap();
  }

  end(): void {
    if (this.flow.verdict === 'reject') return;
    this.flow.readers[0].end();
    this.flow.readers[1].end();
    this.flow.dropPending();
  }
}

export function createHl7Factory(options: Hl7Options = {}): AnalyzerFactory {
  return {
    proto: 'hl7',
    transports: ['tcp', 'udp'],
    events: ['hl7.message'],
    mayAccept: mayStartHl7,
    create: (ctx) => new Hl7Analyzer(ctx, options),
  };
}

/** After any line ends, a unit starts with an MLLP frame or a segment id's first letter. */
function mayStartHl7(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === CR || c === LF) continue;
    return c === VT || c === 0x4d || c === 0x46 || c === 0x42; // 'M', 'F', 'B'
  }
  return true;
}

export const hl7Analyzer: AnalyzerFactory = createHl7Factory();
