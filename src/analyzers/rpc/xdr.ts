/**
 * A bounds-checked XDR (RFC 4506) cursor. Reads past the end or over a declared limit do not
 * throw: they return zero values and leave a sticky `fault`, so a decoder can read a whole
 * structure straight through and check `ok` once at the end.
 */

/** 'truncated': the bytes ran out; 'malformed': a value broke a declared XDR limit. */
export type XdrFault = 'truncated' | 'malformed';

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder('utf-8');

/** Round up to the XDR 4-byte unit. */
export function xdrPad(n: number): number {
  // Not with bit operations: lengths run to 2^32 - 1, past what they keep.
  return n + ((4 - (n % 4)) % 4);
}

/** Big-endian unsigned 32-bit at `off`; the caller has checked that 4 bytes are there. */
export function readU32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

export class XdrReader {
  private buf: Uint8Array = EMPTY;
  private end = 0;
  pos = 0;
  fault: XdrFault | null = null;

  /** Points the cursor at `buf[start, end)`, clearing any fault. Returns this for chaining. */
  reset(buf: Uint8Array, start = 0, end = buf.length): this {
    this.buf = buf;
    this.pos = start;
    this.end = Math.min(end, buf.length);
    this.fault = null;
    return this;
  }

  get ok(): boolean {
    return this.fault === null;
  }

  get remaining(): number {
    return this.fault === null ? this.end - this.pos : 0;
  }

  /** Marks the data as breaking a rule the caller knows about (e.g. a union arm out of range). */
  fail(fault: XdrFault = 'malformed'): void {
    if (this.fault === null) this.fault = fault;
  }

  u32(): number {
    if (this.fault !== null) return 0;
    if (this.end - this.pos < 4) {
      this.fault = 'truncated';
      return 0;
    }
    const v = readU32(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  /** An unsigned hyper as a number; exact up to 2^53, which covers every size and offset seen. */
  u64(): number {
    const hi = this.u32();
    const lo = this.u32();
    return hi * 0x1_0000_0000 + lo;
  }

  /** An XDR bool: anything but 0 or 1 is malformed. */
  bool(): boolean {
    const v = this.u32();
    if (v > 1) this.fail();
    return v === 1;
  }

  /** Skips `n` raw bytes (no padding added). */
  skip(n: number): void {
    if (this.fault !== null) return;
    if (n < 0 || this.end - this.pos < n) {
      this.fault = 'truncated';
      this.pos = this.end;
      return;
    }
    this.pos += n;
  }

  /** Fixed-length opaque[n]: a view of the n bytes (padding consumed), valid while the buffer is. */
  fixedOpaque(n: number): Uint8Array {
    const start = this.pos;
    this.skip(xdrPad(n));
    return this.fault === null ? this.buf.subarray(start, start + n) : EMPTY;
  }

  /** Variable-length opaque<max>: a view of the bytes, valid while the buffer is. */
  opaque(max = 0xffffffff): Uint8Array {
    const n = this.u32();
    if (n > max) this.fail();
    if (this.fault !== null) return EMPTY;
    return this.fixedOpaque(n);
  }

  skipOpaque(max = 0xffffffff): void {
    const n = this.u32();
    if (n > max) this.fail();
    this.skip(xdrPad(n));
  }

  /** string<max>, decoded as UTF-8 (invalid sequences become U+FFFD). */
  string(max = 0xffffffff): string {
    const bytes = this.opaque(max);
    return bytes.length === 0 ? '' : utf8.decode(bytes);
  }

  /** An array count, failing when it exceeds `max` or could not fit in the bytes left. */
  count(max = 0xffffffff, minElementBytes = 4): number {
    const n = this.u32();
    if (n > max) this.fail();
    else if (n * minElementBytes > this.remaining) this.fail('truncated');
    return this.fault === null ? n : 0;
  }
}
