/**
 * Payload buffers for datagrams in reassembly, kept for reuse instead of left to the garbage
 * collector. Each buffer holds a payload and its map of received bytes (1 per byte received) in
 * one allocation. Sizes are powers of two from 512 bytes to 64 KiB, so a datagram that grows
 * past its buffer moves at most seven times, and a buffer fits any later datagram of its class.
 */
export class FragmentBuffer {
  readonly payload: Uint8Array;
  /** 1 for each payload byte received; zero past the bytes in use, always. */
  readonly received: Uint8Array;

  constructor(
    /** Index of the size class, or -1 for the empty buffer. */
    readonly sizeClass: number,
    capacity: number,
  ) {
    const bytes = new Uint8Array(2 * capacity);
    this.payload = bytes.subarray(0, capacity);
    this.received = bytes.subarray(capacity);
  }

  get capacity(): number {
    return this.payload.length;
  }
}

const SMALLEST_SHIFT = 9;
const CLASSES = 8; // 512 B .. 64 KiB

/** The buffer of a datagram that holds no bytes yet; never pooled. */
export const EMPTY_BUFFER = new FragmentBuffer(-1, 0);

export class FragmentBufferPool {
  private readonly free: FragmentBuffer[][] = Array.from({ length: CLASSES }, () => []);
  private freeBytes = 0;
  /** Bytes of every buffer ever made (payload and map): stops growing once the pool is warm. */
  allocatedBytes = 0;
  /** Bytes of the buffers still referenced: in use or idle here. */
  keptBytes = 0;

  /** `maxFreeBytes` bounds the memory kept idle for reuse. */
  constructor(private readonly maxFreeBytes: number) {}

  /** A buffer of at least `size` bytes (at most 65536), its map all zero. */
  acquire(size: number): FragmentBuffer {
    let c = 0;
    while (1 << (SMALLEST_SHIFT + c) < size) c++;
    const pooled = this.free[c].pop();
    if (pooled !== undefined) {
      this.freeBytes -= 2 * pooled.capacity;
      return pooled;
    }
    const capacity = 1 << (SMALLEST_SHIFT + c);
    this.allocatedBytes += 2 * capacity;
    this.keptBytes += 2 * capacity;
    return new FragmentBuffer(c, capacity);
  }

  /** Takes back a buffer whose first `used` bytes may be marked received. */
  release(buffer: FragmentBuffer, used: number): void {
    if (buffer.sizeClass < 0) return;
    const bytes = 2 * buffer.capacity;
    if (this.freeBytes + bytes > this.maxFreeBytes) {
      this.keptBytes -= bytes; // left to the garbage collector
      return;
    }
    const received = buffer.received;
    if (used < 64) for (let i = 0; i < used; i++) received[i] = 0;
    else received.fill(0, 0, used);
    this.free[buffer.sizeClass].push(buffer);
    this.freeBytes += bytes;
  }
}
