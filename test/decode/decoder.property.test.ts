import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as LT from '../../src/decode/link-types.js';
import { outerPairHashOf, shardOf } from '../../src/decode/outer-pair.js';
import { DECODE_HELD, DECODE_INVALID, DECODE_OK } from '../../src/decode/result.js';
import {
  AF,
  authHeader,
  destinationOptions,
  erspanII,
  erspanIII,
  ETHERTYPE,
  ethernet,
  fragmentIPv4,
  fragmentIPv6,
  gre,
  hopByHop,
  icmpEcho,
  icmpv6Echo,
  ieee8023,
  ipv4,
  ipv4Option,
  ipv6,
  nullHeader,
  routingHeader,
  sll,
  sll2,
  snap,
  tcp,
  tcpOption,
  udp,
  VXLAN_PORT,
  vxlan,
} from '../../tools/craft/layers.js';
import { captured, DecodeSession, decodeFrame, expectViewInBounds } from './decode-helpers.js';
import { ENGINE6, INDICATOR, MAC_A, MAC_B, MONITOR, MONITOR6, v4Tcp, v6Udp } from './fixtures.js';

/** Fixed seeds keep CI reproducible; FC_SEED=<n> explores others. */
const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 0x3a11c0de;

const SUPPORTED = [
  LT.LINKTYPE_NULL,
  LT.LINKTYPE_ETHERNET,
  LT.DLT_RAW_12,
  LT.DLT_RAW_14,
  LT.LINKTYPE_RAW,
  LT.LINKTYPE_LOOP,
  LT.LINKTYPE_LINUX_SLL,
  LT.LINKTYPE_IPV4,
  LT.LINKTYPE_IPV6,
  LT.LINKTYPE_LINUX_SLL2,
];

const eth = (p: Buffer) => ethernet({ src: MAC_A, dst: MAC_B }, p);
const syn = () => tcp({ sport: 49152, dport: 515, flags: 'S', options: [tcpOption.mss(1460), tcpOption.sackPermitted(), tcpOption.windowScale(7)] });
const syslog = (n = 64) => udp({ sport: 40514, dport: 514 }, Buffer.alloc(n, 0x61));

/** Valid frames of every kind the decoder handles, for mutation. */
const CORPUS: Array<{ name: string; linkType: number; bytes: Buffer }> = [
  { name: 'ethernet ipv4 tcp', linkType: LT.LINKTYPE_ETHERNET, bytes: eth(v4Tcp()) },
  { name: 'ethernet ipv6 udp', linkType: LT.LINKTYPE_ETHERNET, bytes: eth(v6Udp()) },
  { name: 'ipv4 options syn', linkType: LT.LINKTYPE_RAW, bytes: ipv4({ src: MONITOR, dst: INDICATOR, options: ipv4Option.recordRoute(2) }, syn()) },
  { name: 'ipv6 syn', linkType: LT.LINKTYPE_IPV6, bytes: ipv6({ src: MONITOR6, dst: ENGINE6 }, syn()) },
  {
    name: 'stacked vlans',
    linkType: LT.LINKTYPE_ETHERNET,
    bytes: ethernet({ src: MAC_A, dst: MAC_B, vlans: [{ vid: 1, tpid: ETHERTYPE.QINQ }, { vid: 2, tpid: ETHERTYPE.VLAN_9100 }, { vid: 3 }] }, v4Tcp()),
  },
  { name: '802.3 snap', linkType: LT.LINKTYPE_ETHERNET, bytes: ieee8023({ src: MAC_A, dst: MAC_B }, snap({}, v6Udp())) },
  { name: 'sll', linkType: LT.LINKTYPE_LINUX_SLL, bytes: sll({ address: MAC_A }, v4Tcp()) },
  { name: 'sll2 llc', linkType: LT.LINKTYPE_LINUX_SLL2, bytes: sll2({ protocol: 4 }, snap({}, v4Tcp())) },
  { name: 'null', linkType: LT.LINKTYPE_NULL, bytes: nullHeader({ family: AF.INET6_FREEBSD, byteOrder: 'le' }, v6Udp()) },
  { name: 'loop', linkType: LT.LINKTYPE_LOOP, bytes: nullHeader({ family: AF.INET, byteOrder: 'be' }, v4Tcp()) },
  { name: 'ipv4 link', linkType: LT.LINKTYPE_IPV4, bytes: ipv4({ src: MONITOR, dst: INDICATOR }, icmpEcho({ id: 1, seq: 1 }, 'ping')) },
  {
    name: 'ipv6 extension chain',
    linkType: LT.LINKTYPE_RAW,
    bytes: ipv6(
      { src: MONITOR6, dst: ENGINE6, extensions: [hopByHop(), destinationOptions(), routingHeader({ type: 2, segmentsLeft: 0, addresses: ['fd00::1'] }), authHeader({ spi: 1, seq: 1 })] },
      icmpv6Echo({ id: 1, seq: 1 }, 'ping'),
    ),
  },
  { name: 'gre', linkType: LT.LINKTYPE_ETHERNET, bytes: eth(ipv4({ src: '10.255.0.1', dst: '10.255.0.2' }, gre({ checksum: true, key: 1, sequence: 2 }, eth(v4Tcp())))) },
  { name: 'erspan II', linkType: LT.LINKTYPE_ETHERNET, bytes: eth(ipv4({ src: '10.255.0.1', dst: '10.255.0.2' }, gre({ sequence: 2 }, erspanII({ sessionId: 1 }, eth(v6Udp()))))) },
  { name: 'erspan III', linkType: LT.LINKTYPE_ETHERNET, bytes: eth(ipv6({ src: 'fd00::1', dst: 'fd00::2' }, gre({}, erspanIII({ sessionId: 1 }, eth(v4Tcp()))))) },
  {
    name: 'vxlan',
    linkType: LT.LINKTYPE_ETHERNET,
    bytes: eth(ipv4({ src: '172.16.100.1', dst: '172.16.100.2' }, udp({ sport: 40000, dport: VXLAN_PORT }, vxlan({ vni: 5030 }, eth(v4Tcp()))))),
  },
  ...fragmentIPv4(ipv4({ src: MONITOR, dst: INDICATOR, id: 9 }, syslog(100)), 48).map((f, i) => ({ name: `ipv4 fragment ${i}`, linkType: LT.LINKTYPE_RAW, bytes: Buffer.from(f) })),
  ...fragmentIPv6(ipv6({ src: MONITOR6, dst: ENGINE6 }, syslog(100)), 48, 9).map((f, i) => ({ name: `ipv6 fragment ${i}`, linkType: LT.LINKTYPE_RAW, bytes: Buffer.from(f) })),
];

