/**
 * The Contec CMS8000 patient monitor's central-station stream (TCP 515, "rather than HL7").
 *
 * The stream is a run of blocks: u16le length (the two header bytes that follow plus the body),
 * the marker 0x05, a block type, then the body. A block occupies 2 + length bytes.
 *
 * Recognition: a direction must open with RUN_TO_MATCH consecutive well-formed blocks of known
 * types. A block is well-formed when its header is plausible (marker, a length inside its type's
 * bounds, never above MAX_BLOCK_LENGTH) and, for the bed and telemetry blocks, its fixed body head
 * holds (bed: 00 00 nn FF; telemetry: 00 00 lead 00 with lead 0x14..0x17). A block of a type no
 * known block has is followed by its length where the framing holds, and neither counts in nor
 * breaks the run; scanning for a header needs a known type. Before a match, the first byte that
 * cannot continue a header or a bad body head ends the direction: the client's rejects the flow,
 * the server's (a banner) only its own direction. After a match nothing rejects: a bad header is
 * counted and the reader scans byte by byte for the next plausible header.
 *
 * Mid-stream and gaps: a direction that began before the analyzer saw it (a gap of length 0 at the
 * start) scans for a header at any offset, as after a gap that crosses a block boundary; a block
 * cut by a gap still counts in the run as far as it was well-formed. The detection then says what
 * was incomplete (`gap`, `midstream`).
 *
 * Bounded state: per direction a 4-byte header, a 4-byte scan window and at most the first 0xAD
 * body bytes of a patient block (the decoded fields); all other body bytes are skipped unread.
 */
import type { Analyzer, AnalyzerContext, AnalyzerFactory, Direction, EvidenceMode, Verdict } from '../analyzer.js';
import { TO_CLIENT } from '../analyzer.js';
import type { Cms8000Incomplete, Cms8000PatientEvent } from './events.js';

export const CMS8000_BLOCK = {
  patient: 0x3e,
  empty: 0x43,
  bed: 0x45,
  telemetry: 0x46,
  sync: 0x47,
  error: 0x49,
} as const;

const BLOCK_MARKER = 0x05;
/** Longest length field accepted; u16 allows 64 KiB, but no known block comes near 16 KiB. */
export const MAX_BLOCK_LENGTH = 0x4000;
/** Fixed-offset fields of the patient block end at 0x8D + 32. */
export const PATIENT_BODY_LENGTH = 0xad;
const HEAD_LENGTH = 4;
const RUN_TO_MATCH = 3;
/** Before a match, resynchronising after capture gaps is allowed this often and this far. */
const MAX_GAPS_BEFORE_MATCH = 4;
const MAX_SCAN_BEFORE_MATCH = 4096;
/** Patient blocks held back while still probing; more without a match is not this protocol. */
const MAX_PENDING = 8;

/** Allowed length field per block type; 0 marks an unknown type. */
const MIN_LENGTH = new Uint16Array(256);
const MAX_LENGTH = new Uint16Array(256);
function allow(type: number, min: number, max: number): void {
  MIN_LENGTH[type] = min;
  MAX_LENGTH[type] = max;
}
allow(CMS8000_BLOCK.patient, 2 + PATIENT_BODY_LENGTH, MAX_BLOCK_LENGTH);
allow(CMS8000_BLOCK.empty, 2, 2);
allow(CMS8000_BLOCK.bed, 2 + HEAD_LENGTH, 2 + HEAD_LENGTH);
allow(CMS8000_BLOCK.telemetry, 2 + HEAD_LENGTH, MAX_BLOCK_LENGTH);
allow(CMS8000_BLOCK.sync, 2, 2);
allow(CMS8000_BLOCK.error, 2, MAX_BLOCK_LENGTH);

/**
 * Whether header byte `index` (the last one added) can continue a plausible header. A type no
 * known block has is plausible where the framing holds (the monitor's firmware may send blocks
 * nobody documented), with any length the framing allows; scanning for a header needs a known type.
 */
function headerByteOk(h: Uint8Array, index: number): boolean {
  switch (index) {
    case 0:
      return true;
    case 1: {
      const length = h[0] | (h[1] << 8);
      return length >= 2 && length <= MAX_BLOCK_LENGTH;
    }
    case 2:
      return h[2] === BLOCK_MARKER;
    default: {
      const length = h[0] | (h[1] << 8);
      const type = h[3];
      return MIN_LENGTH[type] === 0 || (length >= MIN_LENGTH[type] && length <= MAX_LENGTH[type]);
    }
  }
}

function knownType(type: number): boolean {
  return MIN_LENGTH[type] !== 0;
}

/** A header to resynchronise on: plausible, and of a known type. */
function plausibleHeader(h: Uint8Array): boolean {
  return headerByteOk(h, 1) && headerByteOk(h, 2) && knownType(h[3]) && headerByteOk(h, 3);
}

