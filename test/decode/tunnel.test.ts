import { describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../src/decode/link-types.js';
import { IPPROTO_ICMP, IPPROTO_UDP } from '../../src/decode/packet-view.js';
import { DECODE_INVALID, DECODE_NON_IP, DECODE_OK } from '../../src/decode/result.js';
import {
  arp,
  concat,
  erspanII,
  erspanIII,
  ETHERTYPE,
  ethernet,
  gre,
  icmpEcho,
  IPPROTO,
  ipv4,
  ipv6,
  udp,
  VXLAN_PORT,
  vxlan,
  type GreOptions,
  type Layer,
  type VlanTag,
} from '../../tools/craft/layers.js';
import { decodeFrame, expectAddresses, expectEveryTruncationRejected, invalidReasons, payloadOf } from './decode-helpers.js';
import { ENGINE6, expectV4Tcp, expectV6Udp, MAC_A, MAC_B, MONITOR, MONITOR6, SYSLOG_PAYLOAD, v4Tcp, v6Udp } from './fixtures.js';

const SWITCH = '10.255.1.1';
const COLLECTOR = '10.255.1.100';
const outerEth = (payload: Buffer, vlans?: VlanTag[]) => ethernet({ src: '00:1b:54:ee:00:01', dst: '00:1b:54:ee:00:02', vlans }, payload);
const outerIp = (payload: Layer) => ipv4({ src: SWITCH, dst: COLLECTOR, ttl: 255 }, payload);
const innerEth = (payload: Buffer, vlans?: VlanTag[]) => ethernet({ src: MAC_A, dst: MAC_B, vlans }, payload);
const greFrame = (opts: GreOptions, payload: Layer) => outerEth(outerIp(gre(opts, payload)));

/** Sets the O flag of an ERSPAN type III header and inserts the 8-byte platform subheader after it. */
function withPlatformSubheader(erspan: Layer): Layer {
  const header = Buffer.from(erspan.subarray(0, 12));
  header[11] |= 0x01;
  const platform = Buffer.from([0x0c, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]); // platform id 3
  return Object.assign(concat(header, platform, erspan.subarray(12)), { etherType: ETHERTYPE.ERSPAN_III });
}

function expectInnerV4Tcp(frame: Buffer, depth = 1): ReturnType<typeof decodeFrame> {
  const d = decodeFrame(frame, LINKTYPE_ETHERNET);
  expect(d.result, JSON.stringify(invalidReasons(d.dec))).toBe(DECODE_OK);
  expectAddresses(d.view, MONITOR, '202.114.4.119');
  expect([d.view.srcPort, d.view.dstPort]).toEqual([49152, 515]);
  expect(d.view.tunnelDepth).toBe(depth);
  expect(payloadOf(d.view).toString('latin1')).toBe('\x02ward3-laser\n');
  return d;
}

describe('GRE', () => {
  const variants: Array<[string, GreOptions]> = [
    ['plain', {}],
    ['with a key', { key: 0x1234 }],
    ['with checksum, key and sequence', { checksum: true, key: 7, sequence: 99 }],
    ['with a sequence number', { sequence: 1 }],
  ];
  for (const [name, opts] of variants) {
    it(`${name}: decodes IPv4, IPv6 and Ethernet (0x6558) inside`, () => {
      const d = expectInnerV4Tcp(greFrame(opts, v4Tcp()));
      expect(d.dec.stats.gre).toBe(1);
      expect(d.dec.stats.ipv4, 'outer and inner IPv4').toBe(2);
      const six = decodeFrame(greFrame(opts, v6Udp()), LINKTYPE_ETHERNET);
      expectV6Udp(six);
      expect(six.view.tunnelDepth).toBe(1);
      expectInnerV4Tcp(greFrame(opts, innerEth(v4Tcp())));
      expectEveryTruncationRejected(greFrame(opts, v4Tcp()), LINKTYPE_ETHERNET);
      expectEveryTruncationRejected(greFrame(opts, innerEth(v6Udp())), LINKTYPE_ETHERNET);
    });
  }

  it('reports the VLAN tags of the inner frame, not the outer ones', () => {
    const d = expectInnerV4Tcp(outerEth(outerIp(gre({}, innerEth(v4Tcp(), [{ vid: 30 }]))), [{ vid: 999 }]));
    expect(d.view.vlanCount).toBe(1);
    expect(d.view.vlanIds[0]).toBe(30);
    const untagged = expectInnerV4Tcp(outerEth(outerIp(gre({}, innerEth(v4Tcp()))), [{ vid: 999 }]));
    expect(untagged.view.vlanCount).toBe(0);
  });

  it('refuses versions other than 0 (PPTP uses 1)', () => {
    const frame = Buffer.from(greFrame({ key: 1 }, v4Tcp()));
    frame[14 + 20 + 1] |= 0x01;
    const d = decodeFrame(frame, LINKTYPE_ETHERNET);
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'gre.wrong_version': 1 });
  });

  it('refuses optional fields cut by the IP length', () => {
    const header = gre({ checksum: true, key: 1, sequence: 2 }, v4Tcp()).subarray(0, 12);
    const d = decodeFrame(outerEth(ipv4({ src: SWITCH, dst: COLLECTOR, protocol: IPPROTO.GRE }, header)), LINKTYPE_ETHERNET);
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'gre.pkt_too_small': 1 });
  });

  it('reports a non-IP payload as non-IP', () => {
    const d = decodeFrame(greFrame({}, innerEth(arp({ op: 1, senderMac: MAC_A, senderIp: MONITOR, targetIp: '10.20.30.1' }))), LINKTYPE_ETHERNET);
    expect(d.result).toBe(DECODE_NON_IP);
    expect(d.view.tunnelDepth).toBe(1);
  });
});

