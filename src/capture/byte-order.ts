/*
 * Capture files' own header fields, in the byte order the file declares. Plain byte arithmetic
 * rather than Buffer's readUInt32LE/BE: the engine inlines these into the record loop, where
 * Buffer's methods stayed calls and cost about 5 % of a whole replay.
 */

export function u32(buf: Uint8Array, at: number, le: boolean): number {
  return le
    ? (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0
    : ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

export function u16(buf: Uint8Array, at: number, le: boolean): number {
  return le ? buf[at] | (buf[at + 1] << 8) : (buf[at] << 8) | buf[at + 1];
}
