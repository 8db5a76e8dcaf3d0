/**
 * Sets of IPv4/IPv6 addresses and CIDR blocks compiled for lookups on the packet path.
 *
 * Addresses are handled as the decoder holds them: four big-endian 32-bit words starting at an
 * index into a Uint32Array, IPv4 in the first word only. A set is compiled once into disjoint
 * sorted ranges per IP version, each naming the most specific entry that covers it, so a lookup is
 * a binary search over a typed array: no strings, no BigInt, no allocation (an entry's object is
 * made the first time a lookup finds it and reused after).
 *
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are IPv6 here: an IPv4 entry does not match them and
 * they are never converted, because the decoder reports such packets as IPv6 and a rule written
 * for ::ffff:0:0/96 must keep meaning exactly that.
 *
 * CIDR text is parsed by hand rather than with the `ip-cidr` package: measured here, its
 * `isValidCIDR` costs about 3 µs per entry and `new IPCIDR()` about 28 µs, i.e. 3 s and 28 s for
 * a million entries, against a 2 s budget for loading and compiling all of them. The tests
 * cross-check this parser and formatter against `ip-cidr` instead.
 */

export type IpVersion = 4 | 6;

/** One entry of a set; every lookup that finds it returns the same object. */
export interface Entry<T> {
  /** Canonical text: the address alone for a host entry, else address/prefix (host bits cleared). */
  readonly cidr: string;
  readonly version: IpVersion;
  readonly prefixLength: number;
  /** A single host: /32 for IPv4, /128 for IPv6. */
  readonly exact: boolean;
  readonly value: T;
}

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

export const DEFAULT_HOME_NET: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  'fc00::/7',
  'fe80::/10',
];

// ---------------------------------------------------------------------------------------------
// Parsing

const INVALID = -1;

/**
 * Parses an IPv4 address from text[start, end) into out[at]. Dotted quad only, no leading zeros
 * (01.2.3.4 is ambiguous: some tools read it as octal). Returns 1 on success, INVALID otherwise.
 */
function parseV4Into(text: string, start: number, end: number, out: Uint32Array, at: number): number {
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
    if (digits === 0 || digits > 3 || part > 255) return INVALID;
    if (digits > 1 && text.charCodeAt(partStart) === 48) return INVALID;
    value = value * 256 + part;
    parts++;
    if (i === end) break;
    if (parts === 4 || text.charCodeAt(i) !== 46) return INVALID;
    i++;
  }
  if (parts !== 4) return INVALID;
  out[at] = value;
  return 1;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const groupScratch = new Uint16Array(8);
const v4Scratch = new Uint32Array(1);

/** Parses IPv6 text (with :: and an optional trailing dotted quad) into out[at..at+3]. */
function parseV6Into(text: string, start: number, end: number, out: Uint32Array, at: number): number {
  const groups = groupScratch;
  groups.fill(0);
  let count = 0;
  let gapAt = -1;
  let i = start;
  if (end - start < 2) return INVALID;
  if (text.charCodeAt(i) === 58) {
    if (text.charCodeAt(i + 1) !== 58) return INVALID;
    gapAt = 0;
    i += 2;
  }
  while (i < end) {
    if (count === 8) return INVALID;
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
      if (count > 6) return INVALID;
      if (parseV4Into(text, groupStart, end, v4Scratch, 0) === INVALID) return INVALID;
      groups[count++] = v4Scratch[0] >>> 16;
      groups[count++] = v4Scratch[0] & 0xffff;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4) return INVALID;
    groups[count++] = group;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return INVALID;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gapAt >= 0) return INVALID;
      gapAt = count;
      i++;
    } else if (i === end) {
      return INVALID; // trailing single colon
    }
  }
  if (gapAt >= 0) {
    if (count === 8) return INVALID; // :: must stand for at least one group
    const tail = count - gapAt;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k];
    for (let k = gapAt; k < 8 - tail; k++) groups[k] = 0;
  } else if (count !== 8) {
    return INVALID;
  }
  for (let w = 0; w < 4; w++) out[at + w] = ((groups[2 * w] << 16) | groups[2 * w + 1]) >>> 0;
  return 1;
}