/** Length values that sit on the edges decoders get wrong. */
const edgeU16 = fc.constantFrom(0, 1, 4, 7, 8, 19, 20, 24, 39, 40, 60, 0x05dc, 0x05dd, 0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x6558, 0x88be, 0x22eb, 4789, 0xfff8, 0xffff);

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'u16'; at: number; value: number }
  | { kind: 'truncate'; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('u16' as const), at: fc.nat(), value: fc.oneof(edgeU16, fc.integer({ min: 0, max: 0xffff })) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(original: Buffer, mutations: Mutation[]): Buffer {
  let b = Buffer.from(original);
  for (const m of mutations) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'flip') b[at] ^= 1 << m.bit;
    else if (m.kind === 'byte') b[at] = m.value;
    else if (m.kind === 'u16') {
      b[at] = m.value >> 8;
      if (at + 1 < b.length) b[at + 1] = m.value & 0xff;
    } else b = b.subarray(0, at);
  }
  return b;
}

describe('decoder properties', () => {
  it('every valid corpus frame decodes whole, so mutations start from real packets', () => {
    for (const c of CORPUS) {
      const { result, view } = decodeFrame(c.bytes, c.linkType);
      expect(result === DECODE_OK || c.name.includes('fragment'), c.name).toBe(true);
      expectViewInBounds(result, view);
    }
  });

  it('random bytes under every link type: never throw, one of the four results, view in bounds', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SUPPORTED, 105, 147),
        fc.uint8Array({ maxLength: 160 }),
        fc.nat({ max: 64 }),
        (linkType, bytes, missing) => {
          const { result, view, dec } = decodeFrame(bytes, linkType, { origlen: bytes.length + missing });
          expectViewInBounds(result, view);
          if (result === DECODE_INVALID) expect(dec.stats.invalid).toBe(1);
        },
      ),
      { seed: SEED, numRuns: 4000 },
    );
  });

  it('random bytes behind a plausible IP header start: never throw, view in bounds', () => {
    fc.assert(
      fc.property(fc.constantFrom(0x45, 0x46, 0x4f, 0x60), fc.uint8Array({ minLength: 39, maxLength: 160 }), (first, rest) => {
        const bytes = Buffer.concat([Buffer.from([first]), rest]);
        // A length field that matches the bytes, so decoding goes past the IP header.
        if (first === 0x60) bytes.writeUInt16BE(bytes.length - 40, 4);
        else bytes.writeUInt16BE(bytes.length, 2);
        for (const linkType of [LT.LINKTYPE_RAW, LT.LINKTYPE_ETHERNET]) {
          const frame = linkType === LT.LINKTYPE_RAW ? bytes : eth(Object.assign(bytes, { etherType: first === 0x60 ? 0x86dd : 0x0800 }));
          const { result, view } = decodeFrame(frame, linkType);
          expectViewInBounds(result, view);
        }
      }),
      { seed: SEED, numRuns: 4000 },
    );
  });

  it('mutated valid packets (bit flips, bytes, length fields, truncation): never throw, view in bounds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: CORPUS.length - 1 }),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (which, mutations, cutBySnaplen) => {
          const c = CORPUS[which];
          const bytes = mutate(c.bytes, mutations);
          const origlen = cutBySnaplen ? Math.max(bytes.length, c.bytes.length) : bytes.length;
          const { result, view, dec } = decodeFrame(bytes, c.linkType, { origlen });
          expectViewInBounds(result, view);
          const counted = dec.stats.invalid + dec.stats.nonIp;
          if (result === DECODE_INVALID) expect(dec.stats.invalid).toBe(1);
          else expect(counted).toBeLessThanOrEqual(1);
        },
      ),
      { seed: SEED, numRuns: 6000 },
    );
  });

  it('the routing peek finds the outer address pair the decoder finds, for every frame it decodes', () => {
    for (const c of CORPUS) {
      const { result, view } = decodeFrame(c.bytes, c.linkType);
      expect(result === DECODE_OK || result === DECODE_HELD, c.name).toBe(true);
      expect(outerPairHashOf(captured(c.bytes, c.linkType, { at: 3 })), c.name).toBe(view.outerPairHash);
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: CORPUS.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (which, mutations) => {
        const c = CORPUS[which];
        const bytes = mutate(c.bytes, mutations);
        const { result, view } = decodeFrame(bytes, c.linkType, { origlen: c.bytes.length });
        // Frames the decoder refuses may go to any thread: only one decodes and counts them.
        if (result === DECODE_OK || result === DECODE_HELD) expect(outerPairHashOf(captured(bytes, c.linkType, { origlen: c.bytes.length }))).toBe(view.outerPairHash);
      }),
      { seed: SEED, numRuns: 6000 },
    );
  });

  it('both directions of a conversation, and every conversation between two hosts, go to one thread', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), fc.ipV6(), fc.ipV6(), fc.integer({ min: 2, max: 8 }), (a4, b4, a6, b6, threads) => {
        const pairs: Array<[Buffer, Buffer]> = [
          [eth(ipv4({ src: a4, dst: b4 }, syn())), eth(ipv4({ src: b4, dst: a4 }, syslog()))],
          [eth(ipv6({ src: a6, dst: b6 }, syn())), eth(ipv6({ src: b6, dst: a6 }, syslog()))],
        ];
        for (const [there, back] of pairs) {
          const h = outerPairHashOf(captured(there, LT.LINKTYPE_ETHERNET));
          expect(outerPairHashOf(captured(back, LT.LINKTYPE_ETHERNET))).toBe(h);
          expect(shardOf(h, threads)).toBeLessThan(threads);
        }
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('host pairs spread over the threads', () => {
    const perThread = [0, 0, 0];
    for (let i = 0; i < 3000; i++) {
      const frame = eth(ipv4({ src: `10.${(i >> 8) & 255}.${i & 255}.7`, dst: '10.1.5.20' }, syn()));
      perThread[shardOf(outerPairHashOf(captured(frame, LT.LINKTYPE_ETHERNET)), 3)]++;
    }
    for (const n of perThread) expect(n).toBeGreaterThan(800);
  });

  it('mutated fragment streams through one decoder: never throw, view in bounds, state within the caps', () => {
    const v4 = fragmentIPv4(ipv4({ src: MONITOR, dst: INDICATOR, id: 77 }, syslog(300)), 64);
    const v6 = fragmentIPv6(ipv6({ src: MONITOR6, dst: ENGINE6 }, syslog(300)), 64, 77);
    const pool = [...v4, ...v6].map((f) => Buffer.from(f));
    const caps = { timeoutSec: 5, maxDatagrams: 3, maxBytes: 700 };
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            which: fc.integer({ min: 0, max: pool.length - 1 }),
            mutations: fc.array(mutationArb, { maxLength: 2 }),
            advance: fc.constantFrom(0, 0, 0, 1, 6),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (steps) => {
          const session = new DecodeSession(caps);
          let ts = 1738231200;
          for (const step of steps) {
            ts += step.advance;
            const bytes = mutate(pool[step.which], step.mutations);
            const result = session.dec.decode(captured(bytes, LT.LINKTYPE_RAW, { tsSec: ts }), session.view);
            expectViewInBounds(result, session.view);
            expect(session.dec.defrag.pending).toBeLessThanOrEqual(caps.maxDatagrams);
            expect(session.dec.defrag.bytesHeld).toBeLessThanOrEqual(caps.maxBytes);
            expect(session.dec.defrag.bytesHeld).toBeGreaterThanOrEqual(0);
          }
        },
      ),
      { seed: SEED, numRuns: 1500 },
    );
  });
});
