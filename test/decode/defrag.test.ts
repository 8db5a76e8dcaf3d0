import { describe, expect, it } from 'vitest';
import { DEFAULT_DEFRAG_OPTIONS, type DefragOptions } from '../../src/decode/defrag.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../src/decode/link-types.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/decode/packet-view.js';
import { DECODE_HELD, DECODE_OK, type DecodeResult } from '../../src/decode/result.js';
import {
  concat,
  ethernet,
  fragmentHeader,
  fragmentIPv4,
  fragmentIPv6,
  hopByHop,
  IPPROTO,
  ipv4,
  ipv4Fragment,
  ipv4Option,
  ipv6,
  ipv6Fragment,
  tcp,
  udp,
  type Ipv6Extension,
  type Layer,
  type VlanTag,
} from '../../tools/craft/layers.js';
import { anomalies, DecodeSession, expectAddresses, expectViewInBounds, payloadOf, resultName } from './decode-helpers.js';
import { ENGINE6, MAC_A, MAC_B, MONITOR, MONITOR6 } from './fixtures.js';

const CENTRAL = '10.20.30.10';
const T0 = 1738231200;

/** A syslog-like payload whose every byte depends on its position, so misplaced bytes show. */
function trendDump(length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = 0x20 + ((i * 7 + (i >> 8)) % 90);
  return b;
}

const PAYLOAD = trendDump(3000);
const v4Datagram = (id: number, payload = PAYLOAD, options?: Uint8Array) =>
  ipv4({ src: MONITOR, dst: CENTRAL, id, options }, udp({ sport: 40514, dport: 514 }, payload));
const v6Datagram = (payload = PAYLOAD, extensions: Ipv6Extension[] = []) =>
  ipv6({ src: MONITOR6, dst: ENGINE6, extensions }, udp({ sport: 40514, dport: 514 }, payload));
const eth = (packet: Buffer, vlans?: VlanTag[]) => ethernet({ src: MAC_A, dst: MAC_B, vlans }, packet);

class Feed extends DecodeSession {
  results: DecodeResult[] = [];
  constructor(options?: DefragOptions) {
    super(options);
  }
  send(packets: Buffer[], tsSec = T0, vlans?: VlanTag[]): DecodeResult[] {
    const out = packets.map((p) => this.decode(eth(p, vlans), LINKTYPE_ETHERNET, { tsSec }));
    this.results.push(...out);
    return out;
  }
  get defrag() {
    return this.dec.defrag;
  }
}

function expectReassembledUdp(f: Feed, src: string, dst: string, payload: Buffer): void {
  const v = f.view;
  expect(v.reassembled).toBe(true);
  expectAddresses(v, src, dst);
  expect(v.ipProto).toBe(IPPROTO_UDP);
  expect([v.srcPort, v.dstPort]).toEqual([40514, 514]);
  expect(payloadOf(v).equals(payload), 'reassembled payload').toBe(true);
  expect(v.payloadWireLength).toBe(payload.length);
  expectViewInBounds(DECODE_OK, v);
}

const names = (rs: DecodeResult[]) => rs.map(resultName);

