/**
 * TCP reassembly under abuse: ten thousand tiny segments out of order must not buffer past the
 * caps and must come out as bytes at their right place with gaps for the rest; sequence numbers
 * that jump by gigabytes are counted and do not stall the stream.
 */
import { describe, expect, it } from 'vitest';
import { LINKTYPE_RAW } from '../../src/decode/link-types.js';
import type { Direction } from '../../src/flow/direction.js';
import type { Flow } from '../../src/flow/flow.js';
import type { FlowConsumer } from '../../src/flow/flow-consumer.js';
import { DEFAULT_REASSEMBLY_OPTIONS } from '../../src/flow/tcp-stream.js';
import { statsRecord } from '../../src/output/eve.js';
import { Detector } from '../../src/pipeline/detector.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { ipv4, Prng, tcp } from '../../tools/craft/index.js';
import { AlertCounter, capturedPacket, shippedRules } from './support.js';

const START_SEC = 1738231200;
const CLIENT = { ip: '10.20.30.41', port: 41000 };
const SERVER = { ip: '10.1.5.20', port: 2575 };
const CLIENT_ISN = 0x3a1f0000;
const SERVER_ISN = 0x7c2e0000;

/** One client-to-server segment (raw IPv4) carrying `payload` at stream offset `offset`. */
function clientSegment(offset: number, payload: Uint8Array, flags = 'PA'): Buffer {
  return ipv4({ src: CLIENT.ip, dst: SERVER.ip, id: offset & 0xffff }, tcp({ sport: CLIENT.port, dport: SERVER.port, seq: (CLIENT_ISN + 1 + offset) >>> 0, ack: SERVER_ISN + 1, flags }, payload));
}

function handshake(): Buffer[] {
  return [
    ipv4({ src: CLIENT.ip, dst: SERVER.ip }, tcp({ sport: CLIENT.port, dport: SERVER.port, seq: CLIENT_ISN, flags: 'S' })),
    ipv4({ src: SERVER.ip, dst: CLIENT.ip }, tcp({ sport: SERVER.port, dport: CLIENT.port, seq: SERVER_ISN, ack: CLIENT_ISN + 1, flags: 'SA' })),
    ipv4({ src: CLIENT.ip, dst: SERVER.ip }, tcp({ sport: CLIENT.port, dport: SERVER.port, seq: CLIENT_ISN + 1, ack: SERVER_ISN + 1, flags: 'A' })),
  ];
}

/** What the client-to-server direction delivered: bytes at their stream offset, and gaps. */
class StreamRecorder implements FlowConsumer {
  position = 0;
  readonly pieces: Array<{ at: number; bytes: Buffer }> = [];
  gapBytes = 0;

  packet(): void {}
  data(_flow: Flow, dir: Direction, bytes: Uint8Array): void {
    if (dir !== 0) return;
    this.pieces.push({ at: this.position, bytes: Buffer.from(bytes) });
    this.position += bytes.length;
  }
  gap(_flow: Flow, dir: Direction, length: number): void {
    if (dir !== 0) return;
    this.gapBytes += length;
    this.position += length;
  }
  flowEnd(): void {}

  get delivered(): number {
    return this.pieces.reduce((n, p) => n + p.bytes.length, 0);
  }

  /** Every delivered byte is the stream's byte at that offset. */
  misplaced(stream: Buffer): number {
    return this.pieces.filter((p) => !p.bytes.equals(stream.subarray(p.at, p.at + p.bytes.length))).length;
  }
}

const SEGMENTS = 10_000;
const SEGMENT_BYTES = 4;

function tinySegments(order: 'reverse' | 'shuffle'): { stream: Buffer; frames: Buffer[] } {
  const stream = new Prng(11).bytes(SEGMENTS * SEGMENT_BYTES);
  const offsets = Array.from({ length: SEGMENTS }, (_, i) => i * SEGMENT_BYTES);
  if (order === 'reverse') offsets.reverse();
  else {
    const rng = new Prng(12);
    for (let i = offsets.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [offsets[i], offsets[j]] = [offsets[j], offsets[i]];
    }
  }
  return { stream, frames: offsets.map((o) => clientSegment(o, stream.subarray(o, o + SEGMENT_BYTES))) };
}