/** Set by parseCidrInto: the text had host bits set beyond its prefix. */
let lastHadHostBits = false;

/**
 * Parses "address" or "address/prefix" from text[start, end) into out[at..at+3] with host bits
 * cleared. Returns -1 when invalid, else (version << 8) | prefixLength, and sets lastHadHostBits.
 */

function parseCidrInto(text: string, start: number, end: number, out: Uint32Array, at: number): number {
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
  if (ok === INVALID) return INVALID;
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
  lastHadHostBits = false;
  const words = version === 4 ? 1 : 4;
  for (let w = 0; w < words; w++) {
    const mask = wordMask(prefix, w);
    const masked = (out[at + w] & mask) >>> 0;
    if (masked !== out[at + w]) lastHadHostBits = true;
    out[at + w] = masked;
  }
  return (version << 8) | prefix;
}

/** Network mask of word w (0..3) for a prefix length. */
function wordMask(prefix: number, w: number): number {
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
  return { version: (code >> 8) as IpVersion, words };
}

/** Parses an address or CIDR block; host bits beyond the prefix are cleared and flagged. */
export function parseCidr(text: string): ParsedCidr | null {
  const t = text.trim();
  const words = new Uint32Array(4);
  const code = parseCidrInto(t, 0, t.length, words, 0);
  if (code === INVALID) return null;
  return { version: (code >> 8) as IpVersion, words, prefixLength: code & 0xff, hadHostBits: lastHadHostBits };
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

// ---------------------------------------------------------------------------------------------
// Special addresses

/**
 * Multicast (224.0.0.0/4, ff00::/8), limited broadcast, loopback (127.0.0.0/8, ::1) and
 * unspecified (0.0.0.0, ::). Such an address is never an "external" peer.
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

/** Not in the home networks and not a special address: a peer outside the site. */
export function isExternalAddress(homeNet: AddressSet<unknown>, version: number, words: ArrayLike<number>, at: number): boolean {
  return !isSpecialAddress(version, words, at) && !homeNet.has(version, words, at);
}

// ---------------------------------------------------------------------------------------------
// Compiled set

/**
 * Disjoint ranges of one IP version: range i starts at starts[i*W..] and ends where i+1 starts.
 * A directory narrows each search to a few neighbouring ranges: up to 16 address bits following
 * the prefix every entry shares pick a slot, and the slot holds the first range to look at, so
 * the search stays within a few cache lines even for a million ranges.
 */
interface Ranges {
  /** Words per address: 1 for IPv4, 4 for IPv6. */
  width: number;
  /** W words per range start; range 0 starts at address 0. */
  starts: Uint32Array;
  /** Index into the set's entries of the most specific entry covering the range, or -1. */
  owners: Int32Array;
  count: number;
  /** The shared prefix (a multiple of 16 bits, the rest 0) and the word and half after it. */
  prefix: Uint32Array;
  keyWord: number;
  keyInHighHalf: boolean;
  /** The slot is the 16-bit chunk shifted right by this: fewer slots for fewer ranges. */
  keyShift: number;
  slots: number;
  /** dir[k]: the range holding the first address of slot k; dir[slots]: the one past the prefix. */
  dir: Uint32Array;
}

export class AddressSet<T> {
  private readonly values: readonly T[];
  /** Canonical text per entry; a host entry has no '/'. */
  private readonly cidrs: readonly string[];
  /**
   * Entry objects are made the first time a lookup finds them, then reused: a million loaded
   * entries cost no million extra objects (the garbage collector's share of loading them halves).
   */
  private readonly made: Array<Entry<T> | null>;
  private readonly v4: Ranges;
  private readonly v6: Ranges;

  /**
   * Builds a set from CIDR text, throwing a RangeError that names the first invalid entry, or
   * from a builder (which refuses invalid text one entry at a time instead).
   */
  constructor(source: Iterable<{ cidr: string; value: T }> | AddressSetBuilder<T>) {
    let builder: AddressSetBuilder<T>;
    if (source instanceof AddressSetBuilder) {
      builder = source;
    } else {
      builder = new AddressSetBuilder<T>();
      let index = 0;
      for (const item of source) {
        if (builder.add(item.cidr, item.value) === null) {
          throw new RangeError(`invalid address or CIDR at entry ${index}: ${JSON.stringify(item.cidr)}`);
        }
        index++;
      }
    }
    const compiled = builder.compile();
    this.values = compiled.values;
    this.cidrs = compiled.cidrs;
    this.made = new Array<Entry<T> | null>(compiled.values.length).fill(null);
    this.v4 = compiled.v4;
    this.v6 = compiled.v6;
  }

  /**
   * One set holding the entries of all the given sets, in order: where two sets hold the same
   * block, the entry of the earlier set wins.
   */
  static merge<T>(sets: readonly AddressSet<T>[]): AddressSet<T> {
    const nonEmpty = sets.filter((s) => s.size > 0);
    if (nonEmpty.length === 1) return nonEmpty[0];
    const builder = new AddressSetBuilder<T>();
    for (const set of nonEmpty) for (let i = 0; i < set.size; i++) builder.add(set.cidrs[i], set.values[i]);
    return builder.build();
  }

  get size(): number {
    return this.values.length;
  }

  /** Entry number `index` in the order entries were added. */
  entryAt(index: number): Entry<T> {
    if (!(index >= 0 && index < this.values.length)) throw new RangeError(`no entry ${index} in a set of ${this.values.length}`);
    return this.made[index] ?? this.make(index);
  }

  /** Number of compiled ranges (gaps included) for a version. */
  rangeCount(version: IpVersion): number {
    return version === 4 ? this.v4.count : this.v6.count;
  }

  /** The most specific entry containing the address (longest prefix; on a tie the first added). */
  lookup(version: number, words: ArrayLike<number>, at: number): Entry<T> | null {
    let owner: number;
    if (version === 4) owner = findV4(this.v4, words, at);
    else if (version === 6) owner = findV6(this.v6, words, at);
    else return null;
    if (owner < 0) return null;
    return this.made[owner] ?? this.make(owner);
  }

  has(version: number, words: ArrayLike<number>, at: number): boolean {
    if (version === 4) return findV4(this.v4, words, at) >= 0;
    if (version === 6) return findV6(this.v6, words, at) >= 0;
    return false;
  }

  private make(index: number): Entry<T> {
    // Canonical text always parses; reading version and prefix back spares two arrays.
    const cidr = this.cidrs[index];
    const code = parseCidrInto(cidr, 0, cidr.length, makeScratch, 0);
    const version = (code >> 8) as IpVersion;
    const prefixLength = code & 0xff;
    const entry: Entry<T> = {
      cidr,
      version,
      prefixLength,
      exact: prefixLength === (version === 4 ? 32 : 128),
      value: this.values[index],
    };
    this.made[index] = entry;
    return entry;
  }
}

const makeScratch = new Uint32Array(4);

// The window [windowLo, windowHi] of ranges that can hold the address; set by narrow().
let windowLo = 0;
let windowHi = 0;

function narrow(r: Ranges, words: ArrayLike<number>, at: number): void {
  const prefix = r.prefix;
  const j = r.keyWord;
  let order = 0;
  for (let w = 0; w < j; w++) {
    const a = words[at + w] >>> 0;
    if (a !== prefix[w]) {
      order = a < prefix[w] ? -1 : 1;
      break;
    }
  }
  const aj = words[at + j] >>> 0;
  let chunk: number;
  if (r.keyInHighHalf) {
    chunk = aj >>> 16;
  } else {
    chunk = aj & 0xffff;
    if (order === 0) {
      const high = aj >>> 16;
      const prefixHigh = prefix[j] >>> 16;
      if (high !== prefixHigh) order = high < prefixHigh ? -1 : 1;
    }
  }
  if (order === 0) {
    const slot = chunk >>> r.keyShift;
    windowLo = r.dir[slot];
    windowHi = r.dir[slot + 1];
  } else if (order < 0) {
    windowLo = 0;
    windowHi = r.dir[0];
  } else {
    windowLo = r.dir[r.slots];
    windowHi = r.count - 1;
  }
}

/** Owner of the last range starting at or before the IPv4 address; the search stays in the window. */
function findV4(r: Ranges, words: ArrayLike<number>, at: number): number {
  narrow(r, words, at);
  const a = words[at] >>> 0;
  const starts = r.starts;
  let lo = windowLo;
  let hi = windowHi;
  // Invariant: starts[lo] <= a, and the answer is at most hi.
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid] <= a) lo = mid;
    else hi = mid - 1;
  }
  return r.owners[lo];
}

