import fc from 'fast-check';
import IPCIDR from 'ip-cidr';
import { describe, expect, it } from 'vitest';
import { formatAddress, formatCidr, parseAddress, parseCidr } from '../../src/lib/ip-text.js';

describe('parseAddress / parseCidr', () => {
  it('parses IPv4 into the first word, big-endian, leaving the others zero', () => {
    const p = parseAddress('192.168.1.20');
    expect(p?.version).toBe(4);
    expect([...p!.words]).toEqual([0xc0a80114, 0, 0, 0]);
  });

  it('parses IPv6 forms: compressed, full with leading zeros, upper case, trailing dotted quad', () => {
    const expected = [0x20010db8, 0, 0, 0x00020001];
    expect([...parseAddress('2001:db8::2:1')!.words]).toEqual(expected);
    expect([...parseAddress('2001:0DB8:0000:0000:0000:0000:0002:0001')!.words]).toEqual(expected);
    expect([...parseAddress('::ffff:202.114.4.119')!.words]).toEqual([0, 0, 0xffff, 0xca720477]);
    expect([...parseAddress('::')!.words]).toEqual([0, 0, 0, 0]);
    expect([...parseAddress('::1')!.words]).toEqual([0, 0, 0, 1]);
    expect([...parseAddress('1::')!.words]).toEqual([0x00010000, 0, 0, 0]);
    expect(parseAddress('fe80::1')?.version).toBe(6);
  });

  it('rejects malformed text instead of guessing', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4', // leading zero: octal to some parsers
      '1..2.3',
      'example.com',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '1::2::3',
      ':1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:',
      '12345::',
      '1:2:3:4:5:6:7::8',
      '2001:db8::1%eth0',
      '[2001:db8::1]',
      '::ffff:1.2.3',
      '1:2:3:4:5:6:7:1.2.3.4',
      '10.0.0.0/8',
    ]) {
      expect(parseAddress(bad), bad).toBeNull();
    }
  });

  it('parses CIDR blocks, clears host bits and says so', () => {
    expect(parseCidr('10.1.2.3/8')).toMatchObject({ version: 4, prefixLength: 8, hadHostBits: true });
    expect(parseCidr('10.1.2.3/8')!.words[0]).toBe(0x0a000000);
    expect(parseCidr('10.0.0.0/8')).toMatchObject({ prefixLength: 8, hadHostBits: false });
    expect(parseCidr('1.2.3.4')).toMatchObject({ prefixLength: 32 });
    expect(parseCidr('2001:db8::/32')).toMatchObject({ version: 6, prefixLength: 32 });
    expect(parseCidr('::1')).toMatchObject({ prefixLength: 128 });
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ prefixLength: 0 });
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/-1', '10.0.0.0/8/8', '/8']) {
      expect(parseCidr(bad), bad).toBeNull();
    }
  });

  it('agrees with ip-cidr on the first and last address of random blocks', () => {
    const toBig = (words: Uint32Array, version: number): bigint =>
      version === 4 ? BigInt(words[0]) : [...words].reduce((acc, w) => (acc << 32n) | BigInt(w), 0n);
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 }), fc.nat(128), (v4, raw, bits) => {
        const version = v4 ? 4 : 6;
        const prefix = v4 ? bits % 33 : bits;
        const text = formatAddress(version, Uint32Array.from(raw), 0) + '/' + prefix;
        const ours = parseCidr(text)!;
        const theirs = new IPCIDR(text);
        const width = v4 ? 32 : 128;
        const start = toBig(ours.words, version);
        const end = start + (1n << BigInt(width - ours.prefixLength)) - 1n;
        expect(start).toBe(theirs.start<bigint>({ type: 'bigInteger' }));
        expect(end).toBe(theirs.end<bigint>({ type: 'bigInteger' }));
      }),
    );
  });
});

describe('formatAddress', () => {
  const fmt = (text: string): string => {
    const p = parseAddress(text)!;
    return formatAddress(p.version, p.words, 0);
  };

  it('writes IPv6 as RFC 5952 says', () => {
    expect(fmt('2001:0db8:0000:0000:0000:0000:0002:0001')).toBe('2001:db8::2:1'); // leading zeros dropped
    expect(fmt('2001:DB8::AB')).toBe('2001:db8::ab'); // lower case
    expect(fmt('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1'); // one zero group stays
    expect(fmt('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1'); // the longest run
    expect(fmt('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1'); // the first of equal runs
    expect(fmt('0:0:0:0:0:0:0:0')).toBe('::');
    expect(fmt('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(fmt('1:0:0:0:0:0:0:0')).toBe('1::');
    expect(fmt('::ffff:c0a8:101')).toBe('::ffff:192.168.1.1'); // IPv4-mapped in mixed notation
  });

  it('reads the decoder layout at an offset', () => {
    const words = Uint32Array.from([0, 0, 0, 0, 0xca720477, 0, 0, 0]);
    expect(formatAddress(4, words, 4)).toBe('202.114.4.119');
    expect(formatAddress(4, words, 0)).toBe('0.0.0.0');
  });

  it('matches ip-cidr for random IPv6 addresses and parses back to the same words', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffff })), { minLength: 4, maxLength: 4 }),
        (raw) => {
          const words = Uint32Array.from(raw);
          fc.pre(!(words[0] === 0 && words[1] === 0 && words[2] === 0xffff)); // ip-cidr reads mapped text as IPv4
          const text = formatAddress(6, words, 0);
          expect(text).toBe(IPCIDR.createAddress(text).correctForm());
          expect([...parseAddress(text)!.words]).toEqual([...words]);
        },
      ),
    );
  });
});

describe('formatCidr', () => {
  it('writes a host without its prefix and a block as address/prefix', () => {
    const v4 = parseAddress('192.0.2.0')!.words;
    const v6 = parseAddress('2001:db8::')!.words;
    expect(formatCidr(4, v4, 0, 32)).toBe('192.0.2.0');
    expect(formatCidr(4, v4, 0, 24)).toBe('192.0.2.0/24');
    expect(formatCidr(6, v6, 0, 128)).toBe('2001:db8::');
    expect(formatCidr(6, v6, 0, 32)).toBe('2001:db8::/32');
    expect(formatCidr(6, v6, 0, 0)).toBe('2001:db8::/0');
  });
});
