/**
 * Sets of IPv4/IPv6 addresses and CIDR blocks compiled for lookups on the packet path.
 *
 * Addresses are handled as the decoder holds them: four big-endian 32-bit words starting at an
 * index into a Uint32Array, IPv4 in the first word only (see lib/ip-text.ts, which parses the
 * entries' text). A set is compiled once into disjoint sorted ranges per IP version, each naming
 * the most specific entry that covers it, so a lookup is a binary search over a typed array: no
 * strings, no BigInt, no allocation (an entry's object is made the first time a lookup finds it
 * and reused after).
 *
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are IPv6 here: an IPv4 entry does not match them and
 * they are never converted, because the decoder reports such packets as IPv6 and a rule written
 * for ::ffff:0:0/96 must keep meaning exactly that.
 */
import { formatCidr, HAD_HOST_BITS, INVALID, parseCidrInto, wordMask, type IpVersion } from '../lib/ip-text.js';
import { isSpecialAddress } from '../lib/special-address.js';

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
// External addresses

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
  /**
   * Search windows, slots + 3 range numbers: window s (see narrow) runs from bounds[s] to
   * bounds[s + 1]. bounds[0] is range 0 (below the prefix), bounds[1 + k] the range holding the
   * first address of slot k, bounds[1 + slots] the one holding the first address past the prefix,
   * bounds[2 + slots] the last range.
   */
  bounds: Uint32Array;
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
    const version = ((code >> 8) & 0xff) as IpVersion;
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

/**
 * The search window that can hold the address: 0 below the prefix every range shares, 1 + k in
 * slot k of the prefix, slots + 1 above it. The window runs from r.bounds[s] to r.bounds[s + 1].
 */
function narrow(r: Ranges, words: ArrayLike<number>, at: number): number {
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
  if (order === 0) return 1 + (chunk >>> r.keyShift);
  return order < 0 ? 0 : r.slots + 1;
}

/** Owner of the last range starting at or before the IPv4 address; the search stays in the window. */
function findV4(r: Ranges, words: ArrayLike<number>, at: number): number {
  const s = narrow(r, words, at);
  const a = words[at] >>> 0;
  const starts = r.starts;
  let lo = r.bounds[s];
  let hi = r.bounds[s + 1];
  // Invariant: starts[lo] <= a, and the answer is at most hi.
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid] <= a) lo = mid;
    else hi = mid - 1;
  }
  return r.owners[lo];
}

function findV6(r: Ranges, words: ArrayLike<number>, at: number): number {
  const s = narrow(r, words, at);
  const a0 = words[at] >>> 0;
  const a1 = words[at + 1] >>> 0;
  const a2 = words[at + 2] >>> 0;
  const a3 = words[at + 3] >>> 0;
  const starts = r.starts;
  let lo = r.bounds[s];
  let hi = r.bounds[s + 1];
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
    const version = ((code >> 8) & 0xff) as IpVersion;
    const prefixLength = code & 0xff;
    // IPv4 text that parsed cleanly (no leading zeros, no host bits, no /32) is already canonical.
    const canonical =
      version === 4 && (code & HAD_HOST_BITS) === 0 && (prefixLength !== 32 || text.indexOf('/') < 0)
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
  const stack = new Int32Array(W === 1 ? 33 : 129);
  let depth = 0;

  // Step n closes the blocks still open after the last one.
  for (let k = 0; k <= n; k++) {
    const i = k < n ? order[k] : -1;
    while (depth > 0 && (i < 0 || compareWords(ends, stack[depth - 1] * W, starts, i * W, W) < 0)) {
      const closed = stack[--depth];
      if (increment(ends, closed * W, next, W)) count = appendRange(out, owners, count, W, next, 0, depth > 0 ? src.entryIndex[stack[depth - 1]] : -1);
    }
    if (i < 0) break;
    if (depth > 0) {
      const top = stack[depth - 1];
      // The same block again: the first one added stays.
      if (prefixes[top] === prefixes[i] && sameWords(starts, top * W, starts, i * W, W)) continue;
    }
    stack[depth++] = i;
    count = appendRange(out, owners, count, W, starts, i * W, src.entryIndex[i]);
  }

  return withDirectory(W, out.slice(0, count * W), owners.slice(0, count), count);
}

/**
 * Appends the range starting at from[fromAt..] to the count ranges in out and owners, merging it
 * with the last where they start together or have the same owner; returns the new count.
 */
