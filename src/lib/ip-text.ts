/**
 * IPv4/IPv6 address and CIDR text: parsing into the decoder's layout and canonical formatting.
 *
 * Addresses are handled as the decoder holds them: four big-endian 32-bit words starting at an
 * index into a Uint32Array, IPv4 in the first word only. The rule engine parses addresses and
 * blocks with this module; the outputs format the addresses of packets and flows with it.
 *
 * CIDR text is parsed by hand rather than with the `ip-cidr` package: measured here, its
 * `isValidCIDR` costs about 3 µs per entry and `new IPCIDR()` about 28 µs, i.e. 3 s and 28 s for
 * a million entries, against a 2 s budget for loading and compiling all of them. The tests
 * cross-check this parser and formatter against `ip-cidr` instead.
 */

export type IpVersion = 4 | 6;

export interface ParsedAddress {
  version: IpVersion;
  /** Four big-endian words; IPv4 uses words[0] and leaves the others 0. */
  words: Uint32Array;
}

export interface ParsedCidr extends ParsedAddress {
  /** Network address with host bits cleared. */
  prefixLength: number;
  /** The text had host bits set beyond the prefix (e.g. 10.1.2.3/8); they were cleared. */
  hadHostBits: boolean;
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** What parseCidrInto returns for text that is not an address or CIDR block. */
export const INVALID = -1;

/** Bit of parseCidrInto's result: the text had host bits set beyond its prefix. */
export const HAD_HOST_BITS = 1 << 16;

/**
 * Parses an IPv4 address from text[start, end) into out[at]. Dotted quad only, no leading zeros
 * (01.2.3.4 is ambiguous: some tools read it as octal). Returns false when invalid. The address
 * goes into the typed array rather than back as a number: half of all addresses are too large
 * for a small integer, and returning one would allocate.
 */
function parseV4Into(text: string, start: number, end: number, out: Uint32Array, at: number): boolean {
  let value = 0;
  let parts = 0;
  let i = start;
  while (true) {
    const partStart = i;
    let part = 0;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      part = part * 10 + (c - 48);
      i++;
    }
    const digits = i - partStart;
    if (digits === 0 || digits > 3 || part > 255) return false;
    if (digits > 1 && text.charCodeAt(partStart) === 48) return false;
    value = value * 256 + part;
    parts++;
    if (i === end) break;
    if (parts === 4 || text.charCodeAt(i) !== 46) return false;
    i++;
  }
  if (parts !== 4) return false;
  out[at] = value;
  return true;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Working space of parseV6Into, which fills it completely on every call: no allocation per address. */
const groupScratch = new Uint16Array(8);

/** Parses IPv6 text (with :: and an optional trailing dotted quad) into out[at..at+3]; false when invalid. */
function parseV6Into(text: string, start: number, end: number, out: Uint32Array, at: number): boolean {
  const groups = groupScratch;
  groups.fill(0);
  let count = 0;
  let gapAt = -1;
  let i = start;
  if (end - start < 2) return false;
  if (text.charCodeAt(i) === 58) {
    if (text.charCodeAt(i + 1) !== 58) return false;
    gapAt = 0;
    i += 2;
  }
  while (i < end) {
    if (count === 8) return false;
    const groupStart = i;
    let group = 0;
    while (i < end) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      group = (group << 4) | h;
      i++;
    }
    const digits = i - groupStart;
    if (i < end && text.charCodeAt(i) === 46) {
      // Trailing dotted quad: it fills the last two groups.
      if (count > 6) return false;
      // out[at] holds it until the groups are written over it below.
      if (!parseV4Into(text, groupStart, end, out, at)) return false;
      groups[count++] = out[at] >>> 16;
      groups[count++] = out[at] & 0xffff;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    groups[count++] = group;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gapAt >= 0) return false;
      gapAt = count;
      i++;
    } else if (i === end) {
      return false; // trailing single colon
    }
  }
  if (gapAt >= 0) {
    if (count === 8) return false; // :: must stand for at least one group
    const tail = count - gapAt;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k];
    for (let k = gapAt; k < 8 - tail; k++) groups[k] = 0;
  } else if (count !== 8) {
    return false;
  }
  for (let w = 0; w < 4; w++) out[at + w] = ((groups[2 * w] << 16) | groups[2 * w + 1]) >>> 0;
  return true;
}

