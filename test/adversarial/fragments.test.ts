/**
 * Fragments that never complete must not hold memory beyond the defragmenter's caps, and
 * overlapping fragments that disagree are counted while the bytes that arrived first win.
 */
import { describe, expect, it } from 'vitest';
import { LINKTYPE_RAW } from '../../src/decode/link-types.js';
import { DEFAULT_DEFRAG_OPTIONS } from '../../src/decode/defrag.js';
import type { Direction } from '../../src/flow/direction.js';
import type { Flow } from '../../src/flow/flow.js';
import type { FlowConsumer } from '../../src/flow/flow-consumer.js';
import { statsRecord } from '../../src/output/eve.js';
import { Detector } from '../../src/pipeline/detector.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { fragmentIPv4, ipv4, ipv4Fragment, ipv6, ipv6Fragment, Prng, udp } from '../../tools/craft/index.js';
import { MOUNT, authUnix, call, xdr } from '../analyzers/rpc-fixtures.js';
import { AlertCounter, MB, capturedPacket, rss, shippedRules } from './support.js';

const START_SEC = 1738231200;
const { maxDatagrams, maxBytes } = DEFAULT_DEFRAG_OPTIONS;

/** A UDP datagram of `size` payload bytes from a monitor to the syslog server. */
function datagramV4(size: number, seed: number): Buffer {
  return ipv4({ src: '10.20.30.41', dst: '10.1.5.30', id: 0 }, udp({ sport: 40000, dport: 514 }, new Prng(seed).bytes(size)));
}

function datagramV6(size: number, seed: number): Buffer {
  return ipv6({ src: 'fd00:10:20:30::41', dst: 'fd00:10:1:5::30' }, udp({ sport: 40000, dport: 514 }, new Prng(seed).bytes(size)));
}

/** Writes the IPv4 id (identification) of a fragment in place. */
function setIpv4Id(frag: Buffer, id: number): void {
  frag.writeUInt16BE(id & 0xffff, 4);
}

/** Writes the identification of the fragment header right after a bare IPv6 header. */
function setIpv6Id(frag: Buffer, id: number): void {
  frag.writeUInt32BE(id >>> 0, 40 + 4);
}