describe('IPv4 reassembly', () => {
  it('in order: holds the fragments and delivers the whole datagram on the last', () => {
    const f = new Feed();
    const frags = fragmentIPv4(v4Datagram(0x7001), 1480);
    expect(frags).toHaveLength(3);
    expect(names(f.send(frags))).toEqual(['HELD', 'HELD', 'OK']);
    expectReassembledUdp(f, MONITOR, CENTRAL, PAYLOAD);
    const header = f.view.ipBuf.subarray(f.view.ipOffset, f.view.ipOffset + 20);
    expect((header[2] << 8) | header[3], 'total length of the whole datagram').toBe(20 + 8 + PAYLOAD.length);
    expect(header[6] & 0x3f, 'no fragment flags or offset left').toBe(0);
    expect(header[7]).toBe(0);
    expect(f.view.ipCapturedLength).toBe(20 + 8 + PAYLOAD.length);
    expect(f.defrag.stats).toMatchObject({ fragments: 3, reassembled: 1, overlapConflicts: 0, timeouts: 0, evicted: 0 });
    expect([f.defrag.pending, f.defrag.bytesHeld]).toEqual([0, 0]);
    expect([f.dec.stats.udp, f.dec.stats.invalid]).toEqual([1, 0]);
  });

  it('out of order: reversed and shuffled', () => {
    for (const order of [[3, 2, 1, 0], [2, 0, 3, 1], [0, 3, 2, 1]]) {
      const f = new Feed();
      const frags = fragmentIPv4(v4Datagram(0x7002), 800);
      expect(frags).toHaveLength(4);
      expect(names(f.send(order.map((i) => frags[i]))), `order ${order}`).toEqual(['HELD', 'HELD', 'HELD', 'OK']);
      expectReassembledUdp(f, MONITOR, CENTRAL, PAYLOAD);
      expect(f.defrag.pending).toBe(0);
    }
  });

  it('a reassembled TCP segment decodes to its ports, flags and payload', () => {
    const body = trendDump(2000);
    const segment = ipv4({ src: MONITOR, dst: '202.114.4.119', id: 0x3131 }, tcp({ sport: 49152, dport: 515, seq: 1000, flags: 'PA' }, body));
    const f = new Feed();
    expect(names(f.send(fragmentIPv4(segment, 1480)))).toEqual(['HELD', 'OK']);
    expect(f.view.ipProto).toBe(IPPROTO_TCP);
    expect([f.view.srcPort, f.view.dstPort, f.view.tcpSeq]).toEqual([49152, 515, 1000]);
    expect(payloadOf(f.view).equals(body)).toBe(true);
  });

  it('first-fragment options that are not copied do not shift the reassembled transport header', () => {
    // Record route is copied into the first fragment only: the fragments' header lengths differ.
    const options = concat(ipv4Option.routerAlert(), ipv4Option.recordRoute(3));
    const frags = fragmentIPv4(v4Datagram(0x7003, PAYLOAD, options), 1456);
    expect(frags.map((p) => (p[0] & 0x0f) * 4)).toEqual([40, 24, 24]);
    for (const order of [[0, 1, 2], [2, 0, 1], [1, 2, 0]]) {
      const f = new Feed();
      expect(names(f.send(order.map((i) => frags[i]))), `order ${order}`).toEqual(['HELD', 'HELD', 'OK']);
      expectReassembledUdp(f, MONITOR, CENTRAL, PAYLOAD);
    }
  });

  it('duplicate fragments (SPAN copies) change nothing and the datagram is delivered once', () => {
    const f = new Feed();
    const frags = fragmentIPv4(v4Datagram(0x7004), 1480);
    const results = f.send([frags[0], frags[0], frags[1], frags[1], frags[2]]);
    expect(names(results)).toEqual(['HELD', 'HELD', 'HELD', 'HELD', 'OK']);
    expectReassembledUdp(f, MONITOR, CENTRAL, PAYLOAD);
    expect(f.defrag.stats.overlapConflicts).toBe(0);
    expect(anomalies(f.dec)).toEqual({});
  });

  it('overlapping fragments that disagree: the first arrival wins and the conflict is counted', () => {
    const datagram = v4Datagram(0x7005);
    const frags = fragmentIPv4(datagram, 1480);
    const forged = Buffer.alloc(1480, 0x41); // arrives before the real second fragment
    const f = new Feed();
    const results = f.send([frags[0], ipv4Fragment(datagram, { offset: 1480, data: forged, more: true }), frags[1], frags[2]]);
    expect(names(results)).toEqual(['HELD', 'HELD', 'HELD', 'OK']);
    const expected = Buffer.from(PAYLOAD);
    forged.copy(expected, 1480 - 8); // the UDP header takes the first 8 bytes of the IP payload
    expect(payloadOf(f.view).equals(expected), 'the forged bytes, which came first, are kept').toBe(true);
    expect(f.defrag.stats.overlapConflicts).toBe(1);
    expect(anomalies(f.dec)).toEqual({ 'frag.overlap_conflict': 1 });

    // The same overlap with agreeing bytes is no conflict.
    const g = new Feed();
    g.send([frags[0], ipv4Fragment(datagram, { offset: 1472, length: 16 }), frags[1], frags[2]]);
    expectReassembledUdp(g, MONITOR, CENTRAL, PAYLOAD);
    expect(g.defrag.stats.overlapConflicts).toBe(0);
  });

  it('keeps datagrams apart by source, protocol and VLAN even with the same id', () => {
    const f = new Feed();
    const a = fragmentIPv4(v4Datagram(0x7777), 1480);
    const b = fragmentIPv4(ipv4({ src: '10.20.30.42', dst: CENTRAL, id: 0x7777 }, udp({ sport: 40514, dport: 514 }, PAYLOAD.subarray(0, 2000))), 1480);
    expect(names(f.send([a[0], b[0], a[1]]))).toEqual(['HELD', 'HELD', 'HELD']);
    expect(f.defrag.pending).toBe(2);
    f.send([b[1]]);
    expectReassembledUdp(f, '10.20.30.42', CENTRAL, PAYLOAD.subarray(0, 2000));
    f.send([a[2]]);
    expectReassembledUdp(f, MONITOR, CENTRAL, PAYLOAD);

    const v = new Feed();
    const c = fragmentIPv4(v4Datagram(0x7778), 1480);
    v.send([c[0], c[1]], T0, [{ vid: 30 }]);
    expect(names(v.send([c[2]], T0, [{ vid: 31 }]))).toEqual(['HELD']);
    expect(names(v.send([c[2]], T0, [{ vid: 30 }]))).toEqual(['OK']);
    expectReassembledUdp(v, MONITOR, CENTRAL, PAYLOAD);
  });

  it('a missing fragment: held, then dropped at the timeout', () => {
    const f = new Feed({ ...DEFAULT_DEFRAG_OPTIONS, timeoutSec: 60 });
    const frags = fragmentIPv4(v4Datagram(0x7006), 1480);
    expect(names(f.send([frags[0], frags[2]], T0))).toEqual(['HELD', 'HELD']);
    expect(f.defrag.pending).toBe(1);
    // Memory follows the highest offset seen: the payload up to the end of the last fragment, and its map.
    expect(f.defrag.bytesHeld).toBe(2 * (2 * 1480 + frags[2].length - 20));
    f.defrag.expire(T0 + 59);
    expect(f.defrag.pending).toBe(1);
    f.defrag.expire(T0 + 60);
    expect([f.defrag.pending, f.defrag.bytesHeld, f.defrag.stats.timeouts]).toEqual([0, 0, 1]);
    // The late fragment starts over instead of completing the dropped datagram.
    expect(names(f.send([frags[1]], T0 + 61))).toEqual(['HELD']);
    expect(f.defrag.stats.reassembled).toBe(0);
  });

  it('packet time drives the timeout: a fragment a minute later drops older datagrams', () => {
    const f = new Feed();
    const old = fragmentIPv4(v4Datagram(0x7007), 1480);
    const fresh = fragmentIPv4(v4Datagram(0x7008), 1480);
    f.send([old[0]], T0);
    f.send([fresh[0]], T0 + 30);
    f.send([fresh[1]], T0 + 60);
    expect(f.defrag.stats.timeouts).toBe(1);
    expect(names(f.send([old[1], old[2]], T0 + 61))).toEqual(['HELD', 'HELD']);
    expect(names(f.send([fresh[2]], T0 + 62))).toEqual(['OK']);
  });

  it('the datagram cap evicts the oldest datagram', () => {
    const f = new Feed({ ...DEFAULT_DEFRAG_OPTIONS, maxDatagrams: 2 });
    const d1 = fragmentIPv4(v4Datagram(1), 1480);
    const d2 = fragmentIPv4(v4Datagram(2), 1480);
    const d3 = fragmentIPv4(v4Datagram(3), 1480);
    f.send([d1[0], d2[0], d3[0]]);
    expect([f.defrag.pending, f.defrag.stats.evicted]).toEqual([2, 1]);
    expect(names(f.send([d1[1], d1[2]]))).toEqual(['HELD', 'HELD']); // d1 is gone; this starts again (and evicts d2)
    expect(names(f.send([d3[1], d3[2]]))).toEqual(['HELD', 'OK']);
    expectReassembledUdp(f, MONITOR, CENTRAL, PAYLOAD);
  });

  it('the byte cap evicts the oldest datagrams', () => {
    const d1 = fragmentIPv4(v4Datagram(1), 1480);
    const d2 = fragmentIPv4(v4Datagram(2), 1480);
    const whole = 2 * (2 * 1480 + d2[2].length - 20); // one whole datagram, payload and map
    const f = new Feed({ ...DEFAULT_DEFRAG_OPTIONS, maxBytes: whole + 1000 });
    f.send([d1[0], d1[1]]);
    expect(f.defrag.bytesHeld).toBe(2 * 2960);
    f.send([d2[0]]);
    expect(f.defrag.bytesHeld).toBeLessThanOrEqual(whole + 1000);
    expect([f.defrag.pending, f.defrag.stats.evicted]).toEqual([1, 1]);
    expect(names(f.send([d2[1], d2[2]]))).toEqual(['HELD', 'OK']);
    expectReassembledUdp(f, MONITOR, CENTRAL, PAYLOAD);
  });

  it('counts a fragment reaching past 65535 bytes as too large', () => {
    const f = new Feed();
    const beyond = ipv4({ src: MONITOR, dst: CENTRAL, id: 9, fragmentOffset: 65528, protocol: IPPROTO.UDP }, Buffer.alloc(16));
    expect(names(f.send([beyond]))).not.toContain('OK');
    expect(f.defrag.stats.tooLarge).toBe(1);
    expect(anomalies(f.dec)).toEqual({ 'ipv4.frag_too_large': 1 });
    expect(f.defrag.pending).toBe(0);
  });

  it('counts as too large a last fragment that makes the datagram and its header exceed 65535 bytes (ping of death)', () => {
    const f = new Feed();
    const first = ipv4({ src: MONITOR, dst: CENTRAL, id: 10, mf: true, protocol: IPPROTO.ICMP }, Buffer.alloc(8));
    // Payload ends at 65528: with the 20-byte header the datagram would be 65548 bytes long.
    const last = ipv4({ src: MONITOR, dst: CENTRAL, id: 10, fragmentOffset: 65512, protocol: IPPROTO.ICMP }, Buffer.alloc(16));
    f.send([first, last]);
    expect(anomalies(f.dec)).toEqual({ 'ipv4.frag_too_large': 1 });
  });

  it('100 000 fragments that never complete keep the held state within the caps', () => {
    for (const options of [DEFAULT_DEFRAG_OPTIONS, { ...DEFAULT_DEFRAG_OPTIONS, maxDatagrams: 100_000, maxBytes: 1_000_000 }]) {
      const f = new Feed(options);
      const template = Buffer.from(eth(ipv4({ src: MONITOR, dst: CENTRAL, id: 0, mf: true, protocol: IPPROTO.UDP }, Buffer.alloc(1480))));
      let maxPending = 0;
      let maxBytes = 0;
      for (let i = 0; i < 100_000; i++) {
        template.writeUInt16BE(i & 0xffff, 14 + 4);
        template.writeUInt16BE(i >>> 16, 14 + 12); // source 0.x.y.z: a fresh datagram each time
        const r = f.decode(template, LINKTYPE_ETHERNET, { tsSec: T0 });
        if (r !== DECODE_HELD) throw new Error(`fragment ${i}: ${resultName(r)}`);
        maxPending = Math.max(maxPending, f.defrag.pending);
        maxBytes = Math.max(maxBytes, f.defrag.bytesHeld);
      }
      expect(maxPending).toBeLessThanOrEqual(options.maxDatagrams);
      expect(maxBytes).toBeLessThanOrEqual(options.maxBytes);
      expect(f.defrag.stats.evicted).toBe(100_000 - f.defrag.pending);
      expect(f.defrag.bytesHeld).toBe(f.defrag.pending * 2 * 1480);
    }
  });
});