function bodyHeadOk(type: number, body: Uint8Array): boolean {
  if (body[0] !== 0 || body[1] !== 0) return false;
  if (type === CMS8000_BLOCK.bed) return body[3] === 0xff;
  return body[2] >= 0x14 && body[2] <= 0x17 && body[3] === 0;
}

function blockKey(type: number): string {
  return '0x' + type.toString(16).toUpperCase().padStart(2, '0');
}

/** NUL-terminated text inside a fixed-size field. */
function fieldText(b: Uint8Array, offset: number, size: number): string {
  let s = '';
  for (let i = offset; i < offset + size && b[i] !== 0; i++) s += String.fromCharCode(b[i]);
  return s.trim();
}

/** Year (5), month (3) and day (3) as NUL-padded ASCII, returned as YYYY-MM-DD. */
function fieldDate(b: Uint8Array, offset: number): string {
  const year = fieldText(b, offset, 5);
  const month = fieldText(b, offset + 5, 3);
  const day = fieldText(b, offset + 8, 3);
  if (year === '' && month === '' && day === '') return '';
  return `${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}`;
}

type PatientFields = NonNullable<Cms8000PatientEvent['phi']>;

export function decodePatient(body: Uint8Array): PatientFields {
  return {
    department: fieldText(body, 0x00, 32),
    bed: body[0x22],
    name: fieldText(body, 0x23, 32),
    patientNumber: fieldText(body, 0x43, 32),
    admitDate: fieldDate(body, 0x63),
    heightCm: body[0x74] | (body[0x75] << 8),
    weight: body[0x76] | (body[0x77] << 8),
    birthDate: fieldDate(body, 0x7c),
    bloodType: body[0x8c],
    doctor: fieldText(body, 0x8d, 32),
  };
}

const HEADER = 0;
const BODY = 1;
const SCAN = 2;
/** Before a match, the server's bytes proved not to be blocks: the direction is no longer read. */
const DONE = 3;

/** Block framing state of one direction. */
class BlockReader {
  phase = HEADER;
  readonly header = new Uint8Array(HEAD_LENGTH);
  headerFill = 0;
  type = 0;
  bodyLength = 0;
  bodyRead = 0;
  /** Leading body bytes kept for the checks or the patient fields. */
  keepLength = 0;
  keep: Uint8Array | undefined;
  /** Part of the kept bytes was lost to a gap: no checks, no fields. */
  damaged = false;
  badHead = false;
  /** Consecutive well-formed blocks. */
  run = 0;
  /** Set once this direction had to resynchronise; before a match it may then fail softly. */
  resynced = false;
  readonly window = new Uint8Array(HEAD_LENGTH);
  windowFill = 0;
  scanned = 0;
  /** The direction began before the analyzer saw it. */
  midstream = false;
}

/** Shared empty stand-in, never written to. */
const NO_COUNTS: Map<number, number> = new Map();

class Cms8000Analyzer implements Analyzer {
  verdict: Verdict = 'probing';
  private readonly readers: [BlockReader | undefined, BlockReader | undefined] = [undefined, undefined];
  /** Blocks read per type; made on the first block, as most flows never have one. */
  private counts: Map<number, number> = NO_COUNTS;
  private patientBlocks = 0;
  private malformedBlocks = 0;
  private skippedBytes = 0;
  private gapsBeforeMatch = 0;
  private detectedDir: Direction = 0;
  /** A capture gap was reported before the match. */
  private lostBeforeMatch = false;
  /** Patient events of blocks read before the match, emitted once it comes. */
  private pending: Cms8000PatientEvent[] = [];

  constructor(private readonly ctx: AnalyzerContext) {}

  private get rejected(): boolean {
    return this.verdict === 'reject';
  }

  private get evidence(): EvidenceMode {
    return this.ctx.evidence;
  }

  data(dir: Direction, bytes: Uint8Array): void {
    if (this.verdict === 'reject') return;
    const r = (this.readers[dir] ??= new BlockReader());
    const n = bytes.length;
    let i = 0;
    while (i < n && !this.rejected) {
      if (r.phase === HEADER) {
        const b = bytes[i++];
        r.header[r.headerFill] = b;
        if (!headerByteOk(r.header, r.headerFill++)) this.badHeader(r, dir);
        else if (r.headerFill === HEAD_LENGTH) this.startBody(r, dir);
      } else if (r.phase === DONE) {
        return;
      } else if (r.phase === BODY) {
        let take = Math.min(n - i, r.bodyLength - r.bodyRead);
        const keeping = !r.damaged && r.bodyRead < r.keepLength;
        if (keeping) {
          take = Math.min(take, r.keepLength - r.bodyRead);
          r.keep!.set(bytes.subarray(i, i + take), r.bodyRead);
        }
        r.bodyRead += take;
        i += take;
        if (keeping && r.bodyRead === r.keepLength && !this.bodyHeadHolds(r, dir)) continue;
        if (r.bodyRead === r.bodyLength) this.finishBlock(r, dir);
      } else {
        i = this.scan(r, dir, bytes, i);
      }
    }
  }

