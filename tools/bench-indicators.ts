/**
 * Measures loading a million-entry indicator list and looking addresses up in it.
 * Run: npx tsx tools/bench-indicators.ts [entries] [lookups]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCidr } from '../src/lib/ip-text.js';
import { loadIndicatorFiles } from '../src/detect/indicators.js';
import { Prng } from './craft/prng.js';

const ENTRIES = Number(process.argv[2] ?? 1_000_000);
const LOOKUPS = Number(process.argv[3] ?? 10_000_000);

const DOC_V6 = 0x20010db8; // 2001:db8::/32, so IPv6 blocks overlap and lookups can hit them

/** The same list on every run. Three IPv4 entries to one IPv6; prefixes spread so blocks nest at many depths. */
function generateList(count: number): string {
  const prng = new Prng(0x5eed);
  const next = () => prng.uint32();
  const words = new Uint32Array(4);
  const lines: string[] = ['# generated benchmark list'];
  for (let i = 0; i < count; i++) {
    if (i % 4 === 3) {
      words[0] = DOC_V6;
      words[1] = next();
      words[2] = next();
      words[3] = next();
      const prefix = 32 + (next() % 97);
      lines.push(formatCidr(6, maskTo(words, prefix, 4), 0, prefix));
    } else {
      words[0] = next();
      const prefix = 8 + (next() % 25);
      lines.push(formatCidr(4, maskTo(words, prefix, 1), 0, prefix));
    }
  }
  return lines.join('\n') + '\n';
}

function maskTo(words: Uint32Array, prefix: number, count: number): Uint32Array {
  for (let w = 0; w < count; w++) {
    const bits = prefix - 32 * w;
    words[w] = bits <= 0 ? 0 : bits >= 32 ? words[w] : (words[w] & (0xffffffff << (32 - bits))) >>> 0;
  }
  return words;
}

const dir = mkdtempSync(join(tmpdir(), 'wardwatch-bench-'));
try {
  const file = join(dir, 'bench.txt');
  writeFileSync(file, generateList(ENTRIES));

  const loadStart = performance.now();
  const load = await loadIndicatorFiles([file]);
  const loadMs = performance.now() - loadStart;
  const { set } = load;

  // Lookup addresses: 1M distinct ones reused, three IPv4 to one IPv6 like the list.
  const prng = new Prng(0xabcdef);
  const next = () => prng.uint32();
  const POOL = 1 << 20;
  const addrs = new Uint32Array(POOL * 4);
  const versions = new Uint8Array(POOL);
  for (let i = 0; i < POOL; i++) {
    if (i % 4 === 3) {
      versions[i] = 6;
      addrs[i * 4] = DOC_V6;
      addrs[i * 4 + 1] = next();
      addrs[i * 4 + 2] = next();
      addrs[i * 4 + 3] = next();
    } else {
      versions[i] = 4;
      addrs[i * 4] = next();
    }
  }
  let hits = 0;
  let exactHits = 0;
  const lookupStart = performance.now();
  for (let n = 0; n < LOOKUPS; n++) {
    const i = n & (POOL - 1);
    const entry = set.lookup(versions[i], addrs, i * 4);
    if (entry !== null) {
      hits++;
      if (entry.exact) exactHits++;
    }
  }
  const lookupMs = performance.now() - lookupStart;
  const lookupsPerSecond = Math.round(LOOKUPS / (lookupMs / 1000));

  // has() alone: the same search without touching the entry objects.
  let hasHits = 0;
  const hasStart = performance.now();
  for (let n = 0; n < LOOKUPS; n++) {
    const i = n & (POOL - 1);
    if (set.has(versions[i], addrs, i * 4)) hasHits++;
  }
  const hasMs = performance.now() - hasStart;
  const hasPerSecond = Math.round(LOOKUPS / (hasMs / 1000));
  const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);

  const figures = {
    entries: ENTRIES,
    loaded: load.files[0].loaded,
    skipped: load.files[0].skipped,
    problems: load.problems.length,
    ranges_v4: set.rangeCount(4),
    ranges_v6: set.rangeCount(6),
    load_ms: Math.round(loadMs),
    lookups: LOOKUPS,
    lookup_ms: Math.round(lookupMs),
    lookups_per_second: lookupsPerSecond,
    has_ms: Math.round(hasMs),
    has_per_second: hasPerSecond,
    hits,
    exact_hits: exactHits,
    peak_rss_mib: peakRssMiB,
  };
  console.log(`entries: ${ENTRIES} (loaded ${figures.loaded}, skipped ${figures.skipped})`);
  console.log(`compiled ranges: ${figures.ranges_v4} IPv4, ${figures.ranges_v6} IPv6`);
  console.log(`load: ${figures.load_ms} ms`);
  console.log(`lookups: ${LOOKUPS} in ${figures.lookup_ms} ms = ${lookupsPerSecond} per second (${hits} hits, ${exactHits} exact)`);
  console.log(`has: ${LOOKUPS} in ${figures.has_ms} ms = ${hasPerSecond} per second (${hasHits} hits)`);
  console.log(`peak RSS: ${peakRssMiB} MiB`);
  console.log(JSON.stringify(figures));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
