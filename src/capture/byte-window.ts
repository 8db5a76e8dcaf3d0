import type { ByteInput } from './byte-input.js';

const DEFAULT_CHUNK = 4 * 1024 * 1024;
/** Room kept in front of each read-ahead chunk for the partial record left at the end of the last one. */
const MAX_HEADROOM = 64 * 1024;

/**
 * A sliding window over a ByteInput. Readers parse records straight out of `buf`; when a record
 * runs past the bytes held, `ensure` brings in the next chunk. Memory stays at two chunks (plus
 * the largest record) whatever the capture's size.
 *
 * The next chunk is read ahead into a second buffer while the current one is parsed, so the
 * kernel's copy overlaps with analysis instead of stalling it. When the current chunk runs out,
 * only its partial last record is copied, into the headroom in front of the new chunk, and the
 * buffers swap.
 */
export class ByteWindow {
  buf: Buffer;
  /** First unconsumed byte in buf. */
  start = 0;
  /** One past the last valid byte in buf. */
  end = 0;
  /** Offset in the input of buf[0]. */
  base = 0;
  private spare: Buffer;
  private readonly headroom: number;
  private readAhead: Promise<number> | null = null;
  private eof = false;

  constructor(
    private readonly input: ByteInput,
    chunkSize = DEFAULT_CHUNK,
  ) {
    this.headroom = Math.min(MAX_HEADROOM, chunkSize);
    this.buf = Buffer.allocUnsafe(chunkSize + this.headroom);
    this.spare = Buffer.allocUnsafe(chunkSize + this.headroom);
  }

  get available(): number {
    return this.end - this.start;
  }

  /** Offset in the input of the first unconsumed byte. */
  get position(): number {
    return this.base + this.start;
  }

  /** Makes at least `n` bytes available from `start`; false when the input ends first. */
  async ensure(n: number): Promise<boolean> {
    while (this.end - this.start < n) {
      if (this.eof) return false;
      const got = await this.takeReadAhead();
      if (got === 0) {
        this.eof = true;
        return false;
      }
      const tail = this.end - this.start;
      if (tail <= this.headroom) this.swapIn(tail, got);
      else this.append(got);
      this.startReadAhead();
    }
    return true;
  }

  /** Everything left in the input, for a reader that hands the stream to a decompressor. */
  async *remaining(): AsyncGenerator<Buffer> {
    if (this.available > 0) yield Buffer.from(this.buf.subarray(this.start, this.end));
    this.start = this.end;
    for (;;) {
      const got = await this.takeReadAhead();
      if (got === 0) return;
      yield Buffer.from(this.spare.subarray(this.headroom, this.headroom + got));
    }
  }

  close(): Promise<void> {
    // A read still in flight has nobody waiting for it; the input's close settles it.
    this.readAhead?.catch(() => {});
    this.readAhead = null;
    return this.input.close();
  }

  /** The read-ahead chunk's length (0 at the end of input); its bytes sit at `spare[headroom]`. */
  private takeReadAhead(): Promise<number> {
    const pending = this.readAhead ?? this.readIntoSpare();
    this.readAhead = null;
    return pending;
  }

  private startReadAhead(): void {
    this.readAhead = this.readIntoSpare();
    // A failure surfaces from the ensure() that takes it; until then it must not count as unhandled.
    this.readAhead.catch(() => {});
  }

  private readIntoSpare(): Promise<number> {
    return this.input.read(this.spare, this.headroom, this.spare.length - this.headroom);
  }

  /** The usual case: the unconsumed tail moves in front of the new chunk and the buffers swap. */
  private swapIn(tail: number, got: number): void {
    const from = this.headroom - tail;
    this.buf.copy(this.spare, from, this.start, this.end);
    this.base += this.end - this.headroom;
    const previous = this.buf;
    this.buf = this.spare;
    this.spare = previous;
    this.start = from;
    this.end = this.headroom + got;
  }

  /** A record longer than the headroom: the new chunk is appended to the current buffer instead. */
  private append(got: number): void {
    const tail = this.end - this.start;
    const needed = tail + got;
    if (needed > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(needed, this.buf.length * 2));
      this.buf.copy(bigger, 0, this.start, this.end);
      this.buf = bigger;
    } else {
      this.buf.copy(this.buf, 0, this.start, this.end);
    }
    this.base += this.start;
    this.start = 0;
    this.end = tail;
    this.spare.copy(this.buf, this.end, this.headroom, this.headroom + got);
    this.end += got;
  }
}
