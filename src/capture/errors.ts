/** Damage found in a capture: where it is and what is wrong, in one line. */
export class CaptureError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${file}: byte offset ${offset}: ${reason}`);
    this.name = 'CaptureError';
  }
}
