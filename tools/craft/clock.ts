/** A capture clock for building records with fixed, increasing timestamps. */
export interface Timestamp {
  sec: number;
  nsec: number;
}

export class Clock {
  private ns: bigint;

  constructor(sec: number, nsec = 0) {
    this.ns = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
  }

  now(): Timestamp {
    return { sec: Number(this.ns / 1_000_000_000n), nsec: Number(this.ns % 1_000_000_000n) };
  }

  /** Moves the clock on by `micros` microseconds (fractions allowed) and returns the new time. */
  advance(micros: number): Timestamp {
    return this.advanceNs(Math.round(micros * 1000));
  }

  advanceNs(nanos: number): Timestamp {
    this.ns += BigInt(nanos);
    return this.now();
  }
}
