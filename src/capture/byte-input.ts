import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/** A sequential source of capture bytes: a file, standard input or a decompressor. */
export interface ByteInput {
  /** Reads up to `length` bytes into `target` at `offset`; 0 means end of input. */
  read(target: Buffer, offset: number, length: number): Promise<number>;
  /**
   * Reads at a byte position of the input, leaving the sequential position alone. Only inputs
   * that can serve several reads at once have it (files): a reader keeps some in flight.
   */
  readAt?(target: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/** An open file read in order: a pipe, a FIFO or a device, which cannot be read by position. */
export class FileInput implements ByteInput {
  constructor(protected readonly handle: FileHandle) {}

  async read(target: Buffer, offset: number, length: number): Promise<number> {
    const { bytesRead } = await this.handle.read(target, offset, length, null);
    return bytesRead;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** A regular file, which can also be read by position, several reads at once. */
export class RegularFileInput extends FileInput {
  async readAt(target: Buffer, offset: number, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.handle.read(target, offset, length, position);
    return bytesRead;
  }
}

export class StreamInput implements ByteInput {
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer | null = null;

  constructor(private readonly stream: Readable) {
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async read(target: Buffer, offset: number, length: number): Promise<number> {
    if (this.pending === null) {
      const next = await this.chunks.next();
      if (next.done) return 0;
      this.pending = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    }
    const chunk = this.pending;
    const n = Math.min(length, chunk.length);
    chunk.copy(target, offset, 0, n);
    this.pending = n < chunk.length ? chunk.subarray(n) : null;
    return n;
  }

  async close(): Promise<void> {
    this.stream.destroy();
  }
}
