/** Addresses that name no single host on the wire: they are never a flow's "external" peer. */

/**
 * Multicast (224.0.0.0/4, ff00::/8), limited broadcast, loopback (127.0.0.0/8, ::1) and
 * unspecified (0.0.0.0, ::), for an address in the decoder's layout (four big-endian words at
 * words[at], IPv4 in the first). IPv4-mapped IPv6 addresses are IPv6 here, like everywhere else.
 */
export function isSpecialAddress(version: number, words: ArrayLike<number>, at: number): boolean {
  const w0 = words[at];
  if (version === 4) {
    const top = w0 >>> 24;
    return top === 127 || (top & 0xf0) === 224 || w0 === 0xffffffff || w0 === 0;
  }
  if (w0 >>> 24 === 0xff) return true;
  if (w0 !== 0 || words[at + 1] !== 0 || words[at + 2] !== 0) return false;
  const w3 = words[at + 3];
  return w3 === 0 || w3 === 1;
}