describe('fragments that never complete', () => {
  it('hold at most the datagram cap: a hundred thousand IPv4 and IPv6 first fragments, each of its own datagram', async () => {
    const detector = new Detector(await shippedRules(), new AlertCounter(), { evidence: 'redacted' });
    const defrag = detector.pipeline.decoder.defrag;
    // The first 1024 bytes of a 2048-byte datagram; the rest never comes.
    const v4 = Buffer.from(ipv4Fragment(datagramV4(2040, 1), { offset: 0, length: 1024 }));
    const v6 = Buffer.from(ipv6Fragment(datagramV6(2040, 2), { offset: 0, length: 1024 }, 0));
    const rssBefore = rss();
    let maxPending = 0;
    let maxHeld = 0;
    const count = 100_000;
    for (let i = 0; i < count; i++) {
      const v6Turn = (i & 1) === 1;
      const frag = v6Turn ? v6 : v4;
      if (v6Turn) setIpv6Id(frag, i);
      else setIpv4Id(frag, i);
      // 100 000 fragments in 50 s: inside the 60 s time-out, so only the caps make room.
      detector.process(capturedPacket(frag, LINKTYPE_RAW, START_SEC + Math.floor(i / 2000), (i % 2000) * 500_000, i + 1));
      maxPending = Math.max(maxPending, defrag.pending);
      maxHeld = Math.max(maxHeld, defrag.bytesHeld);
    }
    const stats = defrag.stats;
    expect(maxPending).toBe(maxDatagrams);
    expect(maxHeld).toBeLessThanOrEqual(maxBytes);
    expect(stats.fragments).toBe(count);
    expect(stats.reassembled).toBe(0);
    expect(stats.timeouts).toBe(0);
    expect(stats.evicted).toBe(count - maxDatagrams);
    const record = statsRecord(detector.stats()).wardwatch as { defrag: Record<string, number> };
    expect(record.defrag).toMatchObject({ fragments: count, evicted: count - maxDatagrams, reassembled: 0 });

    // A minute of silence later the time-out takes what the caps left.
    detector.pipeline.advanceClock(START_SEC + 50 + 61);
    expect(defrag.pending).toBe(0);
    expect(defrag.bytesHeld).toBe(0);
    expect(stats.timeouts).toBe(maxDatagrams);
    // What stays is bounded by the caps; the rest is garbage of datagrams already dropped.
    expect(rss() - rssBefore).toBeLessThan(256 * MB);
  });

  it('hold at most the byte cap: a hundred thousand fragments of a few datagrams that never see their last piece', async () => {
    const pipeline = new Pipeline(new NullConsumer());
    const defrag = pipeline.decoder.defrag;
    const datagram = datagramV4(64_000, 3);
    const pieces: Buffer[] = [];
    // Every piece but the last: more-fragments is set on all of them.
    for (let offset = 0; offset + 1480 < 64_000; offset += 1480) pieces.push(Buffer.from(ipv4Fragment(datagram, { offset, length: 1480, more: true })));
    let maxHeld = 0;
    let maxPending = 0;
    const count = 100_000;
    for (let i = 0; i < count; i++) {
      const frag = pieces[i % pieces.length];
      // A new datagram id every round of pieces.
      setIpv4Id(frag, Math.floor(i / pieces.length));
      pipeline.process(capturedPacket(frag, LINKTYPE_RAW, START_SEC + Math.floor(i / 4000), 0, i + 1));
      maxHeld = Math.max(maxHeld, defrag.bytesHeld);
      maxPending = Math.max(maxPending, defrag.pending);
    }
    expect(maxHeld).toBeGreaterThan(maxBytes - 64_000);
    expect(maxHeld).toBeLessThanOrEqual(maxBytes);
    expect(maxPending).toBeLessThanOrEqual(maxDatagrams);
    expect(defrag.stats.reassembled).toBe(0);
    expect(defrag.stats.evicted).toBeGreaterThan(0);
  });

  it('drops a datagram sent in more than a thousand tiny fragments', () => {
    const pipeline = new Pipeline(new NullConsumer());
    const defrag = pipeline.decoder.defrag;
    const datagram = datagramV4(16_000, 4);
    const pendingAfter: number[] = [];
    for (let offset = 0; offset < 2000 * 8; offset += 8) {
      const frag = Buffer.from(ipv4Fragment(datagram, { offset, length: 8, more: true }));
      setIpv4Id(frag, 77);
      pipeline.process(capturedPacket(frag, LINKTYPE_RAW, START_SEC));
      pendingAfter.push(defrag.pending);
      // One datagram's worth at most: IP's 64 KiB, not the 2000 fragments' overhead.
      expect(defrag.bytesHeld).toBeLessThanOrEqual(2 * 65535);
    }
    // The fragment after the thousand-and-twenty-fourth ends the datagram.
    expect(pendingAfter[1023]).toBe(1);
    expect(pendingAfter[1024]).toBe(0);
    expect(defrag.stats.evicted).toBe(1);
    expect(defrag.stats.reassembled).toBe(0);
  });
});

