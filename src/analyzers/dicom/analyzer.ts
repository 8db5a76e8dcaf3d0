/**
 * The DICOM upper layer protocol (PS3.8) over TCP, on any port: 104 and 11112 are only usual.
 *
 * Recognition, from the content alone: the flow's first bytes (either direction) must open a
 * PDU that can start a DICOM flow (see openingByteOk: an A-ASSOCIATE-RQ, or for a flow seen
 * mid-stream an A-ASSOCIATE-AC or a P-DATA-TF); the first glance applies the same test. A
 * direction then proves DICOM with a sound A-ASSOCIATE-RQ or -AC (fixed fields, printable AE
 * titles, the application context item first) or, the weaker case, RUN_TO_MATCH sound PDUs in a
 * row. Before the match each direction has its own state: a direction whose bytes turn out not
 * to be DICOM is set aside and the other is still read; the flow is rejected when the client's
 * bytes fail or both directions' have. After the match nothing rejects: a broken header is
 * counted as an anomaly and the reader scans for the next plausible one.
 *
 * Bounded state per direction: a 6-byte header, a 6-byte PDV header, and the body of an
 * association PDU up to ASSOCIATE_KEEP bytes (a bigger one is read that far and reported
 * truncated). P-DATA-TF bodies are never kept: PDV headers are read, fragments skipped by count.
 * Dataset contents are never parsed.
 */
import type { Analyzer, AnalyzerContext, AnalyzerFactory, Direction, Verdict } from '../analyzer.js';
import { TO_CLIENT, TO_SERVER } from '../analyzer.js';
import type { DicomAcceptedEvent, DicomAssociationEvent, DicomEvent, DicomVolume } from './events.js';
import {
  checkHeader,
  CONTEXT_ACCEPTED,
  OPENING_LENGTH,
  openingByteOk,
  parseAbort,
  parseAssociate,
  parseReject,
  PDU,
  PDU_HEADER_LENGTH,
  PDV_HEADER_LENGTH,
  SHORT_PDU_LENGTH,
  u32,
  type AssociateParse,
} from './pdu.js';
import { uidName } from './uids.js';

/** Bytes of an A-ASSOCIATE-RQ/AC kept for parsing; items past this are reported truncated. */
export const ASSOCIATE_KEEP = 64 * 1024;
/** Sound PDUs in a row that identify DICOM without an association PDU (a flow seen mid-stream). */
const RUN_TO_MATCH = 2;
/** After a gap or a broken header, how far a direction is scanned for a header before it is given up. */
const MAX_SCAN = 4 << 20;
const FIRST_BUFFER = 512;

/** Anomalies the analyzer counts, as `dicom.<name>`. */
export const DICOM_ANOMALIES = [
  'unknown_pdu_type',
  'bad_reserved',
  'pdu_too_short',
  'pdu_length_too_large',
  'bad_item_length',
  'bad_pdv_length',
  'associate_pdu_truncated',
  'malformed_associate',
  'truncated_pdu',
  'resync_failed',
] as const;
type Anomaly = (typeof DICOM_ANOMALIES)[number];

const enum Phase {
  Header,
  /** Keeping the body of an association (or other short) PDU. */
  Body,
  PdvHead,
  PdvBody,
  /** Passing over the rest of a PDU unread. */
  Skip,
  Scan,
  /** This direction is not read any more. */
  Stopped,
}

class Reader {
  phase = Phase.Header;
  readonly header = new Uint8Array(PDU_HEADER_LENGTH);
  headerFill = 0;
  type = 0;
  length = 0;
  /** Body bytes of the current PDU still to come. */
  remaining = 0;
  body: Uint8Array | undefined;
  bodyFill = 0;
  keep = 0;
  readonly pdv = new Uint8Array(PDV_HEADER_LENGTH);
  pdvFill = 0;
  pdvRemaining = 0;
  /** The current PDU is well-formed so far. */
  sound = true;
  /** Part of the current PDU was lost to a capture gap. */
  damaged = false;
  /** The current header was found by scanning: it may be a false one. */
  resynced = false;
  run = 0;
  scanned = 0;
  /** The flow's first bytes, judged as an opening; only for the direction that spoke first. */
  opening: Uint8Array | undefined;
  openingFill = 0;
  /** Before a match: these bytes are not DICOM. */
  failed = false;
  pdus = 0;
  bytes = 0;
  pdvs = 0;
  commands = 0;
  datasets = 0;
}

