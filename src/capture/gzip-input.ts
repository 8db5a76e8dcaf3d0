import { createGunzip, type Gunzip } from 'node:zlib';
import type { ByteInput } from './byte-input.js';

/** Compressed bytes given to the decompressor at a time. */
const SLICE = 16 * 1024;

/**
 * A gzip-compressed capture, decompressed as it is read. Damage in the compressed data ends the
 * input with an error after every byte that decompressed before it, as `zcat` gives them: Node's
 * decompressor drops the output of the write that failed, so the input is fed in slices, and when
 * the file can be read again the failing slice is decompressed once more a byte at a time.
 */
export class GzipInput implements ByteInput {
  private inflater: Gunzip;
  private readonly ready: Buffer[] = [];
  private readonly compressed: AsyncIterator<Buffer>;
  /** Compressed bytes decompressed without error. */
  private fed = 0;
  private produced = 0;
  private ended = false;
  private failure: Error | null = null;

  /**
   * @param reread the compressed bytes again from their start, for the byte-at-a-time pass after
   *   damage; null when they cannot be read twice (standard input, a pipe).
   */
  constructor(
    compressed: AsyncIterable<Buffer>,
    private readonly reread: (() => AsyncIterable<Buffer>) | null,
    private readonly closeSource: () => Promise<void>,
  ) {
    this.compressed = slices(compressed)[Symbol.asyncIterator]();
    this.inflater = this.collecting(createGunzip());
  }

  async read(target: Buffer, offset: number, length: number): Promise<number> {
    while (this.ready.length === 0) {
      if (this.failure !== null) throw this.failure;
      if (this.ended) return 0;
      await this.feedOne();
    }
    const chunk = this.ready[0];
    const n = Math.min(length, chunk.length);
    chunk.copy(target, offset, 0, n);
    if (n < chunk.length) this.ready[0] = chunk.subarray(n);
    else this.ready.shift();
    return n;
  }

  async close(): Promise<void> {
    this.inflater.destroy();
    await this.closeSource();
  }

  private collecting(inflater: Gunzip): Gunzip {
    inflater.on('data', (b: Buffer) => {
      this.ready.push(b);
      this.produced += b.length;
    });
    // Errors are taken from write and end callbacks.
    inflater.on('error', () => undefined);
    return inflater;
  }

  private async feedOne(): Promise<void> {
    const next = await this.compressed.next();
    if (next.done) {
      const err = await new Promise<Error | null>((resolve) => {
        this.inflater.once('end', () => resolve(null));
        this.inflater.once('error', resolve);
        this.inflater.end();
      });
      if (err === null) this.ended = true;
      else this.failure = new Error(`gzip: ${err.message}`);
      return;
    }
    const err = await write(this.inflater, next.value);
    if (err !== null) await this.failed(err);
    else this.fed += next.value.length;
  }

  /**
   * Recovers what the failing slice held before the damage, when the file can be read again:
   * each pass decompresses anew up to where the last one failed and goes on in smaller pieces
   * (256 bytes, 4, then 1), so a damaged byte costs a few hundred writes rather than one a byte.
   */
  private async failed(err: Error): Promise<void> {
    this.failure = new Error(`gzip: ${err.message}`);
    if (this.reread === null) return;
    let goodUntil = this.fed;
    let output: Buffer[] = [];
    for (let piece = SLICE / 64; ; piece = Math.max(1, piece / 64)) {
      ({ goodUntil, output } = await this.decompressUntilDamage(goodUntil, piece));
      if (piece === 1) break;
    }
    // Only what the first pass did not give.
    let seen = 0;
    for (const b of output) {
      const from = Math.max(0, this.produced - seen);
      seen += b.length;
      if (from < b.length) this.ready.push(from === 0 ? b : b.subarray(from));
    }
  }

  /**
   * Decompresses the file anew: the first `goodUntil` compressed bytes as they come, then pieces
   * of `piece` bytes until one fails. Returns where the last whole piece ended, and the output.
   */
  private async decompressUntilDamage(goodUntil: number, piece: number): Promise<{ goodUntil: number; output: Buffer[] }> {
    const output: Buffer[] = [];
    const inflater = createGunzip();
    inflater.on('data', (b: Buffer) => output.push(b));
    inflater.on('error', () => undefined);
    let offset = 0;
    let good = goodUntil;
    for await (const slice of slices(this.reread!())) {
      const whole = Math.max(0, Math.min(slice.length, goodUntil - offset));
      if (whole > 0 && (await write(inflater, slice.subarray(0, whole))) !== null) break;
      offset += whole;
      if (whole === slice.length) continue;
      let i = whole;
      for (; i < slice.length; i += piece) {
        const end = Math.min(slice.length, i + piece);
        if ((await write(inflater, slice.subarray(i, end))) !== null) break;
        good = offset + (end - whole);
      }
      if (i < slice.length) break;
      offset += slice.length - whole;
      goodUntil = offset; // the next slice is written in pieces from its start
    }
    inflater.destroy();
    return { goodUntil: good, output };
  }
}

/** Resolves once the chunk is decompressed, or with the error: a failing write never calls back. */
function write(inflater: Gunzip, chunk: Buffer): Promise<Error | null> {
  if (inflater.destroyed) return Promise.resolve(new Error('decompressor closed'));
  return new Promise((resolve) => {
    const onError = (err: Error) => resolve(err);
    inflater.once('error', onError);
    inflater.write(chunk, (err) => {
      inflater.off('error', onError);
      resolve(err ?? null);
    });
  });
}

async function* slices(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i += SLICE) yield chunk.subarray(i, Math.min(chunk.length, i + SLICE));
  }
}