describe('ten thousand tiny out-of-order segments in one stream', () => {
  for (const order of ['reverse', 'shuffle'] as const) {
    it(`${order} order: buffers no more than the per-stream caps and delivers every byte in place or as a gap`, () => {
      const recorder = new StreamRecorder();
      const pipeline = new Pipeline(recorder);
      const { stream, frames } = tinySegments(order);
      const caps = DEFAULT_REASSEMBLY_OPTIONS;
      let maxBuffered = 0;
      let t = 0;
      for (const frame of [...handshake(), ...frames]) {
        pipeline.process(capturedPacket(frame, LINKTYPE_RAW, START_SEC, (t += 1000)));
        maxBuffered = Math.max(maxBuffered, pipeline.flows.reassembly.bufferedBytes);
      }
      pipeline.finish();
      const r = pipeline.flows.reassembly;
      expect(maxBuffered).toBeLessThanOrEqual(Math.min(caps.maxBufferedPerStream, caps.maxSegmentsPerStream * SEGMENT_BYTES));
      expect(r.bufferedBytes).toBe(0);
      expect(r.segmentsDroppedMemcap).toBeGreaterThan(0);
      expect(r.gaps).toBeGreaterThan(0);
      expect(recorder.misplaced(stream)).toBe(0);
      expect(recorder.delivered + recorder.gapBytes).toBe(stream.length);
      expect(recorder.delivered).toBeGreaterThanOrEqual(caps.maxSegmentsPerStream * SEGMENT_BYTES);
    });
  }

  it('runs through the whole analysis without an exception, and the stats record shows the gaps and drops', async () => {
    const detector = new Detector(await shippedRules(), new AlertCounter(), { evidence: 'full' });
    const { frames } = tinySegments('shuffle');
    let t = 0;
    for (const frame of [...handshake(), ...frames]) detector.process(capturedPacket(frame, LINKTYPE_RAW, START_SEC, (t += 1000)));
    detector.finish();
    const record = statsRecord(detector.stats());
    const tcpStats = record.stats as { tcp: { reassembly_gap: number; segment_memcap_drop: number } };
    expect(tcpStats.tcp.segment_memcap_drop + tcpStats.tcp.reassembly_gap).toBeGreaterThan(0);
    expect((record.wardwatch as { reassembly: { buffered_bytes: number } }).reassembly.buffered_bytes).toBe(0);
    expect(detector.stats().app.analyzerErrors).toBe(0);
  });
});

describe('sequence numbers that jump by gigabytes', () => {
  it('counts each jump, keeps delivering the real stream, and follows a jump that persists', () => {
    const recorder = new StreamRecorder();
    const pipeline = new Pipeline(recorder);
    const rng = new Prng(21);
    const stream = rng.bytes(3000);
    let t = 0;
    const send = (frame: Buffer) => pipeline.process(capturedPacket(frame, LINKTYPE_RAW, START_SEC, (t += 1000)));
    handshake().forEach(send);
    send(clientSegment(0, stream.subarray(0, 1000)));
    // Lone segments 1, 2 and 3 GiB away (forward, and backward through wrap-around) are ignored.
    const GIB = 1024 * 1024 * 1024;
    for (const jump of [GIB, 2 * GIB, 3 * GIB]) send(clientSegment(1000 + jump, rng.bytes(100)));
    expect(pipeline.flows.reassembly.sequenceJumps).toBe(3);
    expect(pipeline.flows.reassembly.bufferedBytes).toBe(0);
    // The real stream goes on and is delivered at once: no stall behind the jumps.
    send(clientSegment(1000, stream.subarray(1000, 2000)));
    expect(recorder.delivered).toBe(2000);
    expect(recorder.misplaced(stream)).toBe(0);

    // The sender really moved on by 1.5 GiB: after a run of jumps the stream follows it.
    const moved = 2000 + 1.5 * GIB;
    const jumpsBefore = pipeline.flows.reassembly.sequenceJumps;
    const after = rng.bytes(100 * 20);
    for (let i = 0; i < 20; i++) send(clientSegment(moved + i * 100, after.subarray(i * 100, (i + 1) * 100)));
    const r = pipeline.flows.reassembly;
    expect(r.sequenceJumps - jumpsBefore).toBe(DEFAULT_REASSEMBLY_OPTIONS.jumpsBeforeResync);
    // The segments after the resynchronisation are delivered, each one as it arrives.
    const tail = recorder.pieces.slice(-(20 - DEFAULT_REASSEMBLY_OPTIONS.jumpsBeforeResync + 1)).map((p) => p.bytes);
    expect(Buffer.concat(tail).equals(after.subarray((DEFAULT_REASSEMBLY_OPTIONS.jumpsBeforeResync - 1) * 100))).toBe(true);
    expect(r.bufferedBytes).toBe(0);
    const record = statsRecord({ ...detectorlessStats(pipeline) }).wardwatch as { reassembly: { sequence_jumps: number } };
    expect(record.reassembly.sequence_jumps).toBe(r.sequenceJumps);
  });
});

/** The stats input of a bare pipeline (no rules, no analyzers). */
function detectorlessStats(pipeline: Pipeline): Parameters<typeof statsRecord>[0] {
  return {
    uptimeSec: 0,
    decode: pipeline.decoder.stats,
    defrag: pipeline.decoder.defrag.stats,
    flows: pipeline.flows.stats,
    reassembly: pipeline.flows.reassembly,
    dedup: pipeline.dedup.stats,
    app: { flowsByProto: new Map(), anomalies: new Map(), events: 0, analyzerErrors: 0, expectationsLearnt: 0, expectationsUsed: 0, retries: 0, retriesExhausted: 0 },
    detect: { alerts: 0, suppressed: 0, alertsByRule: new Map(), hostsIdentified: 0, roleWaitsDropped: 0 },
  };
}
