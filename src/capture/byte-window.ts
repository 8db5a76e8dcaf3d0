import type { ByteInput } from './byte-input.js';

const DEFAULT_CHUNK = 4 * 1024 * 1024;

/**
 * A sliding window over a ByteInput. Readers parse records straight out of `buf`; when a record
 * runs past the bytes held, `ensure` moves the tail to the front and reads more. Memory stays at
 * one chunk (plus the largest record) whatever the capture's size.
 */
export class ByteWindow {
  buf: Buffer;
  /** First unconsumed byte in buf. */
  start = 0;
  /** One past the last valid byte in buf. */
  end = 0;
  /** Offset in the input of buf[0]. */
  base = 0;
  private eof = false;

  constructor(
    private readonly input: ByteInput,
    chunkSize = DEFAULT_CHUNK,
  ) {
    this.buf = Buffer.allocUnsafe(chunkSize);
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
      if (this.start > 0) this.compact();
      if (this.buf.length < n) this.grow(n);
      const got = await this.input.read(this.buf, this.end, this.buf.length - this.end);
      if (got === 0) this.eof = true;
      this.end += got;
    }
    return true;
  }

  /** Everything left in the input, for a reader that hands the stream to a decompressor. */
  async *remaining(): AsyncGenerator<Buffer> {
    if (this.available > 0) yield Buffer.from(this.buf.subarray(this.start, this.end));
    this.start = this.end;
    const chunk = Buffer.allocUnsafe(DEFAULT_CHUNK);
    for (;;) {
      const got = await this.input.read(chunk, 0, chunk.length);
      if (got === 0) return;
      yield Buffer.from(chunk.subarray(0, got));
    }
  }

  close(): Promise<void> {
    return this.input.close();
  }

  private compact(): void {
    this.buf.copy(this.buf, 0, this.start, this.end);
    this.base += this.start;
    this.end -= this.start;
    this.start = 0;
  }

  private grow(n: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
    this.buf.copy(bigger, 0, this.start, this.end);
    this.buf = bigger;
  }
}