describe('ERSPAN', () => {
  it('type I: GRE 0x88be without a sequence number, the frame right after GRE', () => {
    const d = expectInnerV4Tcp(greFrame({ protocol: ETHERTYPE.ERSPAN_II }, innerEth(v4Tcp())));
    expect([d.dec.stats.gre, d.dec.stats.erspan]).toEqual([1, 1]);
    expectEveryTruncationRejected(greFrame({ protocol: ETHERTYPE.ERSPAN_II }, innerEth(v4Tcp())), LINKTYPE_ETHERNET);
  });

  it('type II: skips the 8-byte ERSPAN header', () => {
    const frame = greFrame({ sequence: 5 }, erspanII({ sessionId: 7, vlan: 30, index: 12 }, innerEth(v4Tcp(), [{ vid: 30 }])));
    const d = expectInnerV4Tcp(frame);
    expect([d.dec.stats.gre, d.dec.stats.erspan]).toEqual([1, 1]);
    expect(Array.from(d.view.vlanIds.subarray(0, d.view.vlanCount))).toEqual([30]);
    expectV6Udp(decodeFrame(greFrame({ sequence: 6 }, erspanII({ sessionId: 7 }, innerEth(v6Udp()))), LINKTYPE_ETHERNET));
    expectEveryTruncationRejected(frame, LINKTYPE_ETHERNET);
  });

  it('type III: skips the 12-byte header, and the platform subheader when the O flag is set', () => {
    const plain = erspanIII({ sessionId: 9, vlan: 30, timestamp: 0x12345600, hardwareId: 3, granularity: 1 }, innerEth(v4Tcp()));
    for (const erspan of [plain, withPlatformSubheader(plain)]) {
      const frame = greFrame({ sequence: 1 }, erspan);
      const d = expectInnerV4Tcp(frame);
      expect(d.dec.stats.erspan).toBe(1);
      expectEveryTruncationRejected(frame, LINKTYPE_ETHERNET);
    }
    expectInnerV4Tcp(greFrame({}, plain));
  });

  it('refuses ERSPAN headers of the wrong version or cut short', () => {
    const badII = Buffer.from(erspanII({ sessionId: 7 }, innerEth(v4Tcp())));
    badII[0] = (badII[0] & 0x0f) | 0x20;
    const wrongII = decodeFrame(greFrame({ sequence: 1, protocol: ETHERTYPE.ERSPAN_II }, badII), LINKTYPE_ETHERNET);
    expect(invalidReasons(wrongII.dec)).toEqual({ 'erspan.unsupported_version': 1 });
    const badIII = Buffer.from(erspanIII({ sessionId: 9 }, innerEth(v4Tcp())));
    badIII[0] = (badIII[0] & 0x0f) | 0x10;
    const wrongIII = decodeFrame(greFrame({ protocol: ETHERTYPE.ERSPAN_III }, badIII), LINKTYPE_ETHERNET);
    expect(invalidReasons(wrongIII.dec)).toEqual({ 'erspan.unsupported_version': 1 });
    const shortII = decodeFrame(greFrame({ sequence: 1, protocol: ETHERTYPE.ERSPAN_II }, Buffer.alloc(7, 0x10)), LINKTYPE_ETHERNET);
    expect(invalidReasons(shortII.dec)).toEqual({ 'erspan.header_too_small': 1 });
    const shortIII = decodeFrame(greFrame({ protocol: ETHERTYPE.ERSPAN_III }, Buffer.from([0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), LINKTYPE_ETHERNET);
    expect(invalidReasons(shortIII.dec)).toEqual({ 'erspan.header_too_small': 1 });
    const header = Buffer.alloc(12);
    header[0] = 0x20;
    header[11] = 0x01; // a platform subheader announced, 4 of its 8 bytes present
    const cutPlatform = decodeFrame(greFrame({ protocol: ETHERTYPE.ERSPAN_III }, concat(header, Buffer.alloc(4))), LINKTYPE_ETHERNET);
    expect(invalidReasons(cutPlatform.dec)).toEqual({ 'erspan.header_too_small': 1 });
  });
});

describe('VXLAN', () => {
  const vxlanFrame = (inner: Buffer, sport = 51234) =>
    outerEth(ipv4({ src: '172.16.100.1', dst: '172.16.100.2', df: true }, udp({ sport, dport: VXLAN_PORT, checksum: 0 }, vxlan({ vni: 5030 }, inner))));

  it('decapsulates the Ethernet frame on UDP 4789', () => {
    const d = expectInnerV4Tcp(vxlanFrame(innerEth(v4Tcp(), [{ vid: 30 }])));
    expect([d.dec.stats.udp, d.dec.stats.vxlan, d.dec.stats.tcp]).toEqual([1, 1, 1]);
    expect(Array.from(d.view.vlanIds.subarray(0, d.view.vlanCount))).toEqual([30]);
    const six = decodeFrame(vxlanFrame(innerEth(v6Udp())), LINKTYPE_ETHERNET);
    expect(six.result).toBe(DECODE_OK);
    expectAddresses(six.view, MONITOR6, ENGINE6);
    expect([six.view.srcPort, six.view.dstPort, six.view.tunnelDepth]).toEqual([40514, 514, 1]);
    expect(payloadOf(six.view)).toEqual(SYSLOG_PAYLOAD);
    expect([six.dec.stats.udp, six.dec.stats.ipv4, six.dec.stats.ipv6]).toEqual([2, 1, 1]);
    expectEveryTruncationRejected(vxlanFrame(innerEth(v4Tcp())), LINKTYPE_ETHERNET);
  });

  it('keeps a UDP 4789 datagram that is not VXLAN as UDP', () => {
    const notVxlan = [
      Buffer.from('not a vxlan header, just bytes'),
      concat(Buffer.from([0x08, 0, 0, 0, 0, 0, 0x13, 0x01]), innerEth(v4Tcp())), // reserved byte set
      Buffer.from([0x08, 0, 0, 0, 0, 0, 0x13, 0, 1, 2, 3]), // too short for a frame
    ];
    for (const payload of notVxlan) {
      const d = decodeFrame(outerEth(ipv4({ src: '172.16.100.1', dst: '172.16.100.2' }, udp({ sport: 40000, dport: VXLAN_PORT }, payload))), LINKTYPE_ETHERNET);
      expect(d.result).toBe(DECODE_OK);
      expect([d.view.srcPort, d.view.dstPort, d.view.ipProto, d.view.tunnelDepth]).toEqual([40000, VXLAN_PORT, IPPROTO_UDP, 0]);
      expect(payloadOf(d.view)).toEqual(payload);
      expect(d.dec.stats.vxlan).toBe(0);
    }
  });

  it('an inner packet without ports does not inherit the outer UDP ports', () => {
    const d = decodeFrame(vxlanFrame(innerEth(ipv4({ src: MONITOR, dst: '192.168.10.25' }, icmpEcho({ id: 1, seq: 1 }, 'ping')))), LINKTYPE_ETHERNET);
    expect(d.result).toBe(DECODE_OK);
    expect(d.view.tunnelDepth).toBe(1);
    expect(d.view.ipProto).toBe(IPPROTO_ICMP);
    expectAddresses(d.view, MONITOR, '192.168.10.25');
    expect([d.view.srcPort, d.view.dstPort], 'an ICMP packet has no ports').toEqual([0, 0]);
  });
});

describe('nested tunnels', () => {
  /** `depth` GRE layers around the packet, each with its own outer IPv4 header. */
  function nestedGre(depth: number, inner: Layer): Buffer {
    let packet: Layer = inner;
    for (let i = 0; i < depth; i++) packet = ipv4({ src: `10.255.${i}.1`, dst: `10.255.${i}.2` }, gre({ key: i }, packet));
    return outerEth(packet);
  }

  it('follows three tunnel layers', () => {
    const d = expectInnerV4Tcp(nestedGre(3, v4Tcp()), 3);
    expect(d.dec.stats.gre).toBe(3);
    expectEveryTruncationRejected(nestedGre(3, v4Tcp()), LINKTYPE_ETHERNET);
  });

  it('refuses a fourth GRE layer as tunnel.too_deep', () => {
    const d = decodeFrame(nestedGre(4, v4Tcp()), LINKTYPE_ETHERNET);
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'tunnel.too_deep': 1 });
  });

  it('leaves VXLAN at the depth limit as plain UDP', () => {
    const vx = ipv4({ src: '172.16.100.1', dst: '172.16.100.2' }, udp({ sport: 40000, dport: VXLAN_PORT }, vxlan({ vni: 1 }, innerEth(v4Tcp()))));
    const d = decodeFrame(nestedGre(3, vx), LINKTYPE_ETHERNET);
    expect(d.result).toBe(DECODE_OK);
    expect(d.view.tunnelDepth).toBe(3);
    expectAddresses(d.view, '172.16.100.1', '172.16.100.2');
    expect([d.view.srcPort, d.view.dstPort]).toEqual([40000, VXLAN_PORT]);
    expect(d.dec.stats.vxlan).toBe(0);
    const under = expectInnerV4Tcp(nestedGre(2, vx), 3);
    expect(under.dec.stats.vxlan).toBe(1);
  });

  it('counts GRE in VXLAN in GRE down to the innermost packet', () => {
    const inner = innerEth(ipv6({ src: 'fd00::1', dst: 'fd00::2' }, gre({}, v4Tcp())));
    const vx = ipv4({ src: '172.16.100.1', dst: '172.16.100.2' }, udp({ sport: 40000, dport: VXLAN_PORT }, vxlan({ vni: 1 }, inner)));
    expectInnerV4Tcp(nestedGre(1, vx), 3);
  });
});

describe('a tunnel does not change the decoded packet', () => {
  it('the same inner packet decodes alike bare and in each tunnel', () => {
    const bare = decodeFrame(innerEth(v4Tcp()), LINKTYPE_ETHERNET);
    expectV4Tcp(bare);
    for (const frame of [
      greFrame({}, v4Tcp()),
      greFrame({ sequence: 1 }, erspanII({ sessionId: 1 }, innerEth(v4Tcp()))),
      greFrame({}, erspanIII({ sessionId: 1 }, innerEth(v4Tcp()))),
    ]) {
      const d = decodeFrame(frame, LINKTYPE_ETHERNET);
      expect([d.view.ttl, d.view.tcpSeq, d.view.tcpAck, d.view.tcpFlags, d.view.payloadWireLength]).toEqual([
        bare.view.ttl,
        bare.view.tcpSeq,
        bare.view.tcpAck,
        bare.view.tcpFlags,
        bare.view.payloadWireLength,
      ]);
    }
  });
});