describe('IPv6 reassembly', () => {
  it('in order, reversed and with duplicates', () => {
    const datagram = v6Datagram();
    const frags = fragmentIPv6(datagram, 1232, 0xa001);
    expect(frags).toHaveLength(3);
    for (const order of [[0, 1, 2], [2, 1, 0], [0, 0, 2, 2, 1]]) {
      const f = new Feed();
      const results = f.send(order.map((i) => frags[i]));
      expect(names(results), `order ${order}`).toEqual([...order.slice(1).map(() => 'HELD'), 'OK']);
      expectReassembledUdp(f, MONITOR6, ENGINE6, PAYLOAD);
      expect(f.defrag.stats.overlapConflicts).toBe(0);
      expect([f.defrag.pending, f.defrag.bytesHeld]).toEqual([0, 0]);
    }
  });

  it('fragments behind a hop-by-hop header', () => {
    const datagram = v6Datagram(PAYLOAD, [hopByHop()]);
    const frags = fragmentIPv6(datagram, 1232, 0xb002);
    expect(frags[0][6]).toBe(IPPROTO.HOPOPTS);
    const f = new Feed();
    expect(names(f.send([frags[1], frags[0], frags[2]]))).toEqual(['HELD', 'HELD', 'OK']);
    expectReassembledUdp(f, MONITOR6, ENGINE6, PAYLOAD);
  });

  it('a reassembled TCP segment decodes to its ports and payload', () => {
    const body = trendDump(1800);
    const segment = ipv6({ src: MONITOR6, dst: ENGINE6 }, tcp({ sport: 49160, dport: 2575, seq: 5, flags: 'PA' }, body));
    const f = new Feed();
    expect(names(f.send(fragmentIPv6(segment, 1000, 77).reverse()))).toEqual(['HELD', 'OK']);
    expect([f.view.ipProto, f.view.srcPort, f.view.dstPort]).toEqual([IPPROTO_TCP, 49160, 2575]);
    expect(payloadOf(f.view).equals(body)).toBe(true);
  });

  it('overlapping fragments that disagree: the first arrival wins', () => {
    const datagram = v6Datagram();
    const frags = fragmentIPv6(datagram, 1232, 0xa005);
    const forged = Buffer.alloc(1232, 0x42);
    const f = new Feed();
    f.send([ipv6Fragment(datagram, { offset: 1232, data: forged, more: true }, 0xa005), ...frags]);
    const expected = Buffer.from(PAYLOAD);
    forged.copy(expected, 1232 - 8);
    expect(payloadOf(f.view).equals(expected)).toBe(true);
    expect(anomalies(f.dec)).toEqual({ 'frag.overlap_conflict': 1 });
  });

  it('a missing first fragment: held, then dropped at the timeout', () => {
    const frags = fragmentIPv6(v6Datagram(), 1232, 0xa003);
    const f = new Feed();
    expect(names(f.send([frags[1], frags[2]]))).toEqual(['HELD', 'HELD']);
    expect(f.view.ipProto, 'the fragment header names UDP').toBe(IPPROTO_UDP);
    f.defrag.expire(T0 + DEFAULT_DEFRAG_OPTIONS.timeoutSec);
    expect([f.defrag.pending, f.defrag.bytesHeld, f.defrag.stats.timeouts]).toEqual([0, 0, 1]);
  });

  it('counts a fragment reaching past 65535 bytes as too large', () => {
    const f = new Feed();
    f.send([ipv6({ src: MONITOR6, dst: ENGINE6, protocol: IPPROTO.UDP, extensions: [fragmentHeader({ id: 5, offset: 65528 })] }, Buffer.alloc(16))]);
    expect(f.defrag.stats.tooLarge).toBe(1);
    expect(anomalies(f.dec)).toEqual({ 'ipv6.frag_too_large': 1 });
    expect(f.defrag.pending).toBe(0);
  });
});

