import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressSet, AddressSetBuilder, DEFAULT_HOME_NET, isExternalAddress, type Entry } from '../../src/detect/address-set.js';
import { formatAddress, parseAddress } from '../../src/lib/ip-text.js';

/** Words of an address as the decoder would place them, at an offset inside a larger array. */
function place(text: string, at = 4): { version: 4 | 6; words: Uint32Array; at: number } {
  const parsed = parseAddress(text);
  if (parsed === null) throw new Error(`test address ${text} does not parse`);
  const words = new Uint32Array(at + 8).fill(0xdeadbeef);
  words.set(parsed.words.subarray(0, parsed.version === 4 ? 1 : 4), at);
  if (parsed.version === 4) words.fill(0, at + 1, at + 4);
  return { version: parsed.version, words, at };
}

function find<T>(set: AddressSet<T>, text: string): Entry<T> | null {
  const { version, words, at } = place(text);
  return set.lookup(version, words, at);
}

function valueAt<T>(set: AddressSet<T>, text: string): T | null {
  return find(set, text)?.value ?? null;
}

const setOf = (cidrs: string[]): AddressSet<string> => new AddressSet(cidrs.map((cidr) => ({ cidr, value: cidr })));

describe('AddressSet', () => {
  it('returns the most specific of overlapping entries', () => {
    const set = setOf(['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', '10.1.2.0/24']);
    expect(valueAt(set, '10.9.9.9')).toBe('10.0.0.0/8');
    expect(valueAt(set, '10.1.9.9')).toBe('10.1.0.0/16');
    expect(valueAt(set, '10.1.2.2')).toBe('10.1.2.0/24');
    expect(valueAt(set, '10.1.2.3')).toBe('10.1.2.3');
    expect(valueAt(set, '10.1.2.4')).toBe('10.1.2.0/24');
    expect(valueAt(set, '11.0.0.0')).toBeNull();
  });

  it('tells exact host entries from blocks and reports the prefix length', () => {
    const set = setOf(['202.114.4.119', '202.114.4.0/24', '2001:db8::1', '2001:db8::/32', '198.51.100.7/32']);
    expect(find(set, '202.114.4.119')).toMatchObject({ exact: true, prefixLength: 32, cidr: '202.114.4.119', version: 4 });
    expect(find(set, '202.114.4.120')).toMatchObject({ exact: false, prefixLength: 24, cidr: '202.114.4.0/24' });
    expect(find(set, '2001:db8::1')).toMatchObject({ exact: true, prefixLength: 128, version: 6 });
    expect(find(set, '2001:db8::2')).toMatchObject({ exact: false, prefixLength: 32 });
    expect(find(set, '198.51.100.7')).toMatchObject({ exact: true, cidr: '198.51.100.7' }); // /32 written out
  });

  it('covers exactly the first to the last address of an IPv4 block', () => {
    const set = setOf(['192.0.2.64/26']);
    expect(set.has(...args('192.0.2.63'))).toBe(false);
    expect(set.has(...args('192.0.2.64'))).toBe(true);
    expect(set.has(...args('192.0.2.127'))).toBe(true);
    expect(set.has(...args('192.0.2.128'))).toBe(false);
  });

  it('covers exactly the first to the last address of IPv6 blocks, across word boundaries', () => {
    const set = setOf(['2001:db8:0:1::/64', '2001:db8:0:2::/96', '2001:db8:1::/48']);
    expect(set.has(...args('2001:db8:0:0:ffff:ffff:ffff:ffff'))).toBe(false);
    expect(set.has(...args('2001:db8:0:1::'))).toBe(true);
    expect(set.has(...args('2001:db8:0:1:ffff:ffff:ffff:ffff'))).toBe(true);
    expect(set.has(...args('2001:db8:0:2::'))).toBe(true);
    expect(set.has(...args('2001:db8:0:2:0:0:ffff:ffff'))).toBe(true);
    expect(set.has(...args('2001:db8:0:2:0:1::'))).toBe(false);
    expect(set.has(...args('2001:db8:0:ffff:ffff:ffff:ffff:ffff'))).toBe(false);
    expect(set.has(...args('2001:db8:1::'))).toBe(true);
    expect(set.has(...args('2001:db8:1:ffff:ffff:ffff:ffff:ffff'))).toBe(true);
    expect(set.has(...args('2001:db8:2::'))).toBe(false);
  });

  it('handles the ends of the address space', () => {
    const set = setOf(['255.255.255.0/24', '0.0.0.0/31', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::/127']);
    expect(valueAt(set, '255.255.255.255')).toBe('255.255.255.0/24');
    expect(valueAt(set, '255.255.254.255')).toBeNull();
    expect(valueAt(set, '0.0.0.1')).toBe('0.0.0.0/31');
    expect(valueAt(set, '0.0.0.2')).toBeNull();
    expect(valueAt(set, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    expect(valueAt(set, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe')).toBeNull();
    expect(valueAt(set, '::1')).toBe('::/127');
    expect(valueAt(set, '::2')).toBeNull();
  });

  it('lets /0 entries match every address of their version only, below more specific entries', () => {
    const set = setOf(['0.0.0.0/0', '10.0.0.0/8', '::/0', 'fe80::/10']);
    expect(valueAt(set, '203.0.113.9')).toBe('0.0.0.0/0');
    expect(valueAt(set, '255.255.255.255')).toBe('0.0.0.0/0');
    expect(valueAt(set, '10.2.3.4')).toBe('10.0.0.0/8');
    expect(valueAt(set, '2001:db8::1')).toBe('::/0');
    expect(valueAt(set, 'fe80::1')).toBe('fe80::/10');
    expect(find(set, '0.0.0.0')).toMatchObject({ prefixLength: 0, exact: false });
    expect(setOf(['0.0.0.0/0']).has(...args('::'))).toBe(false);
    expect(setOf(['::/0']).has(...args('0.0.0.0'))).toBe(false);
  });

  it('does not treat IPv4-mapped IPv6 addresses as IPv4', () => {
    const set = setOf(['202.114.4.119']);
    expect(set.has(...args('::ffff:202.114.4.119'))).toBe(false);
    const mapped = setOf(['::ffff:202.114.4.0/120']);
    expect(mapped.has(...args('::ffff:202.114.4.119'))).toBe(true);
    expect(mapped.has(...args('202.114.4.119'))).toBe(false);
    expect(find(mapped, '::ffff:202.114.4.1')?.cidr).toBe('::ffff:202.114.4.0/120');
  });

  it('keeps the first of duplicate entries, however they are written', () => {
    const set = new AddressSet([
      { cidr: '10.0.0.0/8', value: 'first' },
      { cidr: '10.9.9.9/8', value: 'second' },
      { cidr: '10.0.0.0/8', value: 'third' },
      { cidr: '2001:DB8::/32', value: 'v6 first' },
      { cidr: '2001:db8:0::/32', value: 'v6 second' },
    ]);
    expect(valueAt(set, '10.1.1.1')).toBe('first');
    expect(valueAt(set, '2001:db8::5')).toBe('v6 first');
    expect(set.size).toBe(5);
    expect(set.entryAt(1).cidr).toBe('10.0.0.0/8');
    expect(set.entryAt(1).value).toBe('second');
  });

  it('returns the same entry object on every lookup that finds it', () => {
    const set = setOf(['10.0.0.0/8']);
    const first = find(set, '10.1.1.1');
    expect(find(set, '10.2.2.2')).toBe(first);
    expect(set.entryAt(0)).toBe(first);
    expect(() => set.entryAt(1)).toThrow(RangeError);
  });

  it('answers with nothing for an empty set or a version that is not 4 or 6', () => {
    const empty = setOf([]);
    expect(empty.has(...args('10.0.0.1'))).toBe(false);
    expect(find(empty, '::1')).toBeNull();
    const set = setOf(['0.0.0.0/0']);
    expect(set.lookup(0, new Uint32Array(4), 0)).toBeNull();
  });

  it('throws on an invalid entry given to the constructor, naming it', () => {
    expect(() => setOf(['10.0.0.0/8', '10.0.0.0/40'])).toThrow(/entry 1.*10\.0\.0\.0\/40/);
  });

  it('builder refuses invalid text without throwing', () => {
    const b = new AddressSetBuilder<number>();
    expect(b.add('10.0.0.0/8', 1)).not.toBeNull();
    expect(b.add('not an address', 2)).toBeNull();
    expect(b.add('  192.0.2.1  ', 3)).toBe('192.0.2.1');
    expect(b.add('2001:DB8::0:1/128', 4)).toBe('2001:db8::1');
    expect(b.add('192.0.2.1/32', 5)).toBe('192.0.2.1');
    expect(b.add('192.0.2.77/24', 6)).toBe('192.0.2.0/24');
    const set = b.build();
    expect(set.size).toBe(5);
    expect(valueAt(set, '192.0.2.1')).toBe(3);
  });

  it('merges sets with the earlier set winning on the same block', () => {
    const a = new AddressSet([{ cidr: '10.0.0.0/8', value: 'a' }]);
    const b = new AddressSet([
      { cidr: '10.0.0.0/8', value: 'b' },
      { cidr: '10.1.0.0/16', value: 'b16' },
      { cidr: '2001:db8::/32', value: 'b6' },
    ]);
    const merged = AddressSet.merge([a, b]);
    expect(valueAt(merged, '10.2.0.0')).toBe('a');
    expect(valueAt(merged, '10.1.0.0')).toBe('b16');
    expect(valueAt(merged, '2001:db8::1')).toBe('b6');
    expect(find(merged, '10.1.0.0')).toMatchObject({ cidr: '10.1.0.0/16', prefixLength: 16, exact: false });
    expect(merged.size).toBe(4);
    expect(AddressSet.merge([a, setOf([])])).toBe(a);
    expect(AddressSet.merge([]).size).toBe(0);
  });

  it('finds the same entries whether the address sits at word 0 or word 4', () => {
    const set = setOf(['198.51.100.0/24', '2001:db8::/48']);
    const words = new Uint32Array(8);
    words.set(parseAddress('2001:db8::9')!.words, 0);
    words[4] = parseAddress('198.51.100.9')!.words[0];
    expect(set.lookup(6, words, 0)?.value).toBe('2001:db8::/48');
    expect(set.lookup(4, words, 4)?.value).toBe('198.51.100.0/24');
  });
});

describe('external addresses', () => {
  it('calls an address external when it is neither in HOME_NET nor special', () => {
    const home = new AddressSet(DEFAULT_HOME_NET.map((cidr) => ({ cidr, value: true })));
    const external = (t: string): boolean => isExternalAddress(home, ...args(t));
    expect(external('202.114.4.119')).toBe(true);
    expect(external('2001:db8::1')).toBe(true);
    for (const t of ['10.20.30.40', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '169.254.1.1', 'fd00::1', 'fe80::1', '224.0.0.251', '127.0.0.1', 'ff02::fb', '::']) {
      expect(external(t), t).toBe(false);
    }
    expect(external('172.32.0.1')).toBe(true);
    expect(external('100.128.0.1')).toBe(true);
  });
});

function args(text: string): [4 | 6, Uint32Array, number] {
  const { version, words, at } = place(text);
  return [version, words, at];
}

describe('AddressSet against a linear scan', () => {
  interface Block {
    version: 4 | 6;
    words: number[];
    prefix: number;
  }

  // Few distinct base addresses, so that blocks nest, repeat and share boundaries.
  const v4Bases = [0x0a000000, 0x0a010000, 0x0a0102ff, 0xca720477, 0xffffffff, 0, 0x7f000001];
  const v6Bases = [
    [0x20010db8, 0, 0, 1],
    [0x20010db8, 0xffffffff, 0, 0],
    [0x20010db8, 0, 0xffffffff, 0xffffffff],
    [0xfe800000, 0, 0, 0],
    [0, 0, 0xffff, 0xca720477],
    [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
  ];
  const block: fc.Arbitrary<Block> = fc.oneof(
    fc.record({
      version: fc.constant(4 as const),
      words: fc.oneof(fc.constantFrom(...v4Bases), fc.integer({ min: 0, max: 0xffffffff })).map((w) => [w, 0, 0, 0]),
      prefix: fc.integer({ min: 0, max: 32 }),
    }),
    fc.record({
      version: fc.constant(6 as const),
      words: fc.oneof(fc.constantFrom(...v6Bases), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 })),
      prefix: fc.integer({ min: 0, max: 128 }),
    }),
  );

  const maskWord = (w: number, bits: number): number => (bits <= 0 ? 0 : bits >= 32 ? w >>> 0 : (w & (0xffffffff << (32 - bits))) >>> 0);
  const contains = (b: Block, version: number, words: number[]): boolean => {
    if (b.version !== version) return false;
    const count = version === 4 ? 1 : 4;
    for (let w = 0; w < count; w++) {
      if (maskWord(words[w], b.prefix - 32 * w) !== maskWord(b.words[w], b.prefix - 32 * w)) return false;
    }
    return true;
  };

  /** Addresses on and around the blocks' edges, plus random ones. */
  function probes(blocks: Block[], extra: Array<{ version: 4 | 6; words: number[] }>): Array<{ version: 4 | 6; words: number[] }> {
    const out = [...extra];
    for (const b of blocks) {
      const width = b.version === 4 ? 32 : 128;
      const count = b.version === 4 ? 1 : 4;
      const toBig = (ws: number[]): bigint => ws.slice(0, count).reduce((acc, w) => (acc << 32n) | BigInt(w >>> 0), 0n);
      const fromBig = (n: bigint): number[] => {
        const ws = [0, 0, 0, 0];
        for (let w = count - 1; w >= 0; w--) {
          ws[w] = Number(n & 0xffffffffn);
          n >>= 32n;
        }
        return ws;
      };
      const start = (toBig(b.words) >> BigInt(width - b.prefix)) << BigInt(width - b.prefix);
      const end = start + (1n << BigInt(width - b.prefix)) - 1n;
      const max = (1n << BigInt(width)) - 1n;
      for (const n of [start - 1n, start, start + 1n, end - 1n, end, end + 1n]) {
        if (n >= 0n && n <= max) out.push({ version: b.version, words: fromBig(n) });
      }
    }
    return out;
  }

  function agreesWithScan(blocks: Block[], probeList: Array<{ version: 4 | 6; words: number[] }>): void {
    const set = new AddressSet(blocks.map((b, i) => ({ cidr: formatAddress(b.version, Uint32Array.from(b.words), 0) + '/' + b.prefix, value: i })));
    const at = 3;
    const buffer = new Uint32Array(12);
    for (const probe of probeList) {
      const words = probe.version === 4 ? [probe.words[0], 0, 0, 0] : probe.words;
      let best = -1;
      blocks.forEach((b, i) => {
        if (contains(b, probe.version, words) && (best < 0 || b.prefix > blocks[best].prefix)) best = i;
      });
      buffer.set(words, at);
      const got = set.lookup(probe.version, buffer, at);
      expect(got?.value ?? -1).toBe(best);
      expect(set.has(probe.version, buffer, at)).toBe(best >= 0);
      if (got !== null) expect(got.prefixLength).toBe(blocks[best].prefix);
    }
  }

  const anyAddress = fc.record({
    version: fc.constantFrom(4 as const, 6 as const),
    words: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 }),
  });

  it('returns the entry a linear scan picks: longest prefix, first added on a tie', () => {
    fc.assert(
      fc.property(fc.array(block, { maxLength: 40 }), fc.array(anyAddress, { maxLength: 20 }), (blocks, randomAddresses) => {
        agreesWithScan(blocks, probes(blocks, randomAddresses));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with a linear scan for large sets whose blocks share a prefix', () => {
    // Hundreds of blocks under one IPv4 and one IPv6 prefix fill many directory slots; the
    // prefix lengths put the directory bits in high and low halves of different words.
    const v4Base = 0x0a010203;
    const v6Base = [0x20010db8, 0x00010002, 0x00030004, 0x00050006];
    const under = (base: number[], shared: number, random: number[]): number[] =>
      base.map((w, i) => {
        const keep = maskWord(w, shared - 32 * i);
        return (keep | (random[i] & ~maskWord(0xffffffff, shared - 32 * i))) >>> 0;
      });
    const clusteredSet = fc.constantFrom({ v4: 8, v6: 32 }, { v4: 16, v6: 48 }, { v4: 24, v6: 96 }).chain((shared) =>
      // Up to 700 blocks the set is ordered by a comparison sort, from 2 048 by a radix sort.
      fc.constantFrom({ minLength: 200, maxLength: 700 }, { minLength: 2100, maxLength: 2600 }).chain((size) => fc.array(
        fc.oneof(
          fc.record({
            version: fc.constant(4 as const),
            words: fc.integer({ min: 0, max: 0xffffffff }).map((r) => [under([v4Base], shared.v4, [r])[0], 0, 0, 0]),
            prefix: fc.integer({ min: shared.v4, max: 32 }),
          }),
          fc.record({
            version: fc.constant(6 as const),
            words: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 }).map((r) => under(v6Base, shared.v6, r)),
            prefix: fc.integer({ min: shared.v6, max: 128 }),
          }),
        ),
        size,
      )),
    );
    fc.assert(
      fc.property(clusteredSet, fc.array(anyAddress, { maxLength: 50 }), fc.nat(), (blocks, randomAddresses, seed) => {
        const edges = probes(blocks, randomAddresses);
        // A sample of the edges keeps the scan affordable.
        const every = blocks.length > 1000 ? 41 : 7;
        const sample = edges.filter((_, i) => (i * 2654435761 + seed) % every === 0 || i < randomAddresses.length);
        agreesWithScan(blocks, sample);
      }),
      { numRuns: 30 },
    );
  });
});
