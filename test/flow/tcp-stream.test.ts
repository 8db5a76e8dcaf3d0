import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReassemblyStats } from '../../src/flow/flow-stats.js';
import { DEFAULT_REASSEMBLY_OPTIONS, TcpStream, type ReassemblyOptions } from '../../src/flow/tcp-stream.js';
import { RecordingSink, bytes, patternBytes, shuffled, text } from '../support/flow-harness.js';

function open(options: Partial<ReassemblyOptions> = {}, stats = new ReassemblyStats()) {
  const sink = new RecordingSink();
  const stream = new TcpStream(sink, stats, { ...DEFAULT_REASSEMBLY_OPTIONS, ...options });
  /** Sends a fully captured segment. */
  const send = (seq: number, payload: string | Uint8Array): void => {
    const data = typeof payload === 'string' ? bytes(payload) : payload;
    stream.segment(seq >>> 0, data, data.length);
  };
  return { stream, sink, stats, send };
}

const ISN = 1000;
/** Sequence number of stream byte `offset` when the SYN carried ISN. */
const at = (offset: number, isn = ISN): number => (isn + 1 + offset) >>> 0;

describe('TcpStream ordering', () => {
  it('delivers in-order segments as they come', () => {
    const { stream, sink, stats, send } = open();
    stream.syn(ISN);
    send(at(0), 'GET ');
    expect(sink.text()).toBe('GET ');
    send(at(4), '/ HTTP/1.0');
    expect(sink.pieces).toEqual(['GET / HTTP/1.0']);
    expect(stats.bytesDelivered).toBe(14);
    expect(stats.outOfOrder).toBe(0);
  });

  it('holds segments that arrive 3, 1, 2 until the hole is filled', () => {
    const { stream, sink, stats, send } = open();
    stream.syn(ISN);
    send(at(8), 'cccc');
    expect(sink.pieces).toEqual([]);
    expect(stats.bufferedBytes).toBe(4);
    send(at(0), 'aaaa');
    expect(sink.pieces).toEqual(['aaaa']);
    send(at(4), 'bbbb');
    expect(sink.pieces).toEqual(['aaaabbbbcccc']);
    expect(stats.bufferedBytes).toBe(0);
    expect(stats.gaps).toBe(0);
  });

  it('delivers a retransmitted segment once', () => {
    const { stream, sink, stats, send } = open();
    stream.syn(ISN);
    send(at(0), 'first ');
    send(at(6), 'second');
    send(at(0), 'first ');
    send(at(6), 'second');
    expect(sink.text()).toBe('first second');
    expect(stats.retransmissions).toBe(2);
  });

  it('delivers a retransmission of a buffered segment once', () => {
    const { stream, sink, send } = open();
    stream.syn(ISN);
    send(at(4), 'two.');
    send(at(4), 'two.');
    send(at(0), 'one.');
    expect(sink.pieces).toEqual(['one.two.']);
  });

  it('trims a segment that overlaps delivered data to its new bytes', () => {
    const { stream, sink, stats, send } = open();
    stream.syn(ISN);
    send(at(0), 'abcdef');
    send(at(3), 'defghi');
    expect(sink.pieces).toEqual(['abcdefghi']);
    expect(stats.overlaps).toBeGreaterThan(0);
  });

  it('trims segments that overlap buffered data to their new bytes', () => {
    const { stream, sink, send } = open();
    stream.syn(ISN);
    send(at(10), 'klmn');
    send(at(8), 'ijkl'); // ends inside the buffered segment
    send(at(12), 'mnop'); // starts inside it
    send(at(6), 'ghijklmnopqr'); // covers all of them and more
    send(at(0), 'abcdefgh');
    expect(sink.pieces).toEqual(['abcdefghijklmnopqr']);
  });

  it('keeps the first bytes to arrive when an out-of-order overlap disagrees, and counts the conflict', () => {
    const { stream, sink, stats, send } = open();
    stream.syn(ISN);
    send(at(4), 'WXYZ');
    send(at(2), 'cd-evil-'); // '-evi' disagrees with the buffered 'WXYZ' at offsets 4..7
    send(at(0), 'ab');
    expect(sink.pieces).toEqual(['abcdWXYZl-']);
    expect(stats.overlapConflicts).toBe(1);
  });

  it('counts no conflict when overlapping bytes agree', () => {
    const { stream, sink, stats, send } = open();
    stream.syn(ISN);
    send(at(4), 'efgh');
    send(at(2), 'cdefghij');
    send(at(0), 'ab');
    expect(sink.pieces).toEqual(['abcdefghij']);
    expect(stats.overlaps).toBeGreaterThan(0);
    expect(stats.overlapConflicts).toBe(0);
  });

  it('keeps delivered bytes when a later retransmission carries different ones', () => {
    const { stream, sink, send } = open();
    stream.syn(ISN);
    send(at(0), 'real');
    send(at(0), 'fakeNEXT');
    expect(sink.pieces).toEqual(['realNEXT']);
  });

  it('starts at the first segment seen when the SYN was missed', () => {
    const { stream, sink, send } = open();
    send(0x12345678, 'mid-stream ');
    expect(sink.text()).toBe('mid-stream ');
    send(0x12345678 + 11, 'pickup');
    send(0x12345678 + 11 + 6 + 3, 'late'); // a hole of 3 before this one
    stream.ack(0x12345678 + 11 + 6 + 3 + 4);
    expect(sink.pieces).toEqual(['mid-stream pickup', 3, 'late']);
  });
});