function findV6(r: Ranges, words: ArrayLike<number>, at: number): number {
  narrow(r, words, at);
  const a0 = words[at] >>> 0;
  const a1 = words[at + 1] >>> 0;
  const a2 = words[at + 2] >>> 0;
  const a3 = words[at + 3] >>> 0;
  const starts = r.starts;
  let lo = windowLo;
  let hi = windowHi;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    const o = mid * 4;
    let atOrBefore: boolean;
    if (starts[o] !== a0) atOrBefore = starts[o] < a0;
    else if (starts[o + 1] !== a1) atOrBefore = starts[o + 1] < a1;
    else if (starts[o + 2] !== a2) atOrBefore = starts[o + 2] < a2;
    else atOrBefore = starts[o + 3] <= a3;
    if (atOrBefore) lo = mid;
    else hi = mid - 1;
  }
  return r.owners[lo];
}

// ---------------------------------------------------------------------------------------------
// Building

interface Compiled<T> {
  values: T[];
  cidrs: string[];
  v4: Ranges;
  v6: Ranges;
}

/** Entries of one version in the order they were added, ready to compile. */
class VersionEntries {
  words: Uint32Array;
  prefixes: Uint8Array;
  entryIndex: Int32Array;
  count = 0;

  constructor(readonly width: number) {
    this.words = new Uint32Array(64 * width);
    this.prefixes = new Uint8Array(64);
    this.entryIndex = new Int32Array(64);
  }