describe('a datagram after a flood of fragments that never complete', () => {
  it('an NFS MOUNT call over UDP, in IPv4 fragments amid 100 000 bogus ones, still reassembles and raises 1000004', async () => {
    const counter = new AlertCounter();
    const detector = new Detector(await shippedRules(), counter, { evidence: 'redacted' });
    const defrag = detector.pipeline.decoder.defrag;
    const prng = new Prng(21);
    // A monitor mounting an external export: long path and Unix credentials, about 1.2 KB of RPC.
    const cred = authUnix({ stamp: 7, machine: 'cms8000-bed12', uid: 0, gid: 0, gids: [0, 1, 2, 3] });
    const mnt = call({ xid: 0x5eed, prog: MOUNT, vers: 3, proc: 1, cred, args: xdr().string(`/export/${'p'.repeat(1100)}`).bytes() });
    const mount = fragmentIPv4(ipv4({ src: '10.20.30.41', dst: '202.114.4.119', id: 0x2222 }, udp({ sport: 801, dport: 20048 }, mnt)), 304);
    expect(mount.length).toBeGreaterThan(3);
    // Bogus first fragments from random sources (IPv4 and IPv6), each of its own datagram.
    const v4 = Buffer.from(ipv4Fragment(datagramV4(1200, 5), { offset: 0, length: 600 }));
    const v6 = Buffer.from(ipv6Fragment(datagramV6(1200, 6), { offset: 0, length: 600 }, 0));
    let t = 0;
    const send = (frame: Uint8Array) => detector.process(capturedPacket(frame, LINKTYPE_RAW, START_SEC + Math.floor(t / 4000), (t % 4000) * 250_000, ++t));
    const garbage = (count: number) => {
      for (let i = 0; i < count; i++) {
        const frame = prng.next() < 0.5 ? v4 : v6;
        if (frame === v4) {
          frame.writeUInt32BE(prng.int(0, 0xffffffff), 12);
          setIpv4Id(frame, prng.int(0, 0xffff));
        } else {
          frame.writeUInt32BE(prng.int(0, 0xffffffff), 8 + 12);
          setIpv6Id(frame, prng.int(0, 0xffffffff));
        }
        send(frame);
      }
    };
    garbage(100_000);
    expect(defrag.pending).toBe(maxDatagrams);
    // The flood goes on while the call arrives, out of order, a few hundred bogus fragments apart.
    for (const i of [2, 0, 3, 1, ...mount.keys()].filter((i, at, all) => all.indexOf(i) === at && i < mount.length)) {
      send(mount[i]);
      garbage(300);
    }
    detector.finish();
    expect(defrag.stats.reassembled).toBe(1);
    expect(counter.byRule()['1000004']).toBe(1);
    expect(defrag.trackers).toBe(maxDatagrams);
  });
});

/** Records the UDP payloads the flow layer hands on. */
class NullConsumer implements FlowConsumer {
  readonly payloads: Buffer[] = [];
  packet(): void {}
  data(_flow: Flow, _dir: Direction, bytes: Uint8Array): void {
    this.payloads.push(Buffer.from(bytes));
  }
  gap(): void {}
  flowEnd(): void {}
}

describe('overlapping fragments that disagree', () => {
  for (const version of [4, 6] as const) {
    it(`IPv${version}: counts the conflict and keeps the bytes that arrived first`, () => {
      const consumer = new NullConsumer();
      // The pieces disagree, so the datagram that wins fails its UDP checksum: what is tested here
      // is which bytes win, so checksums are not validated.
      const pipeline = new Pipeline(consumer, { flows: { checksumValidation: 'no' } });
      const payload = new Prng(9).bytes(64);
      const whole = version === 4 ? ipv4({ src: '10.20.30.41', dst: '10.1.5.30', id: 0x4242 }, udp({ sport: 40000, dport: 514 }, payload)) : ipv6({ src: 'fd00::41', dst: 'fd00::30' }, udp({ sport: 40000, dport: 514 }, payload));
      const fragment = (piece: { offset: number; length?: number; data?: Uint8Array; more?: boolean }) =>
        version === 4 ? ipv4Fragment(whole, piece) : ipv6Fragment(whole, piece, 0x4242);
      // The UDP payload is fragmentable bytes 8..72 (the UDP header is the first 8).
      const liar = Buffer.alloc(32, 0xee);
      const frames = [
        fragment({ offset: 0, length: 32, more: true }), // bytes 0-31 first
        fragment({ offset: 16, data: liar, more: true }), // 16-47, disagreeing on 16-31
        fragment({ offset: 24, length: 48 }), // 24-71, the last piece, disagreeing with the liar on 24-47
      ];
      frames.forEach((f, i) => pipeline.process(capturedPacket(f, LINKTYPE_RAW, START_SEC, i * 1000)));
      pipeline.finish();
      const stats = pipeline.decoder.defrag.stats;
      expect(stats.reassembled).toBe(1);
      expect(stats.overlapConflicts).toBe(2);
      expect(pipeline.decoder.stats.anomalies.get('frag.overlap_conflict')).toBe(2);
      // First arrival wins: the original 0-31, the liar's 32-47, then the original again.
      const expected = Buffer.concat([payload.subarray(0, 24), liar.subarray(16, 32), payload.subarray(40)]);
      expect(consumer.payloads).toEqual([expected]);
    });
  }
});