describe('TcpStream losses', () => {
  it('declares a lost segment a gap of its size when the peer acknowledges past it', () => {
    const { stream, sink, stats, send } = open();
    stream.syn(ISN);
    send(at(0), 'seg-one...');
    send(at(17), 'three');
    stream.ack(at(10)); // not past the hole yet
    expect(sink.pieces).toEqual(['seg-one...']);
    stream.ack(at(22));
    expect(sink.pieces).toEqual(['seg-one...', 7, 'three']);
    send(at(22), 'four');
    expect(sink.pieces).toEqual(['seg-one...', 7, 'threefour']);
    expect(stats.gaps).toBe(1);
    expect(stats.gapBytes).toBe(7);
    expect(stats.bufferedBytes).toBe(0);
  });

  it('moves past every hole one acknowledgement covers', () => {
    const { stream, sink, send } = open();
    stream.syn(ISN);
    send(at(0), 'one.');
    send(at(8), 'three');
    send(at(17), 'five');
    stream.ack(at(21));
    expect(sink.pieces).toEqual(['one.', 4, 'three', 4, 'five']);
  });

  it('delivers bytes on arrival when the peer already acknowledged the hole before them', () => {
    const { stream, sink, send } = open();
    stream.syn(ISN);
    send(at(0), 'one.');
    stream.ack(at(8)); // the peer got bytes 4..8, which the capture lost
    send(at(8), 'three');
    expect(sink.pieces).toEqual(['one.', 4, 'three']);
  });

  it('reports a lost last segment as a gap on flush when the peer acknowledged it', () => {
    const { stream, sink, send } = open();
    stream.syn(ISN);
    send(at(0), 'hello');
    stream.ack(at(12));
    expect(sink.pieces).toEqual(['hello']);
    stream.flush();
    expect(sink.pieces).toEqual(['hello', 7]);
  });

  it('reports nothing on flush for bytes the peer never acknowledged', () => {
    const { stream, sink, send } = open();
    stream.syn(ISN);
    send(at(0), 'hello');
    stream.ack(at(5));
    stream.flush();
    expect(sink.pieces).toEqual(['hello']);
  });

  it('hands on buffered data after a gap on flush', () => {
    const { stream, sink, stats, send } = open();
    stream.syn(ISN);
    send(at(0), 'ab');
    send(at(5), 'fg');
    send(at(9), 'jk');
    stream.flush();
    expect(sink.pieces).toEqual(['ab', 3, 'fg', 2, 'jk']);
    expect(stats.bufferedBytes).toBe(0);
  });

  it('reports bytes cut by the snap length as a gap right after the captured part', () => {
    const { stream, sink, stats } = open();
    stream.syn(ISN);
    stream.segment(at(0), bytes('abcd'), 10);
    stream.segment(at(10), bytes('klmn'), 4);
    expect(sink.pieces).toEqual(['abcd', 6, 'klmn']);
    expect(stats.gapBytes).toBe(6);
  });

  it('reports snap-length cuts in order when the cut segments arrive out of order', () => {
    const { stream, sink } = open();
    stream.syn(ISN);
    stream.segment(at(10), bytes('klmn'), 8); // 4 cut
    stream.segment(at(4), bytes('ef'), 6); // 4 cut
    stream.segment(at(18), bytes('st'), 2);
    stream.segment(at(0), bytes('abcd'), 4);
    expect(sink.pieces).toEqual(['abcdef', 4, 'klmn', 4, 'st']);
  });

  it('treats a segment with no captured payload as a gap of its wire length', () => {
    const { stream, sink } = open();
    stream.syn(ISN);
    stream.segment(at(0), new Uint8Array(0), 5);
    stream.segment(at(5), bytes('xy'), 2);
    expect(sink.pieces).toEqual([5, 'xy']);
  });
});