describe('fragments that disagree on their header lengths', () => {
  it('IPv4: the reassembled view stays inside its buffer', () => {
    // The first fragment has a bare header; the last carries 40 bytes of options.
    const first = ipv4({ src: MONITOR, dst: CENTRAL, id: 0x4444, mf: true, protocol: IPPROTO.ESP }, Buffer.alloc(8, 1));
    const last = ipv4({ src: MONITOR, dst: CENTRAL, id: 0x4444, fragmentOffset: 8, protocol: IPPROTO.ESP, options: Buffer.alloc(40, 1) }, Buffer.alloc(8, 2));
    const f = new Feed();
    const results = f.send([first, last]);
    expectViewInBounds(results[1], f.view);
    if (results[1] === DECODE_OK) expect(payloadOf(f.view)).toEqual(concat(Buffer.alloc(8, 1), Buffer.alloc(8, 2)));
  });

  it('IPv6: the reassembled view stays inside its buffer', () => {
    const first = ipv6({ src: MONITOR6, dst: ENGINE6, protocol: IPPROTO.ESP, extensions: [fragmentHeader({ id: 6, more: true })] }, Buffer.alloc(8, 1));
    const padding = Buffer.concat([Buffer.from([1, 254]), Buffer.alloc(254)]); // PadN filling the header
    const last = ipv6({ src: MONITOR6, dst: ENGINE6, protocol: IPPROTO.ESP, extensions: [hopByHop(padding), fragmentHeader({ id: 6, offset: 8 })] }, Buffer.alloc(8, 2));
    const f = new Feed();
    const results = f.send([first, last]);
    expectViewInBounds(results[1], f.view);
  });
});

describe('fragments under other link types', () => {
  it('raw IP fragments reassemble like Ethernet ones', () => {
    const s = new DecodeSession();
    const frags = fragmentIPv4(v4Datagram(0x5555), 1480);
    const results = frags.map((p: Layer) => s.decode(p, LINKTYPE_RAW));
    expect(names(results)).toEqual(['HELD', 'HELD', 'OK']);
    expect(payloadOf(s.view).equals(PAYLOAD)).toBe(true);
  });
});
