import type { ByteInput } from './byte-input.js';

const DEFAULT_CHUNK = 4 * 1024 * 1024;
/** Room kept in front of each chunk for the partial record left at the end of the last one. */
const MAX_HEADROOM = 64 * 1024;
/**
 * Chunks read ahead of the one being parsed, by default, when the input serves several reads at
 * once (a file). With one, every slow read (the second core busy with garbage collection, a
 * disk's hiccup) stalled the parser; reading is several times faster than analysis, so three
 * ahead absorb such stalls (3 % of a replay, measured).
 */
export const FILE_READ_AHEAD = 3;

/** A read under way or done; its bytes land at `buf[headroom]`. */
interface PendingRead {
  buf: Buffer;
  /** Input position of its first byte (positional reads only). */
  position: number;
  length: number;
  got: Promise<number>;
}

/**
 * A sliding window over a ByteInput. Readers parse records straight out of `buf`; when a record
 * runs past the bytes held, `ensure` brings in the next chunk. Memory stays at a few chunks (plus
 * the largest record) whatever the capture's size.
 *
 * The next chunks are read ahead into other buffers while the current one is parsed, so the
 * kernel's copy overlaps with analysis instead of stalling it. When the current chunk runs out,
 * only its partial last record is copied, into the headroom in front of the next chunk, and the
 * old buffer is read into again.
 */
export class ByteWindow {
  buf: Buffer;
  /** First unconsumed byte in buf. */
  start = 0;
  /** One past the last valid byte in buf. */
  end = 0;
  /** Offset in the input of buf[0]. */
  base = 0;
  private readonly headroom: number;
  /** Reads kept under way: several on a file, one on a stream (its reads must follow each other). */
  private readonly depth: number;
  /** Buffers no read is using. */
  private readonly free: Buffer[] = [];
  /** Reads in input order, the oldest first. */
  private readonly pending: PendingRead[] = [];
  /** Input position the next positional read starts at. */
  private nextPosition = 0;
  private eof = false;

  constructor(
    private readonly input: ByteInput,
    chunkSize = DEFAULT_CHUNK,
    readAhead = FILE_READ_AHEAD,
  ) {
    this.headroom = Math.min(MAX_HEADROOM, chunkSize);
    this.depth = input.readAt !== undefined ? Math.max(1, readAhead) : 1;
    this.buf = Buffer.allocUnsafe(chunkSize + this.headroom);
    for (let i = 0; i < this.depth; i++) this.free.push(Buffer.allocUnsafe(chunkSize + this.headroom));
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
      const read = await this.takeRead();
      if (read.got === 0) {
        this.free.push(read.buf);
        this.eof = true;
        return false;
      }
      const tail = this.end - this.start;
      if (tail <= this.headroom) this.swapIn(read.buf, tail, read.got);
      else this.append(read.buf, read.got);
      this.startReads();
    }
    return true;
  }

  /** Everything left in the input, for a reader that hands the stream to a decompressor. */
  async *remaining(): AsyncGenerator<Buffer> {
    if (this.available > 0) yield Buffer.from(this.buf.subarray(this.start, this.end));
    this.start = this.end;
    for (;;) {
      const read = await this.takeRead();
      const bytes = read.got === 0 ? null : Buffer.from(read.buf.subarray(this.headroom, this.headroom + read.got));
      this.free.push(read.buf);
      if (bytes === null) return;
      yield bytes;
    }
  }

  async close(): Promise<void> {
    // Reads still in flight have nobody waiting for them (their failures are already caught);
    // the input's close waits for them.
    this.pending.length = 0;
    return this.input.close();
  }

  /** The oldest read, finished: its buffer and byte count (0 at the end of the input). */
  private async takeRead(): Promise<{ buf: Buffer; got: number }> {
    this.startReads();
    const read = this.pending.shift()!;
    let got: number;
    try {
      got = await read.got;
    } catch (err) {
      this.free.push(read.buf);
      await this.dropPending();
      throw err;
    }
    if (this.input.readAt !== undefined && got < read.length) {
      // The end of the file, or of what has been written of it so far: the reads behind this
      // one aimed past it. They go, and reading goes on from where this one stopped.
      await this.dropPending();
      this.nextPosition = read.position + got;
    }
    return { buf: read.buf, got };
  }

  /** Forgets the reads under way, once they have settled: until then their buffers are in use. */
  private async dropPending(): Promise<void> {
    const dropped = this.pending.splice(0);
    await Promise.allSettled(dropped.map((r) => r.got));
    for (const r of dropped) this.free.push(r.buf);
  }

  private startReads(): void {
    while (this.pending.length < this.depth && this.free.length > 0) {
      const buf = this.free.pop()!;
      const length = buf.length - this.headroom;
      const position = this.nextPosition;
      const got = this.input.readAt !== undefined ? this.input.readAt(buf, this.headroom, length, position) : this.input.read(buf, this.headroom, length);
      // A failure surfaces from the ensure() that takes it; until then it must not count as unhandled.
      got.catch(() => {});
      this.pending.push({ buf, position, length, got });
      this.nextPosition += length;
    }
  }

  /** The usual case: the unconsumed tail moves in front of the new chunk, which becomes buf. */
  private swapIn(next: Buffer, tail: number, got: number): void {
    const from = this.headroom - tail;
    this.buf.copy(next, from, this.start, this.end);
    this.base += this.end - this.headroom;
    this.free.push(this.buf);
    this.buf = next;
    this.start = from;
    this.end = this.headroom + got;
  }

  /** A record longer than the headroom: the new chunk is appended to the current buffer instead. */
  private append(next: Buffer, got: number): void {
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
    next.copy(this.buf, this.end, this.headroom, this.headroom + got);
    this.end += got;
    this.free.push(next);
  }
}