describe('TcpStream sequence space', () => {
  const isn = 0xfffffff0;

  it('follows data across the 2^32 wrap', () => {
    const { stream, sink, send } = open();
    stream.syn(isn);
    send(at(0, isn), '0123456789'); // 0xfffffff1..0xfffffffa
    send(at(10, isn), 'ABCDEFGHIJ'); // 0xfffffffb..0x00000004
    send(at(20, isn), 'klmnopqrst'); // 0x00000005..
    expect(at(20, isn)).toBe(5);
    expect(sink.pieces).toEqual(['0123456789ABCDEFGHIJklmnopqrst']);
  });

  it('reorders segments across the 2^32 wrap', () => {
    const { stream, sink, send } = open();
    stream.syn(isn);
    send(at(20, isn), 'klmnopqrst');
    send(at(10, isn), 'ABCDEFGHIJ');
    expect(sink.pieces).toEqual([]);
    send(at(0, isn), '0123456789');
    expect(sink.pieces).toEqual(['0123456789ABCDEFGHIJklmnopqrst']);
  });

  it('declares a hole across the 2^32 wrap when the peer acknowledges past it', () => {
    const { stream, sink, send } = open();
    stream.syn(isn);
    send(at(0, isn), '0123456789');
    send(at(20, isn), 'klmnopqrst');
    stream.ack(at(30, isn));
    expect(sink.pieces).toEqual(['0123456789', 10, 'klmnopqrst']);
  });

  it('starts data at zero after a SYN at 2^32 - 1', () => {
    const { stream, sink, send } = open();
    stream.syn(0xffffffff);
    send(0, 'zero');
    expect(sink.text()).toBe('zero');
  });

  it('counts a jump of a gigabyte without stalling, buffering or declaring the jumped bytes lost', () => {
    const { stream, sink, stats, send } = open();
    stream.syn(ISN);
    send(at(0), 'before ');
    send(at(7 + 1_000_000_000), 'far away');
    expect(stats.sequenceJumps).toBe(1);
    expect(stats.bufferedBytes).toBe(0);
    send(at(7), 'after');
    expect(sink.pieces).toEqual(['before after']);
    stream.flush();
    expect(stats.gapBytes).toBe(0);
  });

  it.each([
    ['one gigabyte', 1_000_000_000],
    ['three gigabytes (past half the sequence space)', 3_000_000_000],
  ])('resynchronises after repeated jumps of %s', (_name, distance) => {
    const options = { jumpsBeforeResync: 4 };
    const { stream, sink, stats, send } = open(options);
    stream.syn(ISN);
    send(at(0), 'old;');
    const base = at(4 + distance);
    const parts = ['p0;', 'p1;', 'p2;', 'p3;', 'p4;', 'p5;'];
    parts.forEach((part, i) => send(base + i * 3, part));
    expect(stats.sequenceJumps).toBe(options.jumpsBeforeResync);
    expect(stats.bufferedBytes).toBe(0);
    // The stream follows the new sequence numbers from the segment that resynchronised it on.
    expect(sink.text()).toBe('old;p3;p4;p5;');
    expect(sink.gaps.length).toBe(1);
  });
});