  push(src: Uint32Array, prefix: number, entry: number): void {
    if (this.count === this.prefixes.length) {
      const cap = this.count * 2;
      const words = new Uint32Array(cap * this.width);
      words.set(this.words);
      this.words = words;
      const prefixes = new Uint8Array(cap);
      prefixes.set(this.prefixes);
      this.prefixes = prefixes;
      const entryIndex = new Int32Array(cap);
      entryIndex.set(this.entryIndex);
      this.entryIndex = entryIndex;
    }
    const o = this.count * this.width;
    for (let w = 0; w < this.width; w++) this.words[o + w] = src[w];
    this.prefixes[this.count] = prefix;
    this.entryIndex[this.count] = entry;
    this.count++;
  }
}

/**
 * Collects entries one by one (invalid text is refused, never thrown) and compiles them. The
 * loader of indicator files uses it so that a bad line costs a message, not the whole file.
 */
export class AddressSetBuilder<T> {
  private readonly values: T[] = [];
  private readonly cidrs: string[] = [];
  private readonly v4 = new VersionEntries(1);
  private readonly v6 = new VersionEntries(4);
  private readonly scratch = new Uint32Array(4);
  private built = false;

  get size(): number {
    return this.values.length;
  }

  /**
   * Adds an entry and returns its canonical text (host bits cleared; a host entry without
   * /32 or /128, so it has no '/'), or null when the text is not an address or CIDR block.
   */
  add(cidr: string, value: T): string | null {
    if (this.built) throw new Error('AddressSetBuilder: add after build');
    const text = cidr.trim();
    const code = parseCidrInto(text, 0, text.length, this.scratch, 0);
    if (code === INVALID) return null;
    const version = (code >> 8) as IpVersion;
    const prefixLength = code & 0xff;
    // IPv4 text that parsed cleanly (no leading zeros, no host bits, no /32) is already canonical.
    const canonical =
      version === 4 && !lastHadHostBits && (prefixLength !== 32 || text.indexOf('/') < 0)
        ? text
        : formatCidr(version, this.scratch, 0, prefixLength);
    const index = this.values.length;
    this.values.push(value);
    this.cidrs.push(canonical);
    (version === 4 ? this.v4 : this.v6).push(this.scratch, prefixLength, index);
    return canonical;
  }

