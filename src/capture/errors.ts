/**
 * A capture that cannot be read, or damage found in one: which file, where (a byte offset, or
 * null when the file could not be opened at all) and what is wrong, in one line.
 */
export class CaptureError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number | null,
    readonly reason: string,
  ) {
    super(offset === null ? `${file}: ${reason}` : `${file}: byte offset ${offset}: ${reason}`);
    this.name = 'CaptureError';
  }
}