  /** `length` 0 at the start: the direction began before the analyzer saw it. */
  gap(dir: Direction, length: number): void {
    if (this.verdict === 'reject' || length < 0) return;
    const r = (this.readers[dir] ??= new BlockReader());
    if (r.phase === DONE) return;
    if (length === 0) {
      r.midstream = true;
      this.startScan(r);
      return;
    }
    if (this.verdict === 'probing') {
      this.lostBeforeMatch = true;
      if (++this.gapsBeforeMatch > MAX_GAPS_BEFORE_MATCH) {
        this.verdict = 'reject';
        return;
      }
    }
    if (r.phase === BODY && length <= r.bodyLength - r.bodyRead) {
      // The loss is inside this block: framing holds.
      if (r.bodyRead < r.keepLength) r.damaged = true;
      r.bodyRead += length;
      if (r.bodyRead === r.bodyLength) this.finishBlock(r, dir);
      return;
    }
    if (r.phase === BODY && !r.badHead && r.bodyRead >= Math.min(r.keepLength, HEAD_LENGTH)) {
      // The block was well-formed as far as it was seen: it still counts in the run.
      r.damaged = true;
      this.skippedBytes += r.bodyRead;
      this.finishBlock(r, dir);
      if (this.rejected) return;
    } else {
      this.skippedBytes += r.phase === HEADER ? r.headerFill : r.phase === SCAN ? r.windowFill : HEAD_LENGTH + r.bodyRead;
    }
    this.startScan(r);
  }

  end(): void {
    if (this.verdict !== 'match') return;
    if (this.evidence === 'none') {
      this.ctx.emit({ type: 'cms8000.summary', proto: 'cms8000', dir: this.detectedDir });
      return;
    }
    const blockCounts: Record<string, number> = {};
    for (const type of [...this.counts.keys()].sort((a, b) => a - b)) blockCounts[blockKey(type)] = this.counts.get(type)!;
    this.ctx.emit({
      type: 'cms8000.summary',
      proto: 'cms8000',
      dir: this.detectedDir,
      blockCounts,
      patientBlocks: this.patientBlocks,
      malformedBlocks: this.malformedBlocks,
      skippedBytes: this.skippedBytes,
    });
  }

  private startBody(r: BlockReader, dir: Direction): void {
    const h = r.header;
    r.type = h[3];
    r.bodyLength = (h[0] | (h[1] << 8)) - 2;
    r.bodyRead = 0;
    r.damaged = false;
    r.badHead = false;
    r.keepLength =
      r.type === CMS8000_BLOCK.patient
        ? PATIENT_BODY_LENGTH
        : r.type === CMS8000_BLOCK.bed || r.type === CMS8000_BLOCK.telemetry
          ? HEAD_LENGTH
          : 0;
    if (r.keepLength > 0) r.keep ??= new Uint8Array(PATIENT_BODY_LENGTH);
    r.phase = BODY;
    if (r.bodyLength === 0) this.finishBlock(r, dir);
  }

  /** Checks the fixed body head once kept; false when the block is abandoned (rejected or rescanning). */
  private bodyHeadHolds(r: BlockReader, dir: Direction): boolean {
    if (r.type !== CMS8000_BLOCK.bed && r.type !== CMS8000_BLOCK.telemetry) return true;
    if (bodyHeadOk(r.type, r.keep!)) return true;
    if (this.verdict === 'match') {
      // Framing still holds after a match: count the block as malformed and read on.
      r.badHead = true;
      return true;
    }
    if (!r.resynced) {
      this.notBlocks(r, dir);
      return false;
    }
    // A header found by scanning that turns out false: keep scanning from here.
    this.malformedBlocks++;
    this.skippedBytes += HEAD_LENGTH + r.bodyRead;
    this.startScan(r);
    return false;
  }

  private finishBlock(r: BlockReader, dir: Direction): void {
    const type = r.type;
    if (this.counts === NO_COUNTS) this.counts = new Map();
    this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
    if (r.badHead) this.malformedBlocks++;
    if (type === CMS8000_BLOCK.patient) {
      this.patientBlocks++;
      const event = this.patientEvent(r, dir);
      if (this.verdict === 'match') {
        this.ctx.emit(event);
      } else if (this.pending.push(event) > MAX_PENDING) {
        this.verdict = 'reject';
        return;
      }
    }
    // A block cut by a gap still held its framing; a block of an unknown type neither counts nor breaks the run.
    if (r.badHead) r.run = 0;
    else if (knownType(type)) r.run++;
    r.phase = HEADER;
    r.headerFill = 0;
    if (this.verdict === 'probing' && r.run >= RUN_TO_MATCH) this.match(dir);
  }