  build(): AddressSet<T> {
    return new AddressSet(this);
  }

  /** @internal the compiled form, for the AddressSet constructor; the builder is then closed. */
  compile(): Compiled<T> {
    if (this.built) throw new Error('AddressSetBuilder: built twice');
    this.built = true;
    return {
      values: this.values,
      cidrs: this.cidrs,
      v4: compileRanges(this.v4),
      v6: compileRanges(this.v6),
    };
  }
}

/**
 * CIDR blocks are either nested or disjoint, so after sorting by (start, wider first, first
 * added) one sweep with a stack of open blocks yields the ranges: a block opens a range at its
 * start, and when it closes the enclosing block resumes one past its end.
 */
function compileRanges(src: VersionEntries): Ranges {
  const W = src.width;
  const n = src.count;
  const starts = src.words;
  const prefixes = src.prefixes;

  const ends = new Uint32Array(n * W);
  for (let i = 0; i < n; i++) {
    for (let w = 0; w < W; w++) ends[i * W + w] = (starts[i * W + w] | ~wordMask(prefixes[i], w)) >>> 0;
  }

  const order = sortedOrder(starts, prefixes, n, W);

  const maxRanges = 2 * n + 1;
  const out = new Uint32Array(maxRanges * W);
  const owners = new Int32Array(maxRanges);
  owners[0] = -1;
  let count = 1;
  const next = new Uint32Array(W);

  const emit = (from: Uint32Array, fromAt: number, owner: number): void => {
    const last = (count - 1) * W;
    if (sameWords(out, last, from, fromAt, W)) {
      owners[count - 1] = owner;
      if (count >= 2 && owners[count - 2] === owner) count--;
      return;
    }
    if (owners[count - 1] === owner) return;
    for (let w = 0; w < W; w++) out[count * W + w] = from[fromAt + w];
    owners[count] = owner;
    count++;
  };

  const stack = new Int32Array(W === 1 ? 33 : 129);
  let depth = 0;
  const close = (): void => {
    const top = stack[--depth];
    if (increment(ends, top * W, next, W)) emit(next, 0, depth > 0 ? src.entryIndex[stack[depth - 1]] : -1);
  };

  for (let k = 0; k < n; k++) {
    const i = order[k];
    while (depth > 0 && compareWords(ends, stack[depth - 1] * W, starts, i * W, W) < 0) close();
    if (depth > 0) {
      const top = stack[depth - 1];
      // The same block again: the first one added stays.
      if (prefixes[top] === prefixes[i] && sameWords(starts, top * W, starts, i * W, W)) continue;
    }
    stack[depth++] = i;
    emit(starts, i * W, src.entryIndex[i]);
  }
  while (depth > 0) close();

  return withDirectory(W, out.slice(0, count * W), owners.slice(0, count), count);
}

/**
 * Chooses the directory bits: the 16 after the longest prefix (a multiple of 16 bits) shared by
 * the lowest and the highest address any entry covers, since every address between them has it.
 */
