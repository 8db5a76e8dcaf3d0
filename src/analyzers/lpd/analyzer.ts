/**
 * The line printer daemon protocol (RFC 1179).
 *
 * The client opens with one daemon command line: a code 0x01..0x05, a queue name of printable
 * non-space ASCII, operands of printable ASCII after a space, and LF within MAX_LINE bytes. The
 * flow matches when that line is complete. Within a receive-job (0x02) the client sends
 * subcommands: 0x01 LF (abort), or 0x02/0x03 count SP name LF followed by `count` file bytes and a
 * 0x00; file bytes are skipped by count, never kept. A data file announced with count 0 runs to
 * the end of the connection (RFC 1179 6.3). The server answers with single status octets; its
 * bytes are not needed to follow the client and are not parsed.
 *
 * Not LPD: the first client byte that cannot continue the first line proves it, as does a server
 * that speaks before the client. One `lpd.not_lpd` event then says whether the client's first
 * SAMPLE_LENGTH bytes look like text or binary (the server's, when the client never spoke: a
 * banner says nothing of what the client sends after it); the verdict turns to 'reject' once that
 * sample is complete (or at a gap in the client's bytes, at the end, or once a server that spoke
 * first has sent SERVER_FIRST_LIMIT bytes to a silent client), so the event is the same however
 * the stream was split. A flow picked up mid-stream, or whose opening a gap hid, proves
 * nothing: the opening line went by unseen, and a print job's file bytes can be anything.
 */
import type { Analyzer, AnalyzerContext, AnalyzerFactory, Direction, Verdict } from '../analyzer.js';
import { TO_CLIENT, TO_SERVER } from '../analyzer.js';
import type { LpdCommandEvent } from './events.js';

export const MAX_LINE = 1024;
const FIRST_LINE_BUFFER = 128;
const SAMPLE_LENGTH = 32;
/** A server that spoke first and keeps talking to a silent client is judged on its own bytes past this. */
const SERVER_FIRST_LIMIT = 4096;
/** Share of printable bytes (including TAB, CR, LF) from which a sample counts as text. */
const TEXT_RATIO = 0.8;
const MAX_COUNT_DIGITS = 15;

const LF = 0x0a;
const SP = 0x20;

const DAEMON_COMMANDS = ['', 'print-jobs', 'receive-job', 'queue-state-short', 'queue-state-long', 'remove-jobs'];
const JOB_SUBCOMMANDS = ['', 'abort-job', 'receive-control-file', 'receive-data-file'];
const RECEIVE_JOB = 0x02;
const ABORT_JOB = 0x01;
const DATA_FILE = 0x03;

function isNameByte(b: number): boolean {
  return b > SP && b < 0x7f;
}

function isOperandByte(b: number): boolean {
  return (b >= SP && b < 0x7f) || b === 0x09 || b === 0x0d;
}

