/**
 * The defragmenter's table: it must behave exactly like the map-based reassembler it replaced
 * (results, counters, held state, fragment for fragment), keep datagrams apart that share a hash
 * bucket, expire and evict oldest first under churn, and reuse its trackers and buffers so a
 * flood of fragments that never complete costs no new memory.
 */
import { describe, expect, it } from 'vitest';
import { DecodeStats } from '../../src/decode/decode-stats.js';
import { DEFAULT_DEFRAG_OPTIONS, Defragmenter, type DefragOptions } from '../../src/decode/defrag.js';
import { PacketView } from '../../src/decode/packet-view.js';
import { Prng } from '../../tools/craft/prng.js';
import { MapDefragmenter } from './defrag-model.js';

const T0 = 1738231200;

/** One fragment as the IP decoders hand it over: header bytes, then payload bytes, in `buf`. */
interface Fragment {
  version: 4 | 6;
  /** Address words as PacketView holds them: [0..3] source, [4..7] destination. */
  addr: number[];
  vlans: number[];
  id: number;
  proto: number;
  offset: number;
  more: boolean;
  buf: Uint8Array;
  /** Where the IP header starts in buf, and its length (the IPv6 unfragmentable part). */
  ipOff: number;
  headerLength: number;
  dataOff: number;
  dataEnd: number;
  tsSec: number;
}

type Added = Uint8Array | { buf: Uint8Array; payloadOffset: number } | null;

interface Reassembler {
  addIpv4: Defragmenter['addIpv4'];
  addIpv6: Defragmenter['addIpv6'];
}

const view = new PacketView();

function add(d: Reassembler, f: Fragment): Added {
  view.addr.set(f.addr);
  view.vlanCount = f.vlans.length;
  f.vlans.forEach((v, i) => (view.vlanIds[i] = v));
  view.tsSec = f.tsSec;
  if (f.version === 4) return d.addIpv4(view, f.id, f.proto, f.offset, f.more, f.buf, f.ipOff, f.headerLength, f.dataOff, f.dataEnd);
  return d.addIpv6(view, f.id, f.offset, f.more, f.buf, f.ipOff, f.headerLength, f.dataOff, f.dataEnd);
}

/** A fragment carrying `data` at `offset`, behind a header of `headerLength` bytes of `headerByte`. */
function fragment(spec: Partial<Fragment> & { data: Uint8Array; headerLength?: number; headerByte?: number }): Fragment {
  const version = spec.version ?? 4;
  const headerLength = spec.headerLength ?? (version === 4 ? 20 : 40);
  const ipOff = spec.ipOff ?? 2;
  const buf = new Uint8Array(ipOff + headerLength + spec.data.length + 3).fill(0xa5);
  buf.fill(spec.headerByte ?? 0x45, ipOff, ipOff + headerLength);
  buf.set(spec.data, ipOff + headerLength);
  return {
    version,
    addr: spec.addr ?? (version === 4 ? [0x0a141e29, 0, 0, 0, 0x0a01051e, 0, 0, 0] : [0xfd000010, 0x20, 0x30, 0x41, 0xfd000010, 1, 5, 0x30]),
    vlans: spec.vlans ?? [],
    id: spec.id ?? 1,
    proto: spec.proto ?? 17,
    offset: spec.offset ?? 0,
    more: spec.more ?? false,
    buf,
    ipOff,
    headerLength,
    dataOff: ipOff + headerLength,
    dataEnd: ipOff + headerLength + spec.data.length,
    tsSec: spec.tsSec ?? T0,
  };
}

/** The payload bytes of a reassembled datagram. */
function payloadOf(r: Added, headerLength: number): Uint8Array {
  if (r === null) throw new Error('not reassembled');
  return r instanceof Uint8Array ? r.subarray(headerLength) : r.buf.subarray(r.payloadOffset);
}

const bytes = (length: number, value: number) => new Uint8Array(length).fill(value);

/**
 * Random fragments of a few datagrams: shared ids, sources, VLANs and protocols; offsets that
 * overlap, payloads that agree or lie, last fragments early or late, lengths that are not
 * multiples of 8, now and then a fragment past 65535 bytes, and time that jumps.
 */