function appendRange(out: Uint32Array, owners: Int32Array, count: number, W: number, from: Uint32Array, fromAt: number, owner: number): number {
  if (sameWords(out, (count - 1) * W, from, fromAt, W)) {
    owners[count - 1] = owner;
    return count >= 2 && owners[count - 2] === owner ? count - 1 : count;
  }
  if (owners[count - 1] === owner) return count;
  for (let w = 0; w < W; w++) out[count * W + w] = from[fromAt + w];
  owners[count] = owner;
  return count + 1;
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
  const bounds = new Uint32Array(slots + 3);

  // Slot addresses rise with k, so one walk over the ranges finds the range holding each.
  const address = new Uint32Array(W);
  let range = 0;
  for (let k = 0; k < slots; k++) {
    address.set(prefix);
    const chunk = k << keyShift;
    address[keyWord] = (address[keyWord] | (keyInHighHalf ? chunk << 16 : chunk)) >>> 0;
    range = rangeHolding(starts, count, W, address, range);
    bounds[1 + k] = range;
  }
  // One past the prefix block: its last address plus one, unless the block ends the space.
  for (let w = 0; w < W; w++) address[w] = (prefix[w] | ~wordMask(keyBit, w)) >>> 0;
  const past = new Uint32Array(W);
  bounds[1 + slots] = increment(address, 0, past, W) ? rangeHolding(starts, count, W, past, range) : count - 1;
  bounds[2 + slots] = count - 1;
  return { width: W, starts, owners, count, prefix, keyWord, keyInHighHalf, keyShift, slots, bounds };
}

/** The last of the count ranges starting at or before address a, searching on from range `from`. */
function rangeHolding(starts: Uint32Array, count: number, W: number, a: Uint32Array, from: number): number {
  let range = from;
  while (range + 1 < count && compareWords(starts, (range + 1) * W, a, 0, W) <= 0) range++;
  return range;
}

/** Below this many entries a comparison sort is quicker than the radix sort (compiling a set took the same 0.9-1.0 ms either way at 2 048). */
const RADIX_SORT_FROM = 2048;

/**
 * Indices sorted by start address, then shorter prefix first, then insertion order: an LSD radix
 * sort on 16-bit digits (stable, so insertion order survives), least significant key first. Small
 * sets (every rule's own addresses, HOME_NET) take a comparison sort instead: each radix pass
 * clears and walks 65 536 counters, which made compiling a handful of addresses cost milliseconds.
 */
function sortedOrder(starts: Uint32Array, prefixes: Uint8Array, n: number, W: number): Uint32Array {
  let order: Uint32Array = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < RADIX_SORT_FROM) {
    return order.sort((a, b) => compareWords(starts, a * W, starts, b * W, W) || prefixes[a] - prefixes[b] || a - b);
  }
  let spare: Uint32Array = new Uint32Array(n);
  const counts = new Uint32Array(65536);
  // Digits from the least significant: the prefix length, then each word's low and high half.
  const passes: Array<[keys: Uint32Array | Uint8Array, stride: number, offset: number, shift: number]> = [[prefixes, 1, 0, 0]];
  for (let w = W - 1; w >= 0; w--) passes.push([starts, W, w, 0], [starts, W, w, 16]);
  for (const [keys, stride, offset, shift] of passes) {
    const sorted = radixPass(order, spare, counts, keys, stride, offset, shift);
    if (sorted !== order) {
      spare = order;
      order = sorted;
    }
  }
  return order;
}

/**
 * One stable counting pass of the radix sort on the 16-bit digit (keys[i * stride + offset] >>>
 * shift) of each index in order. Returns the reordered indices, written into spare, or order
 * itself when every key has the same digit (nothing to reorder).
 */
function radixPass(
  order: Uint32Array,
  spare: Uint32Array,
  counts: Uint32Array,
  keys: Uint32Array | Uint8Array,
  stride: number,
  offset: number,
  shift: number,
): Uint32Array {
  const n = order.length;
  counts.fill(0);
  for (let k = 0; k < n; k++) counts[(keys[order[k] * stride + offset] >>> shift) & 0xffff]++;
  let sum = 0;
  for (let d = 0; d < 65536; d++) {
    const c = counts[d];
    if (c === n) return order;
    counts[d] = sum;
    sum += c;
  }
  for (let k = 0; k < n; k++) {
    const i = order[k];
    spare[counts[(keys[i * stride + offset] >>> shift) & 0xffff]++] = i;
  }
  return spare;
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
