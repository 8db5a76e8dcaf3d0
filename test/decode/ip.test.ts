import { describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_RAW } from '../../src/decode/link-types.js';
import { IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../../src/decode/packet-view.js';
import { DECODE_INVALID, DECODE_OK } from '../../src/decode/result.js';
import {
  authHeader,
  concat,
  destinationOptions,
  ethernet,
  fragmentHeader,
  hopByHop,
  icmpEcho,
  icmpv6Echo,
  IPPROTO,
  ipv4,
  ipv4Option,
  ipv6,
  ipv6Option,
  routingHeader,
  tcp,
  udp,
  type Ipv6Extension,
} from '../../tools/craft/layers.js';
import { decodeFrame, expectAddresses, expectEveryTruncationRejected, invalidReasons, payloadOf } from './decode-helpers.js';
import {
  ENGINE6,
  expectV4Tcp,
  expectV6Udp,
  INDICATOR,
  LPD_PAYLOAD,
  MAC_A,
  MAC_B,
  MONITOR,
  MONITOR6,
  SYSLOG_PAYLOAD,
  v4Tcp,
  v6Udp,
} from './fixtures.js';

const eth = (payload: Buffer) => ethernet({ src: MAC_A, dst: MAC_B }, payload);

describe('IPv4', () => {
  it('skips options to reach the transport header', () => {
    const options = concat(ipv4Option.routerAlert(), ipv4Option.recordRoute(3, ['10.0.0.1']));
    const packet = ipv4({ src: MONITOR, dst: INDICATOR, ttl: 63, options }, tcp({ sport: 49152, dport: 515, seq: 0x01020304, ack: 0xa0b0c0d0, flags: 'PA', window: 502 }, LPD_PAYLOAD));
    expect(packet[0] & 0x0f, 'header of 10 words').toBe(10);
    const d = decodeFrame(eth(packet), LINKTYPE_ETHERNET);
    expectV4Tcp(d);
    expect(d.view.ipCapturedLength).toBe(packet.length);
    expect(d.view.ipBuf.subarray(d.view.ipOffset, d.view.ipOffset + 20)).toEqual(new Uint8Array(packet.subarray(0, 20)));
    expectEveryTruncationRejected(eth(packet), LINKTYPE_ETHERNET);
  });

  it('trims link padding past the total length', () => {
    const ping = ipv4({ src: MONITOR, dst: '192.168.10.25' }, icmpEcho({ id: 7, seq: 1 }, 'ab'));
    const frame = ethernet({ src: MAC_A, dst: MAC_B, padTo: 60 }, ping);
    expect(frame.length - 14).toBeGreaterThan(ping.length);
    const d = decodeFrame(frame, LINKTYPE_ETHERNET);
    expect(d.result).toBe(DECODE_OK);
    expect(d.view.ipCapturedLength).toBe(ping.length);
    expect(payloadOf(d.view).toString()).toBe('ab');
    expect(d.view.payloadWireLength).toBe(2);
    const trailer = decodeFrame(concat(eth(v4Tcp()), Buffer.from('FCS!')), LINKTYPE_ETHERNET);
    expectV4Tcp(trailer);
  });

  it('refuses a total length past the captured bytes when the snap length did not cut the frame', () => {
    const d = decodeFrame(eth(ipv4({ src: MONITOR, dst: INDICATOR, protocol: IPPROTO.TCP, totalLength: v4Tcp().length + 1 }, v4Tcp().subarray(20))), LINKTYPE_ETHERNET);
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'ipv4.trunc_pkt': 1 });
  });

  it('decodes a frame cut by the snap length: payload cut, announced length kept', () => {
    const frame = eth(v4Tcp());
    const cutAt = 14 + 20 + 20 + 5;
    const d = decodeFrame(frame.subarray(0, cutAt), LINKTYPE_ETHERNET, { origlen: frame.length });
    expect(d.result).toBe(DECODE_OK);
    expect(d.view.cutBySnaplen).toBe(true);
    expect(d.dec.stats.truncatedBySnaplen).toBe(1);
    expect([d.view.srcPort, d.view.dstPort]).toEqual([49152, 515]);
    expect(payloadOf(d.view)).toEqual(LPD_PAYLOAD.subarray(0, 5));
    expect(d.view.payloadWireLength).toBe(LPD_PAYLOAD.length);
    expect(d.view.ipCapturedLength).toBe(cutAt - 14);
    expect(d.dec.stats.invalid).toBe(0);
  });

  it('still refuses a frame the snap length cut inside the IP or TCP header', () => {
    const frame = eth(v4Tcp());
    expect(invalidReasons(decodeFrame(frame.subarray(0, 14 + 19), LINKTYPE_ETHERNET, { origlen: frame.length }).dec)).toEqual({ 'ipv4.pkt_too_small': 1 });
    expect(invalidReasons(decodeFrame(frame.subarray(0, 14 + 39), LINKTYPE_ETHERNET, { origlen: frame.length }).dec)).toEqual({ 'tcp.pkt_too_small': 1 });
  });

  it('names bad header fields', () => {
    const cases: Array<[string, (b: Buffer) => void, string]> = [
      ['version 5', (b) => (b[0] = 0x55), 'ipv4.wrong_ip_version'],
      ['IHL of 4 words', (b) => (b[0] = 0x44), 'ipv4.hlen_too_small'],
      ['IHL of 15 words in a 28-byte packet', (b) => (b[0] = 0x4f), 'ipv4.pkt_too_small'],
      ['total length 19', (b) => b.writeUInt16BE(19, 2), 'ipv4.iplen_smaller_than_hlen'],
    ];
    for (const [name, damage, reason] of cases) {
      const packet = Buffer.from(ipv4({ src: MONITOR, dst: INDICATOR }, udp({ sport: 1, dport: 2 })));
      damage(packet);
      const d = decodeFrame(packet, LINKTYPE_IPV4);
      expect(d.result, name).toBe(DECODE_INVALID);
      expect(invalidReasons(d.dec), name).toEqual({ [reason]: 1 });
    }
  });

  it('reports another IP protocol (ESP) with its payload', () => {
    const esp = Buffer.from('0000100100000001cafebabe', 'hex');
    const d = decodeFrame(ipv4({ src: MONITOR, dst: INDICATOR, protocol: IPPROTO.ESP }, esp), LINKTYPE_RAW);
    expect(d.result).toBe(DECODE_OK);
    expect(d.view.ipProto).toBe(50);
    expect(d.dec.stats.otherIpProto).toBe(1);
    expect(payloadOf(d.view)).toEqual(esp);
    expect([d.view.srcPort, d.view.dstPort]).toEqual([0, 0]);
  });
});

