import type { ByteWindow } from './byte-window.js';
import { CaptureError } from './errors.js';
import type { CapturedPacket } from './packet.js';

/** No legitimate record is larger than this; a length field beyond it is corruption. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/**
 * Pull interface shared by every capture format. The hot loop is synchronous:
 *
 *   while (true) {
 *     while (reader.next(pkt)) handle(pkt);
 *     if (!(await reader.refill())) break;
 *   }
 *
 * After the loop, `error` says whether the capture ended cleanly or where it was damaged; every
 * packet before the damage has been handed out.
 */
export interface PacketSource {
  readonly name: string;
  readonly format: string;
  /** Fills pkt with the next packet; false when the buffered bytes hold no whole record. */
  next(pkt: CapturedPacket): boolean;
  /** Reads more input; false at the end of the input or after damage. */
  refill(): Promise<boolean>;
  readonly error: CaptureError | null;
  /** Input passed over without ending the capture (a pcapng section of an unknown version), in order. */
  readonly warnings: readonly CaptureError[];
  /** Bytes of (decompressed) input consumed so far. */
  readonly position: number;
  close(): Promise<void>;
}

/** Window handling and damage reporting common to the pcap and pcapng readers. */
export abstract class WindowedReader implements PacketSource {
  error: CaptureError | null = null;
  readonly warnings: CaptureError[] = [];
  /** Bytes the parser needs at `window.start` before it can make progress. */
  protected need = 0;
  protected done = false;
  protected count = 0;

  constructor(
    readonly name: string,
    protected readonly window: ByteWindow,
  ) {}

  abstract readonly format: string;
  abstract next(pkt: CapturedPacket): boolean;

  get position(): number {
    return this.window.position;
  }

  async refill(): Promise<boolean> {
    if (this.done) return false;
    let complete: boolean;
    try {
      complete = await this.window.ensure(this.need);
    } catch (err) {
      return this.fail(this.window.position, `read failed: ${(err as Error).message}`);
    }
    if (complete) return true;
    this.done = true;
    const left = this.window.available;
    if (left > 0) {
      this.error = new CaptureError(
        this.name,
        this.window.position,
        `truncated ${this.recordName()}: needs ${this.need} bytes, only ${left} left`,
      );
    }
    return false;
  }

  /** Stops the reader at damage; returns false so `next` can `return this.fail(...)`. */
  protected fail(offset: number, reason: string): false {
    if (!this.done) {
      this.done = true;
      this.error = new CaptureError(this.name, offset, reason);
    }
    this.need = 0;
    return false;
  }

  protected recordName(): string {
    return 'record';
  }

  close(): Promise<void> {
    return this.window.close();
  }
}