function withDirectory(W: number, starts: Uint32Array, owners: Int32Array, count: number): Ranges {
  let shared = 0;
  if (count > 1) {
    const highest = new Uint32Array(W);
    if (owners[count - 1] >= 0) highest.set(starts.subarray((count - 1) * W, count * W));
    else decrement(starts, (count - 1) * W, highest, W); // the last range is the gap after every entry
    for (let w = 0; w < W; w++) {
      const diff = (starts[W + w] ^ highest[w]) >>> 0;
      shared += Math.clz32(diff);
      if (diff !== 0) break;
    }
  }
  const keyBit = Math.min(shared - (shared % 16), 32 * W - 16);
  const prefix = new Uint32Array(W);
  if (count > 1) for (let w = 0; w < W; w++) prefix[w] = (starts[W + w] & wordMask(keyBit, w)) >>> 0;
  const keyWord = keyBit >>> 5;
  const keyInHighHalf = (keyBit & 16) === 0;
  // About eight ranges a slot, at most 2^16 slots.
  const slotBits = Math.max(0, Math.min(16, Math.floor(Math.log2(count / 8))));
  const keyShift = 16 - slotBits;
  const slots = 1 << slotBits;
  const ranges: Ranges = { width: W, starts, owners, count, prefix, keyWord, keyInHighHalf, keyShift, slots, dir: new Uint32Array(slots + 1) };

  // Slot addresses rise with k, so one walk over the ranges finds the range holding each.
  const address = new Uint32Array(W);
  let range = 0;
  const rangeHolding = (a: Uint32Array): number => {
    while (range + 1 < count && compareWords(starts, (range + 1) * W, a, 0, W) <= 0) range++;
    return range;
  };
  for (let k = 0; k < slots; k++) {
    address.set(prefix);
    const chunk = k << keyShift;
    address[keyWord] = (address[keyWord] | (keyInHighHalf ? chunk << 16 : chunk)) >>> 0;
    ranges.dir[k] = rangeHolding(address);
  }
  // One past the prefix block: its last address plus one, unless the block ends the space.
  for (let w = 0; w < W; w++) address[w] = (prefix[w] | ~wordMask(keyBit, w)) >>> 0;
  const past = new Uint32Array(W);
  ranges.dir[slots] = increment(address, 0, past, W) ? rangeHolding(past) : count - 1;
  return ranges;
}

/**
 * Indices sorted by start address, then shorter prefix first, then insertion order: an LSD radix
 * sort on 16-bit digits (stable, so insertion order survives), least significant key first.
 */
function sortedOrder(starts: Uint32Array, prefixes: Uint8Array, n: number, W: number): Uint32Array {
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let spare = new Uint32Array(n);
  const counts = new Uint32Array(65536);
  const pass = (keys: Uint32Array | Uint8Array, stride: number, offset: number, shift: number): void => {
    counts.fill(0);
    for (let k = 0; k < n; k++) counts[(keys[order[k] * stride + offset] >>> shift) & 0xffff]++;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = counts[d];
      if (c === n) return; // every key has this digit: nothing to reorder
      counts[d] = sum;
      sum += c;
    }
    for (let k = 0; k < n; k++) {
      const i = order[k];
      spare[counts[(keys[i * stride + offset] >>> shift) & 0xffff]++] = i;
    }
    const t = order;
    order = spare;
    spare = t;
  };
  pass(prefixes, 1, 0, 0);
  for (let w = W - 1; w >= 0; w--) {
    pass(starts, W, w, 0);
    pass(starts, W, w, 16);
  }
  return order;
}

function compareWords(a: Uint32Array, aAt: number, b: Uint32Array, bAt: number, W: number): number {
  for (let w = 0; w < W; w++) {
    const x = a[aAt + w];
    const y = b[bAt + w];
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function sameWords(a: Uint32Array, aAt: number, b: Uint32Array, bAt: number, W: number): boolean {
  for (let w = 0; w < W; w++) if (a[aAt + w] !== b[bAt + w]) return false;
  return true;
}

/** out = src - 1, for src above 0. */
function decrement(src: Uint32Array, at: number, out: Uint32Array, W: number): void {
  let borrow = 1;
  for (let w = W - 1; w >= 0; w--) {
    const v = src[at + w] - borrow;
    out[w] = v >>> 0;
    borrow = v < 0 ? 1 : 0;
  }
}

/** out = src + 1; false when src is the last address of the space (no successor). */
function increment(src: Uint32Array, at: number, out: Uint32Array, W: number): boolean {
  let carry = 1;
  for (let w = W - 1; w >= 0; w--) {
    const v = src[at + w] + carry;
    out[w] = v >>> 0;
    carry = v > 0xffffffff ? 1 : 0;
  }
  return carry === 0;
}