/**
 * Parses "address" or "address/prefix" from text[start, end) into out[at..at+3] with host bits
 * cleared, allocating nothing (a million indicator entries load through here). Returns INVALID,
 * else (version << 8) | prefixLength, with HAD_HOST_BITS added when bits beyond the prefix were set.
 */
export function parseCidrInto(text: string, start: number, end: number, out: Uint32Array, at: number): number {
  let slash = -1;
  let colon = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 47) {
      slash = i;
      break;
    }
    if (c === 58) colon = true;
  }
  const addrEnd = slash < 0 ? end : slash;
  const version: IpVersion = colon ? 6 : 4;
  out[at] = 0;
  out[at + 1] = 0;
  out[at + 2] = 0;
  out[at + 3] = 0;
  const ok = colon ? parseV6Into(text, start, addrEnd, out, at) : parseV4Into(text, start, addrEnd, out, at);
  if (!ok) return INVALID;
  const maxBits = version === 4 ? 32 : 128;
  let prefix = maxBits;
  if (slash >= 0) {
    const digits = end - slash - 1;
    if (digits < 1 || digits > 3) return INVALID;
    if (digits > 1 && text.charCodeAt(slash + 1) === 48) return INVALID;
    prefix = 0;
    for (let i = slash + 1; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) return INVALID;
      prefix = prefix * 10 + (c - 48);
    }
    if (prefix > maxBits) return INVALID;
  }
  let hostBits = 0;
  const words = version === 4 ? 1 : 4;
  for (let w = 0; w < words; w++) {
    const masked = (out[at + w] & wordMask(prefix, w)) >>> 0;
    if (masked !== out[at + w]) hostBits = HAD_HOST_BITS;
    out[at + w] = masked;
  }
  return hostBits | (version << 8) | prefix;
}

/** Network mask of word w (0..3) for a prefix length. */
export function wordMask(prefix: number, w: number): number {
  const bits = prefix - 32 * w;
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/** Parses one IPv4 or IPv6 address (no prefix, no zone, no brackets). */
export function parseAddress(text: string): ParsedAddress | null {
  const t = text.trim();
  if (t.indexOf('/') >= 0) return null;
  const words = new Uint32Array(4);
  const code = parseCidrInto(t, 0, t.length, words, 0);
  if (code === INVALID) return null;
  return { version: ((code >> 8) & 0xff) as IpVersion, words };
}

/** Parses an address or CIDR block; host bits beyond the prefix are cleared and flagged. */
export function parseCidr(text: string): ParsedCidr | null {
  const t = text.trim();
  const words = new Uint32Array(4);
  const code = parseCidrInto(t, 0, t.length, words, 0);
  if (code === INVALID) return null;
  return { version: ((code >> 8) & 0xff) as IpVersion, words, prefixLength: code & 0xff, hadHostBits: (code & HAD_HOST_BITS) !== 0 };
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as ::, mapped IPv4 mixed). */
export function formatAddress(version: number, words: ArrayLike<number>, at: number): string {
  if (version === 4) return formatV4(words[at]);
  const w0 = words[at];
  if (w0 === 0 && words[at + 1] === 0 && words[at + 2] === 0xffff) return '::ffff:' + formatV4(words[at + 3]);
  const group = (i: number): number => {
    const w = words[at + (i >>> 1)];
    return i & 1 ? w & 0xffff : w >>> 16;
  };
  // RFC 5952 4.2: the longest run of two or more zero groups, the first one on a tie.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (group(i) !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && group(j) === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestAt + bestLen) out += ':';
    out += group(i).toString(16);
  }
  return out;
}

function formatV4(w: number): string {
  return (w >>> 24) + '.' + ((w >>> 16) & 255) + '.' + ((w >>> 8) & 255) + '.' + (w & 255);
}

/** Canonical entry text: the address alone for a host, else address/prefix. */
export function formatCidr(version: number, words: ArrayLike<number>, at: number, prefixLength: number): string {
  const address = formatAddress(version, words, at);
  return prefixLength === (version === 4 ? 32 : 128) ? address : address + '/' + prefixLength;
}