describe('IPv6', () => {
  const syslog = () => udp({ sport: 40514, dport: 514 }, SYSLOG_PAYLOAD);
  const withExtensions = (extensions: Ipv6Extension[]) => ipv6({ src: MONITOR6, dst: ENGINE6, hopLimit: 60, extensions }, syslog());

  it('trims padding past the payload length and refuses a payload length past the captured bytes', () => {
    expectV6Udp(decodeFrame(concat(v6Udp(), Buffer.alloc(6)), LINKTYPE_RAW));
    const long = Buffer.from(v6Udp());
    long.writeUInt16BE(long.readUInt16BE(4) + 1, 4);
    const d = decodeFrame(long, LINKTYPE_RAW);
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'ipv6.trunc_pkt': 1 });
  });

  it('decodes a packet cut by the snap length', () => {
    const packet = v6Udp();
    const d = decodeFrame(packet.subarray(0, 40 + 8 + 3), LINKTYPE_RAW, { origlen: packet.length });
    expect(d.result).toBe(DECODE_OK);
    expect([d.view.srcPort, d.view.dstPort]).toEqual([40514, 514]);
    expect(payloadOf(d.view)).toEqual(SYSLOG_PAYLOAD.subarray(0, 3));
    expect(d.view.payloadWireLength).toBe(SYSLOG_PAYLOAD.length);
  });

  const chains: Array<{ name: string; extensions: Ipv6Extension[] }> = [
    { name: 'hop-by-hop (router alert)', extensions: [hopByHop(ipv6Option.routerAlert(0))] },
    { name: 'destination options', extensions: [destinationOptions(ipv6Option.padN(12))] },
    { name: 'routing type 0 with two addresses', extensions: [routingHeader({ type: 0, segmentsLeft: 0, addresses: ['fd00::1', 'fd00::2'] })] },
    { name: 'routing type 2', extensions: [routingHeader({ type: 2, segmentsLeft: 0, addresses: ['fd00::1'] })] },
    { name: 'authentication header', extensions: [authHeader({ spi: 0x1000, seq: 1 })] },
    { name: 'authentication header with a 20-byte ICV', extensions: [authHeader({ spi: 0x1000, seq: 1, icv: Buffer.alloc(20) })] },
    { name: 'atomic fragment', extensions: [fragmentHeader({ id: 0xb001 })] },
    {
      name: 'a chain of all of them',
      extensions: [hopByHop(), destinationOptions(), routingHeader({ type: 2, segmentsLeft: 0, addresses: ['fd00::1'] }), fragmentHeader({ id: 9 }), authHeader({ spi: 1, seq: 1 }), destinationOptions()],
    },
  ];
  for (const c of chains) {
    it(`walks ${c.name} to the transport`, () => {
      const packet = withExtensions(c.extensions);
      const d = decodeFrame(eth(packet), LINKTYPE_ETHERNET);
      expectV6Udp(d);
      expect(d.view.reassembled).toBe(false);
      expect(d.dec.defrag.stats.fragments, 'an atomic fragment needs no reassembly').toBe(0);
      expect(d.view.payloadOffset - d.view.ipOffset).toBe(packet.length - SYSLOG_PAYLOAD.length);
      expectEveryTruncationRejected(eth(packet), LINKTYPE_ETHERNET);
    });
  }

  it('walks hop-by-hop to ICMPv6 and AH to TCP', () => {
    const ping = decodeFrame(ipv6({ src: MONITOR6, dst: ENGINE6, extensions: [hopByHop(ipv6Option.routerAlert(0))] }, icmpv6Echo({ id: 1, seq: 2 }, 'x')), LINKTYPE_RAW);
    expect(ping.result).toBe(DECODE_OK);
    expect(ping.view.ipProto).toBe(IPPROTO_ICMPV6);
    expect([ping.view.icmpType, ping.view.icmpCode]).toEqual([128, 0]);
    const syn = decodeFrame(ipv6({ src: MONITOR6, dst: ENGINE6, extensions: [authHeader({ spi: 1, seq: 1 })] }, tcp({ sport: 49170, dport: 2575, flags: 'S' })), LINKTYPE_RAW);
    expect(syn.result).toBe(DECODE_OK);
    expect(syn.view.ipProto).toBe(IPPROTO_TCP);
    expectAddresses(syn.view, MONITOR6, ENGINE6);
    expect([syn.view.srcPort, syn.view.dstPort]).toEqual([49170, 2575]);
  });

  it('walks a chain of any length the packet holds (hosts answer SYNs behind 9 or 100 headers)', () => {
    for (const n of [8, 9, 100]) {
      const d = decodeFrame(withExtensions(Array.from({ length: n }, () => destinationOptions())), LINKTYPE_RAW);
      expectV6Udp(d);
      expect(d.dec.stats.invalid, `${n} headers`).toBe(0);
    }
  });

  it('keeps the addresses of a packet whose chain is cut before the transport', () => {
    const packet = Buffer.from(withExtensions(Array.from({ length: 12 }, () => destinationOptions())));
    const cut = packet.subarray(0, 40 + 8 * 10 + 4);
    cut.writeUInt16BE(cut.length - 40, 4);
    const d = decodeFrame(cut, LINKTYPE_RAW);
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'ipv6.trunc_exthdr': 1 });
    expect(d.view.transportMissing).toBe(true);
    expectAddresses(d.view, MONITOR6, ENGINE6);
  });

  it('refuses an extension header longer than the packet', () => {
    const packet = Buffer.from(withExtensions([hopByHop()]));
    packet[41] = 200; // 1608 bytes claimed
    const d = decodeFrame(packet, LINKTYPE_RAW);
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'ipv6.trunc_exthdr': 1 });
  });

  it('refuses a chain whose next header is cut by the payload length', () => {
    for (const ext of [hopByHop(), routingHeader({ type: 2, segmentsLeft: 0, addresses: ['fd00::1'] }), authHeader({ spi: 1, seq: 1 }), fragmentHeader({ id: 1, offset: 8 })]) {
      const encoded = ext.encode(IPPROTO.UDP);
      for (let keep = 0; keep < encoded.length; keep++) {
        const packet = ipv6({ src: MONITOR6, dst: ENGINE6, protocol: ext.protocol }, encoded.subarray(0, keep));
        const d = decodeFrame(packet, LINKTYPE_RAW);
        expect(d.result, `${ext.protocol} cut to ${keep}`).toBe(DECODE_INVALID);
        expect(invalidReasons(d.dec), `${ext.protocol} cut to ${keep}`).toEqual({ 'ipv6.trunc_exthdr': 1 });
      }
    }
  });

  it('reports no next header (59) and ESP as other protocols', () => {
    for (const proto of [IPPROTO.NONE, IPPROTO.ESP]) {
      const d = decodeFrame(ipv6({ src: MONITOR6, dst: ENGINE6, protocol: proto, extensions: [destinationOptions()] }, Buffer.alloc(16, 1)), LINKTYPE_RAW);
      expect(d.result).toBe(DECODE_OK);
      expect(d.view.ipProto).toBe(proto);
      expect(d.dec.stats.otherIpProto).toBe(1);
      expect(payloadOf(d.view)).toEqual(Buffer.alloc(16, 1));
    }
  });

  it('refuses a header shorter than 40 bytes', () => {
    const d = decodeFrame(v6Udp().subarray(0, 39), LINKTYPE_RAW, { origlen: v6Udp().length });
    expect(invalidReasons(d.dec)).toEqual({ 'ipv6.pkt_too_small': 1 });
    expect(d.view.ipProto).not.toBe(IPPROTO_UDP);
  });
});