/**
 * The 4-byte body of an A-ASSOCIATE-RJ, A-RELEASE-RQ/RP or A-ABORT: reserved bytes zero, codes
 * in range. Peers send them so; it keeps dataset bytes from passing for one after a resync.
 */
function shortPduOk(type: number, b: Uint8Array): boolean {
  switch (type) {
    case PDU.associateRj:
      return b[0] === 0 && b[1] >= 1 && b[1] <= 2 && b[2] >= 1 && b[2] <= 3;
    case PDU.abort:
      return b[0] === 0 && b[1] === 0 && b[2] <= 2 && b[3] <= 6;
    default:
      return b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0;
  }
}

function distinct(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

function volume(r: Reader | undefined): DicomVolume {
  if (r === undefined) return { pdus: 0, bytes: 0, pdvs: 0, commandFragments: 0, datasetFragments: 0 };
  return { pdus: r.pdus, bytes: r.bytes, pdvs: r.pdvs, commandFragments: r.commands, datasetFragments: r.datasets };
}

class DicomAnalyzer implements Analyzer {
  verdict: Verdict = 'probing';
  private readonly readers: [Reader | undefined, Reader | undefined] = [undefined, undefined];
  private started = false;
  private associations = 0;
  /** Abstract syntax UID by presentation context id, from the last A-ASSOCIATE-RQ. */
  private proposed: Map<number, string> | null = null;

  constructor(private readonly ctx: AnalyzerContext) {}

  private get rejected(): boolean {
    return this.verdict === 'reject';
  }

  /** Bytes held across calls by both directions (at most ASSOCIATE_KEEP each). */
  get bufferedBytes(): number {
    let n = 0;
    for (const r of this.readers) if (r !== undefined) n += r.body?.length ?? 0;
    return n;
  }

  data(dir: Direction, bytes: Uint8Array): void {
    if (this.verdict === 'reject') return;
    const r = (this.readers[dir] ??= new Reader());
    if (r.failed || r.phase === Phase.Stopped) return;
    if (!this.started) {
      this.started = true;
      r.opening = new Uint8Array(OPENING_LENGTH);
    }
    if (r.opening !== undefined && !this.openingHolds(r, bytes)) {
      this.verdict = 'reject';
      return;
    }
    const n = bytes.length;
    let i = 0;
    while (i < n && !this.rejected && !r.failed) {
      switch (r.phase) {
        case Phase.Header:
          r.header[r.headerFill++] = bytes[i++];
          if (r.headerFill === PDU_HEADER_LENGTH) this.startPdu(r, dir);
          break;
        case Phase.Body: {
          const take = Math.min(n - i, r.remaining);
          const kept = Math.min(take, r.keep - r.bodyFill);
          if (kept > 0) {
            this.reserve(r, r.bodyFill + kept);
            r.body!.set(bytes.subarray(i, i + kept), r.bodyFill);
            r.bodyFill += kept;
          }
          r.remaining -= take;
          i += take;
          if (r.remaining === 0) this.finishPdu(r, dir);
          break;
        }
        case Phase.PdvHead:
          if (r.pdvFill === 0 && r.remaining < PDV_HEADER_LENGTH) {
            this.badPdv(r, dir);
            break;
          }
          r.pdv[r.pdvFill++] = bytes[i++];
          r.remaining--;
          r.bytes++;
          if (r.pdvFill === PDV_HEADER_LENGTH) this.startPdv(r, dir);
          break;
        case Phase.PdvBody: {
          const take = Math.min(n - i, r.pdvRemaining);
          r.pdvRemaining -= take;
          r.remaining -= take;
          r.bytes += take;
          i += take;
          if (r.pdvRemaining === 0) this.pdvDone(r, dir);
          break;
        }
        case Phase.Skip: {
          const take = Math.min(n - i, r.remaining);
          r.remaining -= take;
          if (r.type === PDU.pData) r.bytes += take;
          i += take;
          if (r.remaining === 0) this.finishPdu(r, dir);
          break;
        }
        case Phase.Scan:
          i = this.scan(r, dir, bytes, i);
          break;
        default:
          return;
      }
    }
  }

  gap(dir: Direction, length: number): void {
    if (this.verdict === 'reject' || length <= 0) return;
    const r = (this.readers[dir] ??= new Reader());
    if (r.failed || r.phase === Phase.Stopped) return;
    if (this.verdict === 'probing') {
      // Nothing left to identify this direction by.
      this.fail(r, dir);
      return;
    }
    if (r.phase === Phase.PdvBody && length <= r.pdvRemaining) {
      r.pdvRemaining -= length;
      r.remaining -= length;
      if (r.pdvRemaining === 0) this.pdvDone(r, dir);
    } else if ((r.phase === Phase.Body || r.phase === Phase.PdvHead || r.phase === Phase.PdvBody || r.phase === Phase.Skip) && length <= r.remaining) {
      // The loss is inside this PDU: PDU framing holds, what is inside it does not.
      r.remaining -= length;
      r.damaged = true;
      r.phase = Phase.Skip;
      if (r.remaining === 0) this.finishPdu(r, dir);
    } else {
      this.startScan(r);
    }
  }

  end(): void {
    if (this.verdict === 'reject') return;
    for (const dir of [TO_SERVER, TO_CLIENT] as const) {
      const r = this.readers[dir];
      if (r === undefined || r.failed || r.phase === Phase.Stopped || r.phase === Phase.Scan) continue;
      if (r.phase === Phase.Header && r.headerFill === 0) continue;
      // Cut short by the end of the flow: an association PDU is still worth reporting.
      if (r.phase === Phase.Body && !r.damaged && (r.type === PDU.associateRq || r.type === PDU.associateAc)) this.associatePdu(r, dir);
      if (this.verdict === 'match') this.anomaly('truncated_pdu');
    }
    if (this.verdict !== 'match') {
      this.verdict = 'reject';
      return;
    }
    if (this.ctx.evidence === 'none') {
      this.emit({ type: 'dicom.summary', proto: 'dicom', dir: TO_SERVER });
      return;
    }
    this.emit({
      type: 'dicom.summary',
      proto: 'dicom',
      dir: TO_SERVER,
      associations: this.associations,
      toServer: volume(this.readers[TO_SERVER]),
      toClient: volume(this.readers[TO_CLIENT]),
    });
  }

  /** Judges the flow's first OPENING_LENGTH bytes as they come; false when they cannot open DICOM. */
  private openingHolds(r: Reader, bytes: Uint8Array): boolean {
    const h = r.opening!;
    for (let k = 0; k < bytes.length && r.openingFill < OPENING_LENGTH; k++) {
      h[r.openingFill] = bytes[k];
      if (!openingByteOk(h, r.openingFill++)) return false;
    }
    if (r.openingFill === OPENING_LENGTH) r.opening = undefined;
    return true;
  }

  private startPdu(r: Reader, dir: Direction): void {
    const h = r.header;
    const type = h[0];
    const length = u32(h, 2);
    const problem = checkHeader(type, h[1], length);
    r.headerFill = 0;
    if (problem !== 'ok' && problem !== 'pdu_too_short') {
      this.lostFraming(r, dir, problem);
      return;
    }
    r.type = type;
    r.length = length;
    r.remaining = length;
    r.damaged = false;
    r.sound = problem === 'ok';
    if (!r.sound) {
      // The length still says where the next PDU starts; the fixed fields are not all there.
      if (!this.malformed(r, dir, 'pdu_too_short')) return;
      r.phase = Phase.Skip;
      if (r.remaining === 0) this.finishPdu(r, dir);
      return;
    }
    if (type === PDU.pData) {
      r.pdus++;
      r.bytes += PDU_HEADER_LENGTH;
      r.pdvFill = 0;
      r.phase = Phase.PdvHead;
      return;
    }
    r.keep = Math.min(length, ASSOCIATE_KEEP);
    r.bodyFill = 0;
    r.phase = Phase.Body;
  }

  private reserve(r: Reader, size: number): void {
    if (r.body !== undefined && r.body.length >= size) return;
    let capacity = r.body?.length ?? FIRST_BUFFER;
    while (capacity < size) capacity *= 2;
    const grown = new Uint8Array(Math.min(capacity, ASSOCIATE_KEEP));
    if (r.body !== undefined) grown.set(r.body.subarray(0, r.bodyFill));
    r.body = grown;
  }

  private startPdv(r: Reader, dir: Direction): void {
    const length = u32(r.pdv, 0);
    const contextId = r.pdv[4];
    const control = r.pdv[5];
    r.pdvFill = 0;
    // The item length counts the context id and control header, and the PDV must fit the PDU.
    if (length < 2 || length - 2 > r.remaining) {
      this.badPdv(r, dir);
      return;
    }
    r.pdvs++;
    if ((control & 1) === 1) r.commands++;
    else r.datasets++;
    // Context ids are odd; the control header uses bits 0 and 1 only.
    if ((contextId & 1) === 0 || control > 3) {
      if (r.resynced) {
        this.startScan(r);
        return;
      }
      r.sound = false;
    }
    r.pdvRemaining = length - 2;
    if (r.pdvRemaining === 0) this.pdvDone(r, dir);
    else r.phase = Phase.PdvBody;
  }

  private pdvDone(r: Reader, dir: Direction): void {
    if (r.remaining === 0) this.finishPdu(r, dir);
    else r.phase = Phase.PdvHead;
  }

  /** A PDV length that does not fit its PDU: the PDU is still framed, its PDVs are not. */
  private badPdv(r: Reader, dir: Direction): void {
    if (r.resynced) {
      // The header found by scanning was a false one.
      this.startScan(r);
      return;
    }
    r.sound = false;
    if (!this.malformed(r, dir, 'bad_pdv_length')) return;
    r.phase = Phase.Skip;
    if (r.remaining === 0) this.finishPdu(r, dir);
  }

  private finishPdu(r: Reader, dir: Direction): void {
    r.phase = Phase.Header;
    r.headerFill = 0;
    const type = r.type;
    if (r.damaged) {
      r.run = 0;
      return;
    }
    const associate = type === PDU.associateRq || type === PDU.associateAc;
    if (associate && r.sound) {
      this.associatePdu(r, dir);
      return;
    }
    if (type !== PDU.pData && !associate && !(r.length === SHORT_PDU_LENGTH && shortPduOk(type, r.body!))) r.sound = false;
    if (!r.sound) {
      if (this.verdict === 'probing') this.fail(r, dir);
      else if (r.resynced) this.startScan(r);
      r.run = 0;
      return;
    }
    r.resynced = false;
    r.run++;
    if (this.verdict === 'probing' && r.run >= RUN_TO_MATCH) this.match();
    if (this.verdict !== 'match') return;
    const body = r.body;
    switch (type) {
      case PDU.associateRj: {
        const rejection = parseReject(body!);
        this.emit({ type: 'dicom.rejected', proto: 'dicom', dir, result: rejection.result, source: rejection.source, reason: rejection.reason });
        break;
      }
      case PDU.releaseRq:
      case PDU.releaseRp:
        this.emit({ type: 'dicom.release', proto: 'dicom', dir, phase: type === PDU.releaseRq ? 'request' : 'reply' });
        break;
      case PDU.abort: {
        const abort = parseAbort(body!);
        this.emit(abort.reason === null ? { type: 'dicom.abort', proto: 'dicom', dir, source: abort.source } : { type: 'dicom.abort', proto: 'dicom', dir, source: abort.source, reason: abort.reason });
        break;
      }
    }
  }

  /** A complete (or, at the end of the flow, cut) A-ASSOCIATE-RQ or -AC. */
  private associatePdu(r: Reader, dir: Direction): void {
    const rq = r.type === PDU.associateRq;
    const parse = parseAssociate(r.type, r.body === undefined ? new Uint8Array(0) : r.body.subarray(0, r.bodyFill), r.length);
    const sound = parse.sound && parse.startsWithApplicationContext;
    if (!sound) {
      r.run = 0;
      if (this.verdict === 'probing') {
        this.fail(r, dir);
        return;
      }
      if (r.resynced) {
        this.startScan(r);
        return;
      }
      this.anomaly('malformed_associate');
    }
    r.resynced = false;
    r.run++;
    this.match();
    if (parse.badItemLength) this.anomaly('bad_item_length');
    if (r.length > r.keep) this.anomaly('associate_pdu_truncated');
    if (rq) this.associationRequest(parse, dir);
    else this.associationAccept(parse, dir);
  }

  private associationRequest(parse: AssociateParse, dir: Direction): void {
    this.associations++;
    const proposed = new Map<number, string>();
    for (const c of parse.contexts) if (c.abstractSyntax !== null) proposed.set(c.id, c.abstractSyntax);
    this.proposed = proposed;
    const uids = distinct(parse.contexts.flatMap((c) => c.abstractSyntax ?? []));
    const base = {
      type: 'dicom.association' as const,
      proto: 'dicom' as const,
      dir,
      abstractSyntaxes: uids.map(uidName),
      abstractSyntaxUids: uids,
      transferSyntaxes: distinct(parse.contexts.flatMap((c) => c.transferSyntaxes).map(uidName)),
      ...(parse.maxPduLength !== null && { maxPduLength: parse.maxPduLength }),
      ...(parse.truncated && { truncated: true as const }),
    };
    this.emitWithTitles(base, parse, parse.applicationContext === null ? {} : { applicationContext: uidName(parse.applicationContext) });
  }

  private associationAccept(parse: AssociateParse, dir: Direction): void {
    const accepted = parse.contexts.filter((c) => c.result === CONTEXT_ACCEPTED);
    const uids = distinct(accepted.flatMap((c) => this.proposed?.get(c.id) ?? []));
    const base = {
      type: 'dicom.accepted' as const,
      proto: 'dicom' as const,
      dir,
      abstractSyntaxes: uids.map(uidName),
      abstractSyntaxUids: uids,
      transferSyntaxes: distinct(accepted.flatMap((c) => c.transferSyntaxes).map(uidName)),
      acceptedContexts: accepted.length,
      rejectedContexts: parse.contexts.length - accepted.length,
      ...(parse.maxPduLength !== null && { maxPduLength: parse.maxPduLength }),
      ...(parse.truncated && { truncated: true as const }),
    };
    this.emitWithTitles(base, parse);
  }

  /**
   * Something the protocol forbids in a PDU that is still framed. Before a match it shows the
   * direction is not DICOM (false: stop reading it); after, it is counted.
   */
  private malformed(r: Reader, dir: Direction, anomaly: Anomaly): boolean {
    if (this.verdict === 'probing') {
      this.fail(r, dir);
      return false;
    }
    this.anomaly(anomaly);
    return true;
  }

  /** A header that cannot frame a PDU. */
  private lostFraming(r: Reader, dir: Direction, problem: Anomaly): void {
    if (this.verdict === 'probing') {
      this.fail(r, dir);
      return;
    }
    if (!r.resynced) this.anomaly(problem);
    this.startScan(r);
    // The next header may begin inside this one, but not at its first byte.
    r.header.copyWithin(0, 1);
    r.headerFill = PDU_HEADER_LENGTH - 1;
  }

  /** The flow speaks DICOM: a direction set aside before is read again from its next header. */
  private match(): void {
    if (this.verdict === 'match') return;
    this.verdict = 'match';
    for (const r of this.readers) {
      if (r === undefined || !r.failed) continue;
      r.failed = false;
      this.startScan(r);
    }
  }

  /** Before a match: this direction is not DICOM. The client's bytes decide; the server's alone do not. */
  private fail(r: Reader, dir: Direction): void {
    r.failed = true;
    r.phase = Phase.Stopped;
    r.body = undefined;
    const other = this.readers[dir === TO_SERVER ? TO_CLIENT : TO_SERVER];
    if (dir === TO_SERVER || other?.failed === true) this.verdict = 'reject';
  }

  private startScan(r: Reader): void {
    r.phase = Phase.Scan;
    r.headerFill = 0;
    r.scanned = 0;
    r.run = 0;
    r.resynced = true;
    r.body = undefined;
  }

  /** Slides a 6-byte window until it holds a header that frames a PDU; returns the next unread index. */
  private scan(r: Reader, dir: Direction, bytes: Uint8Array, i: number): number {
    const h = r.header;
    const n = bytes.length;
    while (i < n) {
      if (r.headerFill === PDU_HEADER_LENGTH) {
        h.copyWithin(0, 1);
        r.headerFill--;
      }
      h[r.headerFill++] = bytes[i++];
      if (r.headerFill === PDU_HEADER_LENGTH && checkHeader(h[0], h[1], u32(h, 2)) === 'ok') {
        this.startPdu(r, dir);
        return i;
      }
      if (++r.scanned > MAX_SCAN) {
        this.anomaly('resync_failed');
        r.phase = Phase.Stopped;
        return n;
      }
    }
    return i;
  }

  private anomaly(name: Anomaly): void {
    this.ctx.anomaly(`dicom.${name}`);
  }

  private emit(event: DicomEvent): void {
    this.ctx.emit(event);
  }

  /** An association event with the AE titles, implementation names and `details`, unless the evidence mode is `none`. */
  private emitWithTitles(base: DicomAssociationEvent | DicomAcceptedEvent, parse: AssociateParse, details: Partial<DicomAssociationEvent> = {}): void {
    if (this.ctx.evidence === 'none') {
      this.emit(base);
      return;
    }
    this.emit({
      ...base,
      calledAeTitle: parse.calledAeTitle,
      callingAeTitle: parse.callingAeTitle,
      ...(parse.implementationClassUid !== null && { implementationClassUid: parse.implementationClassUid }),
      ...(parse.implementationVersion !== null && { implementationVersion: parse.implementationVersion }),
      ...details,
    });
  }
}

/** A glance at a flow's first payload: the same test the analyzer applies to the flow's first bytes. */
export function mayOpenDicom(bytes: Uint8Array, transport: 'tcp' | 'udp'): boolean {
  if (transport !== 'tcp') return false;
  const n = Math.min(bytes.length, OPENING_LENGTH);
  for (let k = 0; k < n; k++) if (!openingByteOk(bytes, k)) return false;
  return true;
}

export const DICOM_EVENT_TYPES = ['dicom.association', 'dicom.accepted', 'dicom.rejected', 'dicom.release', 'dicom.abort', 'dicom.summary'] as const;

export function createDicomAnalyzer(ctx: AnalyzerContext): DicomAnalyzer {
  return new DicomAnalyzer(ctx);
}

export type { DicomAnalyzer };

// 'dicom' and its event types join AppProto and AppEvent when the protocol registry lists this descriptor.
export const dicomAnalyzer = {
  proto: 'dicom',
  transports: ['tcp'],
  events: DICOM_EVENT_TYPES,
  mayAccept: mayOpenDicom,
  create: createDicomAnalyzer,
} as unknown as AnalyzerFactory;