function isTextByte(b: number): boolean {
  return (b >= SP && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** What the client stream is expected to carry next. */
const enum Expect {
  DaemonLine,
  SubcommandLine,
  FileBytes,
  FileEnd,
  ToEnd,
  /** Lost track (malformed after the match, or a gap): stop reading. */
  Lost,
}

class LpdAnalyzer implements Analyzer {
  verdict: Verdict = 'probing';
  private state = Expect.DaemonLine;
  /** The current line: code byte, then queue name or count, then the rest. */
  private line: Uint8Array | undefined;
  private lineLength = 0;
  /** End of the queue name (or count) field in `line`; 0 while still inside it. */
  private firstFieldEnd = 0;
  private count = 0;
  private fileRemaining = 0;
  private jobQueue = '';

  /** First bytes of each direction (by Direction): how many were sampled, how many printable. */
  private readonly sampled = [0, 0];
  private readonly samplePrintable = [0, 0];
  private clientSpoke = false;
  private serverFirstBytes = 0;
  private notLpd = false;

  constructor(private readonly ctx: AnalyzerContext) {}

  data(dir: Direction, bytes: Uint8Array): void {
    if (this.verdict === 'reject') return;
    if (this.verdict === 'match') {
      if (dir === TO_SERVER) this.readClient(bytes);
      return;
    }
    this.addToSample(dir, bytes);
    if (dir === TO_SERVER) {
      this.clientSpoke = true;
      if (!this.notLpd) this.readClient(bytes);
    } else if (!this.clientSpoke) {
      // An LPD server never speaks first; its bytes after the client's are not needed.
      this.notLpd = true;
      this.serverFirstBytes += bytes.length;
      if (this.serverFirstBytes > SERVER_FIRST_LIMIT) this.reject();
    }
    if (this.verdict === 'probing' && this.notLpd && this.sampled[TO_SERVER] >= SAMPLE_LENGTH) this.reject();
  }

  gap(dir: Direction, length: number): void {
    if (this.verdict === 'reject' || length < 0) return;
    if (this.verdict === 'probing') {
      // The client's opening (or what followed it) went by unseen; the server's bytes are not needed.
      if (dir === TO_SERVER || length === 0) this.reject();
      return;
    }
    if (dir !== TO_SERVER) return;
    if (this.state === Expect.FileBytes && length < this.fileRemaining) {
      this.fileRemaining -= length;
    } else if (this.state === Expect.FileBytes && length === this.fileRemaining + 1) {
      // The terminating 0x00 went with the gap.
      this.state = Expect.SubcommandLine;
    } else if (this.state === Expect.FileBytes && length === this.fileRemaining) {
      this.state = Expect.FileEnd;
    } else if (this.state !== Expect.ToEnd) {
      this.state = Expect.Lost;
    }
  }

  end(): void {
    if (this.verdict === 'probing' && this.notLpd) this.reject();
  }

  private addToSample(dir: Direction, bytes: Uint8Array): void {
    const take = Math.min(bytes.length, SAMPLE_LENGTH - this.sampled[dir]);
    let printable = 0;
    for (let i = 0; i < take; i++) if (isTextByte(bytes[i])) printable++;
    this.samplePrintable[dir] += printable;
    this.sampled[dir] += take;
  }

  /**
   * Rejects, with one `lpd.not_lpd` event when the bytes proved it (not when a gap hid them): the
   * client's sample describes the flow, or the server's when the client sent nothing.
   */
  private reject(): void {
    this.verdict = 'reject';
    if (!this.notLpd) return;
    const dir = this.sampled[TO_SERVER] > 0 ? TO_SERVER : TO_CLIENT;
    const sampled = this.sampled[dir];
    if (sampled === 0) return;
    const looksLike = this.samplePrintable[dir] >= sampled * TEXT_RATIO ? 'text' : 'binary';
    this.ctx.emit({ type: 'lpd.not_lpd', proto: 'lpd', dir, looksLike });
  }

  private readClient(bytes: Uint8Array): void {
    const n = bytes.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case Expect.DaemonLine:
        case Expect.SubcommandLine: {
          const b = bytes[i++];
          if (!this.lineByte(b)) {
            if (this.verdict === 'probing') {
              this.notLpd = true;
              return;
            }
            this.state = Expect.Lost;
          }
          break;
        }
        case Expect.FileBytes: {
          const take = Math.min(n - i, this.fileRemaining);
          this.fileRemaining -= take;
          i += take;
          if (this.fileRemaining === 0) this.state = Expect.FileEnd;
          break;
        }
        case Expect.FileEnd:
          this.state = bytes[i++] === 0 ? Expect.SubcommandLine : Expect.Lost;
          break;
        default:
          return;
      }
    }
  }

  /** Adds one byte to the current line; false when the line cannot be what the state expects. */
  private lineByte(b: number): boolean {
    const pos = this.lineLength;
    if (pos >= MAX_LINE) return false;
    const subcommand = this.state === Expect.SubcommandLine;
    if (pos === 0) {
      if (b < 1 || b > (subcommand ? DATA_FILE : DAEMON_COMMANDS.length - 1)) return false;
      this.line ??= new Uint8Array(FIRST_LINE_BUFFER);
      this.firstFieldEnd = 0;
      this.count = 0;
    } else if (b === LF) {
      return this.lineComplete();
    } else if (subcommand && this.line![0] === ABORT_JOB) {
      return false;
    } else if (this.firstFieldEnd === 0) {
      if (b === SP && pos > 1) {
        this.firstFieldEnd = pos;
      } else if (subcommand) {
        if (b < 0x30 || b > 0x39 || pos > MAX_COUNT_DIGITS) return false;
        this.count = this.count * 10 + (b - 0x30);
      } else if (!isNameByte(b)) {
        return false;
      }
    } else if (subcommand ? !isNameByte(b) : !isOperandByte(b)) {
      return false;
    }
    if (pos === this.line!.length) {
      // Lines are short; the buffer doubles up to MAX_LINE for the rare long one.
      const grown = new Uint8Array(Math.min(2 * pos, MAX_LINE));
      grown.set(this.line!);
      this.line = grown;
    }
    this.line![pos] = b;
    this.lineLength = pos + 1;
    return true;
  }

  private lineComplete(): boolean {
    const line = this.line!;
    const length = this.lineLength;
    const code = line[0];
    this.lineLength = 0;
    if (this.state === Expect.DaemonLine) {
      if (length < 2) return false;
      const queue = String.fromCharCode(...line.subarray(1, this.firstFieldEnd || length));
      if (this.verdict === 'probing') this.verdict = 'match';
      this.emit(DAEMON_COMMANDS[code], code, queue);
      if (code === RECEIVE_JOB) {
        this.jobQueue = queue;
        this.state = Expect.SubcommandLine;
      }
      return true;
    }
    if (code === ABORT_JOB) {
      this.emit(JOB_SUBCOMMANDS[code], code, this.jobQueue);
      return true;
    }
    // count SP name: both fields present.
    if (this.firstFieldEnd === 0 || this.firstFieldEnd === length - 1) return false;
    this.emit(JOB_SUBCOMMANDS[code], code, this.jobQueue, this.count);
    if (code === DATA_FILE && this.count === 0) {
      this.state = Expect.ToEnd;
    } else {
      this.fileRemaining = this.count;
      this.state = this.count === 0 ? Expect.FileEnd : Expect.FileBytes;
    }
    return true;
  }

  private emit(command: string, code: number, queue: string, size?: number): void {
    const event: LpdCommandEvent =
      this.ctx.evidence === 'none'
        ? { type: 'lpd.command', proto: 'lpd', dir: TO_SERVER, command, code }
        : size === undefined
          ? { type: 'lpd.command', proto: 'lpd', dir: TO_SERVER, command, code, queue }
          : { type: 'lpd.command', proto: 'lpd', dir: TO_SERVER, command, code, queue, size };
    this.ctx.emit(event);
  }
}

export const lpdAnalyzer: AnalyzerFactory = {
  proto: 'lpd',
  transports: ['tcp'],
  events: ['lpd.command', 'lpd.not_lpd'],
  // From a flow's start it has something to say about any bytes; picked up mid-stream, nothing.
  mayAccept: (_bytes, _transport, midstream) => midstream !== true,
  create: (ctx) => new LpdAnalyzer(ctx),
};