function* churn(prng: Prng, steps: number, keys: number): Generator<Fragment | { expireAt: number }> {
  let now = T0;
  const v4Addr = [0x0a141e29, 0x0a141e2a, 0x0a141e2b];
  for (let step = 0; step < steps; step++) {
    now += prng.pick([0, 0, 0, 1, 1, 2, 7]);
    if (prng.next() < 0.02) {
      yield { expireAt: now + prng.int(-5, 40) };
      continue;
    }
    const k = prng.int(0, keys - 1);
    const version = k % 5 === 4 ? 6 : 4;
    const addr = version === 4 ? [v4Addr[k % 3], 0, 0, 0, 0x0a01051e, 0, 0, 0] : [0xfd000010, 0, 0, k % 3, 0xfd000010, 0, 0, 0x30];
    const vlans = [[], [30], [30, 31]][Math.floor(k / 5) % 3];
    const id = Math.floor(k / 15);
    const offset = prng.next() < 0.01 ? 65528 : 8 * prng.int(0, 40);
    const length = prng.int(0, 120);
    // Bytes that depend on the datagram and position, unless this fragment lies.
    const liar = prng.next() < 0.15;
    const data = new Uint8Array(length);
    for (let i = 0; i < length; i++) data[i] = liar ? prng.int(0, 255) : (k * 31 + offset + i) & 0xff;
    const headerLength = version === 4 ? prng.pick([20, 24, 60]) : prng.pick([40, 48, 104]);
    yield fragment({ version, addr, vlans, id, proto: k % 2 === 0 ? 17 : 6, offset, more: prng.next() < 0.7, data, headerLength, headerByte: prng.int(0, 255), ipOff: prng.int(0, 5), tsSec: now });
  }
}

function expectSameState(table: Defragmenter, model: MapDefragmenter, tableStats: DecodeStats, modelStats: DecodeStats, at: string): void {
  const same =
    table.pending === model.pending &&
    table.bytesHeld === model.bytesHeld &&
    JSON.stringify(table.stats) === JSON.stringify(model.stats) &&
    JSON.stringify([...tableStats.anomalies]) === JSON.stringify([...modelStats.anomalies]);
  if (same) return; // expect() on every step would take most of the time
  expect({ ...table.stats }, at).toEqual({ ...model.stats });
  expect([table.pending, table.bytesHeld], at).toEqual([model.pending, model.bytesHeld]);
  expect(tableStats.anomalies, at).toEqual(modelStats.anomalies);
}

function sameResult(a: Added, b: Added): boolean {
  if (a === null || b === null) return a === b;
  const [x, y] = [a instanceof Uint8Array ? a : a.buf, b instanceof Uint8Array ? b : b.buf];
  const offsets = a instanceof Uint8Array || b instanceof Uint8Array ? a instanceof Uint8Array && b instanceof Uint8Array : a.payloadOffset === b.payloadOffset;
  return offsets && Buffer.from(x).equals(Buffer.from(y));
}