  private patientEvent(r: BlockReader, dir: Direction): Cms8000PatientEvent {
    if (this.evidence === 'none') return { type: 'cms8000.patient', proto: 'cms8000', dir };
    const event: Cms8000PatientEvent = { type: 'cms8000.patient', proto: 'cms8000', dir, length: r.bodyLength };
    if (this.evidence !== 'full' || r.damaged) return event;
    return { ...event, phi: decodePatient(r.keep!) };
  }

  private match(dir: Direction): void {
    this.verdict = 'match';
    this.detectedDir = dir;
    // The alert raised on detection carries the patient block already seen, in full mode.
    const patient = this.pending.findLast((e) => e.phi !== undefined)?.phi;
    const incomplete: Cms8000Incomplete[] = [];
    if (this.lostBeforeMatch) incomplete.push('gap');
    if (this.readers[0]?.midstream === true || this.readers[1]?.midstream === true) incomplete.push('midstream');
    this.ctx.emit(
      this.evidence === 'none'
        ? { type: 'cms8000.detected', proto: 'cms8000', dir }
        : {
            type: 'cms8000.detected',
            proto: 'cms8000',
            dir,
            blockTypes: [...this.counts.keys()].sort((a, b) => a - b),
            ...(incomplete.length > 0 ? { incomplete } : {}),
            ...(patient ? { phi: patient } : {}),
          },
    );
    for (const event of this.pending) this.ctx.emit(event);
    this.pending = [];
  }

  private badHeader(r: BlockReader, dir: Direction): void {
    if (this.verdict === 'probing' && !r.resynced) {
      this.notBlocks(r, dir);
      return;
    }
    this.malformedBlocks++;
    // The next header may begin inside the one that failed, but not at its first byte.
    const h = r.header;
    const fill = r.headerFill;
    this.startScan(r);
    for (let k = 1; k < fill; k++) this.pushWindow(r, h[k]);
    this.skippedBytes += 1;
  }

  /**
   * Before a match, a direction's bytes are not blocks. Each direction is judged on its own and
   * the client's decide: the server's failing (a banner) only ends the reading of the server's.
   */
  private notBlocks(r: BlockReader, dir: Direction): void {
    if (dir === TO_CLIENT) r.phase = DONE;
    else this.verdict = 'reject';
  }

  private startScan(r: BlockReader): void {
    r.phase = SCAN;
    r.windowFill = 0;
    r.run = 0;
    r.resynced = true;
  }

  private pushWindow(r: BlockReader, b: number): void {
    const w = r.window;
    if (r.windowFill < HEAD_LENGTH) {
      w[r.windowFill++] = b;
    } else {
      w[0] = w[1];
      w[1] = w[2];
      w[2] = w[3];
      w[3] = b;
    }
  }

  /** Slides a 4-byte window until it holds a plausible header; returns the next unread index. */
  private scan(r: BlockReader, dir: Direction, bytes: Uint8Array, i: number): number {
    const n = bytes.length;
    while (i < n) {
      this.pushWindow(r, bytes[i++]);
      if (r.windowFill === HEAD_LENGTH && plausibleHeader(r.window)) {
        // The 4 window bytes become the header; only what slid out of the window was skipped.
        r.header.set(r.window);
        r.headerFill = HEAD_LENGTH;
        this.startBody(r, dir);
        return i;
      }
      if (r.windowFill === HEAD_LENGTH) this.skippedBytes++;
      if (this.verdict === 'probing' && ++r.scanned > MAX_SCAN_BEFORE_MATCH) {
        this.notBlocks(r, dir);
        return n;
      }
    }
    return i;
  }
}

export const cms8000Analyzer: AnalyzerFactory = {
  proto: 'cms8000',
  transports: ['tcp'],
  events: ['cms8000.detected', 'cms8000.patient', 'cms8000.summary'],
  // A block header opens the stream; its first bad byte rejects the flow.
  // Picked up mid-stream: a block header of a known type somewhere in the bytes.
  mayAccept: (bytes, _transport, midstream) => {
    if (midstream === true) {
      for (let i = 0; i + HEAD_LENGTH <= bytes.length; i++) if (bytes[i + 2] === BLOCK_MARKER && plausibleHeader(bytes.subarray(i, i + HEAD_LENGTH))) return true;
      return false;
    }
    for (let k = 0; k < Math.min(bytes.length, HEAD_LENGTH); k++) if (!headerByteOk(bytes, k)) return false;
    return true;
  },
  create: (ctx) => new Cms8000Analyzer(ctx),
};
