import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../src/lib/ip-text.js';
import { isSpecialAddress } from '../../src/lib/special-address.js';

/** The address's words at an offset inside a larger array, as the decoder places them. */
function args(text: string): [4 | 6, Uint32Array, number] {
  const parsed = parseAddress(text);
  if (parsed === null) throw new Error(`test address ${text} does not parse`);
  const words = new Uint32Array(12).fill(0xdeadbeef);
  words.set(parsed.words, 4);
  return [parsed.version, words, 4];
}

describe('isSpecialAddress', () => {
  const special = (text: string): boolean => isSpecialAddress(...args(text));

  it('recognises multicast, broadcast, loopback and unspecified addresses', () => {
    for (const t of ['224.0.0.1', '239.255.255.250', '255.255.255.255', '127.0.0.1', '127.255.255.254', '0.0.0.0', 'ff02::1', 'ff05::1:3', '::1', '::']) {
      expect(special(t), t).toBe(true);
    }
    for (const t of ['223.255.255.255', '240.0.0.1', '202.114.4.119', '10.0.0.1', '128.0.0.1', '::2', 'fe80::1', '2001:db8::1', '::ffff:127.0.0.1']) {
      expect(special(t), t).toBe(false);
    }
  });
});