describe('TcpStream inspection limits', () => {
  it('delivers no byte past the depth and counts reaching it once', () => {
    const { stream, sink, stats, send } = open({ depth: 10 });
    stream.syn(ISN);
    send(at(0), 'abcdefgh');
    send(at(8), 'ijklmnop');
    send(at(24), 'later');
    send(at(16), 'qrstuvwx');
    stream.flush();
    expect(sink.text()).toBe('abcdefghij');
    expect(stats.depthReached).toBe(1);
    expect(stats.bytesDelivered).toBe(10);
    expect(stats.bufferedBytes).toBe(0);
    expect(stream.stopped).toBe(true);
  });

  it('delivers nothing more and frees its buffers once stopped', () => {
    const { stream, sink, stats, send } = open();
    stream.syn(ISN);
    send(at(0), 'head');
    send(at(8), 'buffered');
    expect(stats.bufferedBytes).toBe(8);
    stream.stop();
    expect(stats.bufferedBytes).toBe(0);
    send(at(4), 'fill');
    send(at(16), 'more');
    send(at(30), 'ahead');
    stream.ack(at(40));
    stream.flush();
    expect(sink.pieces).toEqual(['head']);
    expect(stats.bufferedBytes).toBe(0);
  });

  it('stops when the sink asks for it from inside a data callback', () => {
    const { stream, sink, stats, send } = open();
    sink.onData = () => stream.stop();
    stream.syn(ISN);
    send(at(4), 'bbbb');
    send(at(8), 'cccc');
    send(at(0), 'aaaa');
    expect(sink.pieces).toEqual(['aaaa']);
    expect(stats.bufferedBytes).toBe(0);
  });
});

describe('TcpStream buffer caps', () => {
  const SEGMENTS = 10_000;
  const SIZE = 4;

  /** A stream of SEGMENTS tiny segments; returns the original bytes and segment offsets. */
  function tinySegments(): { original: Uint8Array; offsets: number[] } {
    return { original: patternBytes(SEGMENTS * SIZE, 11), offsets: Array.from({ length: SEGMENTS }, (_, k) => k * SIZE) };
  }

  it('bounds buffering by the segment cap and still delivers every captured byte after a lost first segment', () => {
    const { original, offsets } = tinySegments();
    const { stream, sink, stats, send } = open();
    stream.syn(ISN);
    let maxBuffered = 0;
    for (const offset of offsets.slice(1)) {
      send(at(offset), original.subarray(offset, offset + SIZE));
      maxBuffered = Math.max(maxBuffered, stats.bufferedBytes);
    }
    expect(maxBuffered).toBeLessThanOrEqual(DEFAULT_REASSEMBLY_OPTIONS.maxSegmentsPerStream * SIZE);
    expect(stats.segmentsDroppedMemcap).toBeGreaterThan(0);
    stream.flush();
    // Only the first segment was never seen: everything after it arrived, in order.
    expect(sink.gaps).toEqual([SIZE]);
    expect(sink.text()).toBe(text(original.subarray(SIZE)));
  });

  it('bounds buffering by the byte cap over ten thousand shuffled tiny segments, delivering what it can in order', () => {
    const { original, offsets } = tinySegments();
    const cap = 512;
    const { stream, sink, stats, send } = open({ maxBufferedPerStream: cap });
    stream.syn(ISN);
    for (const offset of shuffled(offsets, 3)) {
      send(at(offset), original.subarray(offset, offset + SIZE));
      expect(stats.bufferedBytes).toBeLessThanOrEqual(cap);
    }
    stream.ack(at(original.length));
    stream.flush();
    expect(stats.segmentsDroppedMemcap).toBeGreaterThan(0);
    expect(stats.bufferedBytes).toBe(0);
    // Every delivered byte sits at its own stream offset and the output covers the whole stream.
    expect(sink.checkAgainst(original)).toBe(original.length);
    expect(sink.deliveredBytes + sink.gapBytes).toBe(original.length);
    expect(sink.deliveredBytes).toBeGreaterThan(0);
  });

  it('bounds buffering by the segment cap over ten thousand shuffled tiny segments', () => {
    const { original, offsets } = tinySegments();
    const { stream, sink, stats, send } = open({ maxSegmentsPerStream: 64 });
    stream.syn(ISN);
    for (const offset of shuffled(offsets, 5)) {
      send(at(offset), original.subarray(offset, offset + SIZE));
      expect(stats.bufferedBytes).toBeLessThanOrEqual(64 * SIZE);
    }
    stream.ack(at(original.length));
    stream.flush();
    expect(sink.checkAgainst(original)).toBe(original.length);
    expect(stats.bufferedBytes).toBe(0);
  });

  it('bounds the bytes all streams buffer together by the memcap', () => {
    const stats = new ReassemblyStats();
    const memcap = 1000;
    const a = open({ memcap }, stats);
    const b = open({ memcap }, stats);
    const originalA = patternBytes(20_000, 21);
    const originalB = patternBytes(20_000, 22);
    a.stream.syn(ISN);
    b.stream.syn(ISN);
    // Both streams lose their first segment and then receive the rest, interleaved.
    for (let offset = 10; offset < 20_000; offset += 10) {
      a.send(at(offset), originalA.subarray(offset, offset + 10));
      b.send(at(offset), originalB.subarray(offset, offset + 10));
      expect(stats.bufferedBytes).toBeLessThanOrEqual(memcap);
    }
    expect(stats.segmentsDroppedMemcap).toBeGreaterThan(0);
    for (const s of [a, b]) {
      s.stream.ack(at(20_000));
      s.stream.flush();
    }
    expect(stats.bufferedBytes).toBe(0);
    expect(a.sink.checkAgainst(originalA)).toBe(20_000);
    expect(b.sink.checkAgainst(originalB)).toBe(20_000);
    expect(a.sink.deliveredBytes).toBeGreaterThan(10_000);
    expect(b.sink.deliveredBytes).toBeGreaterThan(10_000);
  });

  it('still delivers in-order data while the memcap is exhausted by another stream', () => {
    const stats = new ReassemblyStats();
    const hog = open({ memcap: 100 }, stats);
    const other = open({ memcap: 100 }, stats);
    hog.stream.syn(ISN);
    hog.send(at(10), 'x'.repeat(100));
    expect(stats.bufferedBytes).toBe(100);
    other.stream.syn(ISN);
    other.send(at(0), 'in order');
    other.send(at(8), ' still');
    expect(other.sink.text()).toBe('in order still');
  });
});

