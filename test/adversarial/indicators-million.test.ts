/**
 * An indicator list of a million overlapping CIDR blocks (nested at every depth, duplicates
 * included) loads, answers lookups with the most specific block, and keeps memory bounded.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadIndicatorFiles } from '../../src/detect/indicators.js';
import { Prng } from '../../tools/craft/index.js';
import { removeTemp, writeTemp } from '../support/captures.js';
import { MB, rss } from './support.js';

afterAll(removeTemp);

const V4_ENTRIES = 900_000;
const V6_ENTRIES = 100_000;
/** 198.18.0.0/15: 131 072 addresses under 900 000 blocks, so blocks overlap everywhere. */
const V4_BASE = 0xc6120000;
const V4_BASE_PREFIX = 15;
/** 2001:db8::/32 */
const V6_BASE = 0x20010db8;

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function dotted(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** The list, with each entry's network and prefix kept for checking lookups by brute force. */
function generate(): { text: string; v4Net: Uint32Array; v4Prefix: Uint8Array; v6Net: Uint32Array; v6Prefix: Uint8Array } {
  const rng = new Prng(0x1d1ca70);
  const v4Net = new Uint32Array(V4_ENTRIES);
  const v4Prefix = new Uint8Array(V4_ENTRIES);
  const v6Net = new Uint32Array(V6_ENTRIES * 4);
  const v6Prefix = new Uint8Array(V6_ENTRIES);
  const lines: string[] = [];
  for (let i = 0; i < V4_ENTRIES; i++) {
    // Longer prefixes are likelier, so most addresses sit under many nested blocks.
    const prefix = Math.min(32, V4_BASE_PREFIX + Math.floor(Math.sqrt(rng.next()) * 18));
    const net = ((V4_BASE | rng.int(0, (1 << (32 - V4_BASE_PREFIX)) - 1)) & maskOf(prefix)) >>> 0;
    v4Net[i] = net;
    v4Prefix[i] = prefix;
    lines.push(prefix === 32 ? dotted(net) : `${dotted(net)}/${prefix}`);
  }
  for (let i = 0; i < V6_ENTRIES; i++) {
    const prefix = 32 + Math.floor(Math.sqrt(rng.next()) * 97);
    const words = [V6_BASE, rng.int(0, 0xff) << 24, rng.int(0, 3), rng.int(0, 0xffffffff)];
    for (let w = 0; w < 4; w++) {
      const bits = Math.max(0, Math.min(32, prefix - 32 * w));
      v6Net[i * 4 + w] = (words[w] & maskOf(bits)) >>> 0;
    }
    v6Prefix[i] = prefix;
    const groups: string[] = [];
    for (let w = 0; w < 4; w++) groups.push((v6Net[i * 4 + w] >>> 16).toString(16), (v6Net[i * 4 + w] & 0xffff).toString(16));
    lines.push(`${groups.join(':')}/${prefix} generated block ${i}`);
  }
  return { text: lines.join('\n') + '\n', v4Net, v4Prefix, v6Net, v6Prefix };
}

describe('an indicator list of a million overlapping CIDR blocks', () => {
  it('loads, finds the most specific block for every sampled address, and stays within memory bounds', async () => {
    const list = generate();
    const file = writeTemp('million.txt', Buffer.from(list.text));
    const rssBefore = rss();
    const loaded = await loadIndicatorFiles([file]);
    const rssAfter = rss();
    expect(loaded.problems).toEqual([]);
    expect(loaded.files[0]).toMatchObject({ loaded: V4_ENTRIES + V6_ENTRIES, skipped: 0 });
    const set = loaded.set;

    const rng = new Prng(99);
    const addr = new Uint32Array(4);
    // IPv4: random addresses of the range, addresses inside random blocks, and addresses outside.
    for (let k = 0; k < 600; k++) {
      let a: number;
      if (k < 250) a = (V4_BASE | rng.int(0, (1 << (32 - V4_BASE_PREFIX)) - 1)) >>> 0;
      else if (k < 550) {
        const e = rng.int(0, V4_ENTRIES - 1);
        a = (list.v4Net[e] | (rng.int(0, 0xffffffff) & ~maskOf(list.v4Prefix[e]))) >>> 0;
      } else a = rng.pick([0x0a000001, 0xc6140000, 0xc611ffff, rng.int(0, 0xffffffff) & 0x7fffffff]);
      // Brute force: the longest prefix that covers it, the first such line on a tie.
      let best = -1;
      for (let e = 0; e < V4_ENTRIES; e++) {
        const p = list.v4Prefix[e];
        if (((a & maskOf(p)) >>> 0) === list.v4Net[e] && (best < 0 || p > list.v4Prefix[best])) best = e;
      }
      addr[0] = a;
      const found = set.lookup(4, addr, 0);
      if (best < 0) expect(found, dotted(a)).toBeNull();
      else {
        expect(found?.prefixLength, dotted(a)).toBe(list.v4Prefix[best]);
        expect(found?.value.line, dotted(a)).toBe(best + 1);
      }
    }
    // IPv6, the same way.
    for (let k = 0; k < 300; k++) {
      const e0 = rng.int(0, V6_ENTRIES - 1);
      for (let w = 0; w < 4; w++) {
        const bits = Math.max(0, Math.min(32, list.v6Prefix[e0] - 32 * w));
        addr[w] = (list.v6Net[e0 * 4 + w] | (rng.int(0, 0xffffffff) & ~maskOf(bits))) >>> 0;
      }
      if (k >= 280) addr[0] = 0x20010db9; // outside 2001:db8::/32
      let best = -1;
      for (let e = 0; e < V6_ENTRIES; e++) {
        const p = list.v6Prefix[e];
        let covers = true;
        for (let w = 0; w < 4 && covers; w++) {
          const bits = Math.max(0, Math.min(32, p - 32 * w));
          covers = ((addr[w] & maskOf(bits)) >>> 0) === list.v6Net[e * 4 + w];
        }
        if (covers && (best < 0 || p > list.v6Prefix[best])) best = e;
      }
      const found = set.lookup(6, addr, 0);
      if (best < 0) expect(found).toBeNull();
      else {
        expect(found?.prefixLength).toBe(list.v6Prefix[best]);
        expect(found?.value.line).toBe(V4_ENTRIES + best + 1);
      }
    }
    // A million entries with their text and descriptions: a few hundred megabytes at most.
    expect(rssAfter - rssBefore).toBeLessThan(768 * MB);
  }, 120_000);
});
