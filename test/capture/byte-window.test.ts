import { describe, expect, it } from 'vitest';
import type { ByteInput } from '../../src/capture/byte-input.js';
import { ByteWindow } from '../../src/capture/byte-window.js';
import { Prng } from '../../tools/craft/prng.js';

/**
 * A file as the window sees it: reads at positions that finish in any order, some shorter than
 * asked (as while a capture is still being written), some failing from a given position on.
 */
class FakeFile implements ByteInput {
  readsAt: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  closed = false;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly rnd: () => number,
    private readonly failFrom = Infinity,
  ) {}

  read(): Promise<number> {
    throw new Error('a file is read by position');
  }

  async readAt(target: Buffer, offset: number, length: number, position: number): Promise<number> {
    this.readsAt.push(position);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    await new Promise((resolve) => setTimeout(resolve, Math.floor(this.rnd() * 3)));
    this.inFlight--;
    if (position + length > this.failFrom) throw new Error('EIO: i/o error, read');
    const available = Math.max(0, Math.min(length, this.bytes.length - position));
    // Now and then fewer bytes than there are: the writer has not flushed them yet.
    const n = available > 1 && this.rnd() < 0.2 ? Math.floor(available * this.rnd()) : available;
    target.set(this.bytes.subarray(position, position + n), offset);
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Consumes the window in steps of random size, as record parsers do; returns what it saw. */
async function drain(window: ByteWindow, rnd: () => number, maxStep: number): Promise<number[]> {
  const seen: number[] = [];
  for (;;) {
    const want = 1 + Math.floor(rnd() * maxStep);
    const whole = await window.ensure(want);
    const n = whole ? want : window.available;
    for (let i = 0; i < n; i++) seen.push(window.buf[window.start + i]);
    window.start += n;
    if (!whole) return seen;
  }
}

/** Seeded numbers in [0, 1), replayable after a failure. */
function random(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.next();
}

function content(length: number, seed: number): Uint8Array {
  return new Prng(seed).bytes(length);
}

describe('ByteWindow', () => {
  it('hands over a file byte for byte, in order, while several reads are under way and some come back short', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const bytes = content(5000 + seed * 37, seed);
      const rnd = random(seed * 7919);
      const file = new FakeFile(bytes, rnd);
      const window = new ByteWindow(file, 256);
      const seen = await drain(window, rnd, 300); // steps longer than a chunk too
      expect(Buffer.from(seen).equals(Buffer.from(bytes)), `seed ${seed}`).toBe(true);
      expect(window.position).toBe(bytes.length);
      expect(file.maxInFlight).toBeGreaterThan(1);
    }
  });

  it('keeps one read under way when asked to, as for each of several merged captures', async () => {
    const bytes = content(4000, 3);
    const file = new FakeFile(bytes, random(5));
    const seen = await drain(new ByteWindow(file, 256, 1), random(6), 100);
    expect(Buffer.from(seen).equals(Buffer.from(bytes))).toBe(true);
    expect(file.maxInFlight).toBe(1);
  });

  it('delivers every byte before a failed read, then reports the failure', async () => {
    const bytes = content(6000, 9);
    const window = new ByteWindow(new FakeFile(bytes, random(10), 3000), 256);
    let consumed = 0;
    const failure = await (async () => {
      try {
        for (;;) {
          if (!(await window.ensure(50))) return null;
          expect(window.buf[window.start]).toBe(bytes[consumed]);
          window.start += 50;
          consumed += 50;
        }
      } catch (err) {
        return err as Error;
      }
    })();
    expect(failure?.message).toMatch(/EIO/);
    // The failing read is the first of 256 bytes to reach past byte 3000, so it starts after
    // byte 2744: everything before it was handed over, in steps of 50.
    expect(consumed).toBeGreaterThanOrEqual(2700);
    expect(consumed).toBeLessThan(3000);
    expect(window.position).toBe(consumed);
  });

  it('reads each part of the file once when no read comes back short', async () => {
    const bytes = content(3000, 11);
    const file = new FakeFile(bytes, () => 0.9); // never short
    await drain(new ByteWindow(file, 256), random(12), 64);
    const starts = new Set(file.readsAt);
    expect(starts.size).toBe(file.readsAt.length);
    expect([...starts].filter((p) => p < bytes.length).sort((a, b) => a - b)).toEqual(
      Array.from({ length: Math.ceil(bytes.length / 256) }, (_, i) => i * 256),
    );
  });
});