describe('TcpStream end of stream', () => {
  it('does not count the FIN as a lost byte when the peer acknowledges it', () => {
    const { stream, sink, stats, send } = open();
    stream.syn(ISN);
    send(at(0), 'bye');
    stream.fin(at(3));
    stream.ack(at(4)); // FIN takes one sequence number
    stream.flush();
    expect(sink.pieces).toEqual(['bye']);
    expect(stats.gaps).toBe(0);
  });

  it('reports the bytes lost before a FIN the peer acknowledged, and not the FIN itself', () => {
    const { stream, sink, send } = open();
    stream.syn(ISN);
    send(at(0), 'start');
    stream.fin(at(12));
    stream.ack(at(13));
    stream.flush();
    expect(sink.pieces).toEqual(['start', 7]);
  });
});

describe('TcpStream properties', () => {
  it('reassembles any order, overlap and duplication of segments covering the stream exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 300 })), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1 }),
        (length, isn, extra, seed) => {
          const original = patternBytes(length, seed);
          // A covering segmentation plus random extra (overlapping, duplicated) ranges.
          const ranges: Array<[number, number]> = [];
          for (let start = 0; start < length; start += 97) ranges.push([start, Math.min(length, start + 97)]);
          for (const [start, len] of extra) {
            const s = start % length;
            ranges.push([s, Math.min(length, s + len)]);
          }
          const { stream, sink, stats, send } = open();
          stream.syn(isn);
          for (const [s, e] of shuffled(ranges, seed)) send(at(s, isn), original.subarray(s, e));
          stream.flush();
          expect(sink.text()).toBe(text(original));
          expect(sink.gaps).toEqual([]);
          expect(stats.overlapConflicts).toBe(0);
          expect(stats.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
