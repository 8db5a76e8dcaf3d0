/** The HL7 v2 analyzer: both directions of a flow read by framing.ts, sharing one verdict. */
import type { Analyzer, AnalyzerContext, AnalyzerFactory, Direction, Verdict } from '../analyzer.js';
import type { Hl7Incomplete, Hl7MessageEvent } from './events.js';
import { TO_CLIENT } from '../analyzer.js';
import { DirectionReader, type Framing, type Owner } from './framing.js';
import { CR, DEFAULT_MAX_MESSAGE_BYTES, LF, MAX_PENDING, MIN_MESSAGE_BYTES, VT, type Hl7Header } from './header.js';

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

  /**
   * Each direction is judged on its own, and the client's bytes decide: the server's failing
   * (a banner before the client's first message) ends only the server's direction.
   */
  reject(dir: Direction): void {
    if (dir === TO_CLIENT) {
      this.readers[1].finish();
      return;
    }
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
    incomplete: Hl7Incomplete[],
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
      ...(incomplete.length > 0 ? { incomplete } : {}),
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

  gap(dir: Direction, length: number): void {
    if (this.flow.verdict === 'reject') return;
    this.flow.readers[dir === 1 ? 1 : 0].gap(length);
  }

  end(): void {
    if (this.flow.verdict === 'reject') return;
    this.flow.readers[0].end();
    this.flow.readers[1].end();
    this.flow.dropPending();
  }
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

/** Picked up mid-stream: a message may start here, at an MLLP start or a segment start before MSH. */
function mayHoldHl7Start(bytes: Uint8Array): boolean {
  for (let i = bytes.indexOf(0x4d); i >= 0; i = bytes.indexOf(0x4d, i + 1)) {
    if (bytes[i + 1] !== 0x53 || bytes[i + 2] !== 0x48) continue;
    const before = i === 0 ? CR : bytes[i - 1];
    if (before === VT || before === CR || before === LF) return true;
  }
  return false;
}

export const hl7Analyzer: AnalyzerFactory = {
  proto: 'hl7',
  transports: ['tcp', 'udp'],
  events: ['hl7.message'],
  mayAccept: (bytes, _transport, midstream) => (midstream === true ? mayHoldHl7Start(bytes) : mayStartHl7(bytes)),
  create: (ctx) => new Hl7Analyzer(ctx),
};