describe('the defragmenter table', () => {
  const configs: [string, DefragOptions, number, number][] = [
    ['a cap of one datagram', { timeoutSec: 10, maxDatagrams: 1, maxBytes: 1 << 20 }, 12, 3000],
    ['a few datagrams and little memory', { timeoutSec: 5, maxDatagrams: 4, maxBytes: 1500 }, 45, 4000],
    ['tight byte cap only', { timeoutSec: 20, maxDatagrams: 4096, maxBytes: 400 }, 45, 4000],
    ['generous caps: time-outs and completions do the work', { timeoutSec: 8, maxDatagrams: 4096, maxBytes: 1 << 24 }, 90, 6000],
    ['no byte budget at all', { timeoutSec: 8, maxDatagrams: 8, maxBytes: 0 }, 20, 1500],
  ];
  for (const [name, options, keys, steps] of configs) {
    it(`matches the map-based reassembler fragment for fragment under churn: ${name}`, () => {
      for (const seed of [1, 2, 3]) {
        for (const buckets of [1, 4, undefined]) {
          const tableStats = new DecodeStats();
          const modelStats = new DecodeStats();
          const table = new Defragmenter(tableStats, options, buckets);
          const model = new MapDefragmenter(modelStats, options);
          let step = 0;
          let reassembled = 0;
          for (const f of churn(new Prng(seed), steps, keys)) {
            const at = `seed ${seed}, ${buckets ?? 'default'} buckets, step ${step++}`;
            if ('expireAt' in f) {
              table.expire(f.expireAt);
              model.expire(f.expireAt);
            } else {
              const got = add(table, f);
              const want = add(model, f);
              // The reader reuses its buffer: nothing may still point into it.
              f.buf.fill(0xee);
              if (want !== null) reassembled++;
              if (!sameResult(got, want)) expect(got, at).toEqual(want);
            }
            expectSameState(table, model, tableStats, modelStats, at);
          }
          if (options.maxBytes > 0) expect(reassembled, 'the churn completes datagrams too').toBeGreaterThan(0);
        }
      }
    });
  }

  it('expires oldest first while datagrams in the middle complete and new ones arrive', () => {
    const d = new Defragmenter(new DecodeStats(), { ...DEFAULT_DEFRAG_OPTIONS, timeoutSec: 60 });
    const first = (id: number, tsSec: number) => fragment({ id, data: bytes(16, id), more: true, tsSec });
    const last = (id: number, tsSec: number) => fragment({ id, offset: 16, data: bytes(8, id), tsSec });
    // 1..6 seen at T0..T0+5; 2 and 4 complete; 7 and 8 arrive later; 2 starts over at T0+7.
    for (let id = 1; id <= 6; id++) expect(add(d, first(id, T0 + id - 1))).toBeNull();
    expect(payloadOf(add(d, last(2, T0 + 6)), 20)).toEqual(Uint8Array.from([...bytes(16, 2), ...bytes(8, 2)]));
    expect(add(d, last(4, T0 + 6))).not.toBeNull();
    expect(add(d, first(7, T0 + 6))).toBeNull();
    expect(add(d, first(2, T0 + 7))).toBeNull();
    expect(add(d, first(8, T0 + 8))).toBeNull();
    expect(d.pending).toBe(7); // 1, 3, 5, 6, 7, 2 again, 8
    for (const [now, pending] of [[T0 + 59, 7], [T0 + 60, 6], [T0 + 62, 5], [T0 + 64, 4], [T0 + 65, 3], [T0 + 66, 2], [T0 + 67, 1], [T0 + 68, 0]]) {
      d.expire(now);
      expect(d.pending, `at T0+${now - T0}`).toBe(pending);
    }
    expect(d.stats.timeouts).toBe(7);
    // Which went when: what is left completes, what is gone starts over.
    const e = new Defragmenter(new DecodeStats(), { ...DEFAULT_DEFRAG_OPTIONS, timeoutSec: 60 });
    for (let id = 1; id <= 6; id++) add(e, first(id, T0 + id - 1));
    add(e, last(2, T0 + 6));
    add(e, first(7, T0 + 6));
    add(e, first(2, T0 + 7));
    e.expire(T0 + 64); // drops 1, 3, 4 and 5 (seen at 0, 2, 3, 4); 6 (at 5), 7 (at 6) and the new 2 (at 7) stay
    expect([1, 3, 4, 5].map((id) => add(e, last(id, T0 + 64)))).toEqual([null, null, null, null]);
    expect([6, 7, 2].map((id) => add(e, last(id, T0 + 64)) !== null)).toEqual([true, true, true]);
  });

  it('evicts oldest first when the datagram cap is reached after churn', () => {
    const d = new Defragmenter(new DecodeStats(), { ...DEFAULT_DEFRAG_OPTIONS, maxDatagrams: 3 });
    const first = (id: number) => fragment({ id, data: bytes(8, id), more: true });
    const last = (id: number) => fragment({ id, offset: 8, data: bytes(8, id) });
    add(d, first(1));
    add(d, first(2));
    add(d, first(3));
    expect(add(d, last(2))).not.toBeNull(); // leaves 1, 3
    add(d, first(4)); // 1, 3, 4
    add(d, first(5)); // evicts 1
    add(d, first(6)); // evicts 3
    expect(d.stats.evicted).toBe(2);
    expect([4, 5, 6].map((id) => add(d, last(id)) !== null)).toEqual([true, true, true]);
    expect(add(d, last(1))).toBeNull();
  });

  it('keeps datagrams apart that share an id, all in one hash bucket', () => {
    const d = new Defragmenter(new DecodeStats(), DEFAULT_DEFRAG_OPTIONS, 1);
    const v4 = [0x0a000001, 0, 0, 0, 0x0a000002, 0, 0, 0];
    // Each differs from the first in one part of the key only; the last is IPv6 with the same words.
    const variants: Partial<Fragment>[] = [
      {},
      { addr: [0x0a000003, 0, 0, 0, 0x0a000002, 0, 0, 0] },
      { addr: [0x0a000001, 0, 0, 0, 0x0a000004, 0, 0, 0] },
      { addr: [0x0a000002, 0, 0, 0, 0x0a000001, 0, 0, 0] },
      { vlans: [30] },
      { vlans: [30, 31] },
      { vlans: [31, 30] },
      { vlans: [0, 30] },
      { proto: 6 },
      { id: 8 },
      { version: 6 },
      { version: 6, id: 0x10007 },
      { version: 6, addr: [0x0a000001, 0, 0, 1, 0x0a000002, 0, 0, 0] },
      { version: 6, addr: [0x0a000001, 0, 0, 0, 0x0a000002, 0, 1, 0] },
      { version: 6, vlans: [30] },
    ];
    const key = (i: number): Partial<Fragment> => ({ addr: v4, id: 7, proto: 17, ...variants[i] });
    const headerLength = (i: number) => (variants[i].version === 6 ? 40 : 20);
    variants.forEach((_, i) => expect(add(d, fragment({ ...key(i), data: bytes(16, i), more: true, headerLength: headerLength(i) }))).toBeNull());
    expect(d.pending).toBe(variants.length);
    // Completed in reverse order: each gets its own bytes back.
    for (let i = variants.length - 1; i >= 0; i--) {
      const whole = add(d, fragment({ ...key(i), offset: 16, data: bytes(8, 100 + i), headerLength: headerLength(i) }));
      expect(payloadOf(whole, headerLength(i)), `variant ${i}`).toEqual(Uint8Array.from([...bytes(16, i), ...bytes(8, 100 + i)]));
    }
    expect([d.pending, d.stats.reassembled, d.stats.overlapConflicts]).toEqual([0, variants.length, 0]);
  });

  it('reuses its trackers and buffers: a flood of fragments that never complete makes no more of either', () => {
    const d = new Defragmenter(new DecodeStats(), DEFAULT_DEFRAG_OPTIONS);
    const prng = new Prng(11);
    // Datagrams of their own (random source and id), of sizes that take every kind of buffer; some
    // get a second fragment further on, which moves them to a larger buffer.
    const sizes = [8, 600, 1400, 3000, 9000];
    let sent = 0;
    const flood = (count: number) => {
      for (let i = 0; i < count; i++) {
        const addr = [prng.int(0, 0xffffffff), 0, 0, 0, 0x0a01051e, 0, 0, 0];
        const id = prng.int(0, 0xffff);
        expect(add(d, fragment({ id, addr, data: bytes(sizes[i % sizes.length], 1), more: true }))).toBeNull();
        if (i % 3 === 0) expect(add(d, fragment({ id, addr, offset: 16_000, data: bytes(8, 1), more: true }))).toBeNull();
        sent++;
      }
    };
    flood(15_000);
    const trackers = d.trackers;
    const made = d.bufferBytesMade;
    expect(trackers).toBeLessThanOrEqual(DEFAULT_DEFRAG_OPTIONS.maxDatagrams);
    expect(trackers).toBeGreaterThan(DEFAULT_DEFRAG_OPTIONS.maxDatagrams / 4);
    flood(100_000);
    expect(d.trackers).toBe(trackers);
    expect(d.bufferBytesMade).toBe(made);
    expect(d.stats.evicted).toBe(sent - d.pending);
  });

  it('holds every cap under a random flood, and a datagram sent after it still reassembles', () => {
    for (const options of [DEFAULT_DEFRAG_OPTIONS, { timeoutSec: 30, maxDatagrams: 300, maxBytes: 200_000 }, { timeoutSec: 30, maxDatagrams: 100_000, maxBytes: 1_000_000 }]) {
      const d = new Defragmenter(new DecodeStats(), options);
      const prng = new Prng(12);
      let now = T0;
      // Memory a buffer may take beyond the bytes it counts: rounding up to a power of two, from 512 bytes.
      const bufferBound = 2 * options.maxBytes + 1024 * options.maxDatagrams + options.maxBytes + 2 * 2 * 65536;
      for (let i = 0; i < 100_000; i++) {
        if (i % 1000 === 0) now++;
        const offset = prng.next() < 0.05 ? 8 * prng.int(0, 8000) : 8 * prng.int(0, 200);
        const f = fragment({
          version: prng.next() < 0.5 ? 4 : 6,
          id: prng.int(0, 0xffff),
          addr: [prng.int(0, 0xffffffff), 0, 0, prng.int(0, 3), 0x0a01051e, 0, 0, 0],
          offset,
          data: bytes(Math.min(prng.int(0, 1480), 65000 - offset), 2),
          more: true,
          tsSec: now,
        });
        add(d, f);
        if (d.pending > options.maxDatagrams || d.bytesHeld > options.maxBytes || d.bufferBytesKept > bufferBound) {
          throw new Error(`fragment ${i}: ${d.pending} datagrams, ${d.bytesHeld} bytes held, ${d.bufferBytesKept} bytes of buffers`);
        }
      }
      expect(d.trackers).toBeLessThanOrEqual(options.maxDatagrams);
      expect(d.stats.reassembled).toBe(0);
      const whole = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
      const pieces = [2000, 0, 1000].map((offset) => fragment({ id: 0xbeef, offset, data: whole.subarray(offset, offset + 1000), more: offset !== 2000, tsSec: now }));
      const results = pieces.map((f) => add(d, f));
      expect(results.slice(0, 2)).toEqual([null, null]);
      expect(payloadOf(results[2], 20)).toEqual(whole);
    }
  });
});
