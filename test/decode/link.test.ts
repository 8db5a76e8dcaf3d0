import { describe, expect, it } from 'vitest';
import * as LT from '../../src/decode/link-types.js';
import { DECODE_INVALID, DECODE_NON_IP, DECODE_OK } from '../../src/decode/result.js';
import {
  AF,
  arp,
  ETHERTYPE,
  ethernet,
  ieee8023,
  llc,
  nullHeader,
  sll,
  sll2,
  snap,
  type VlanTag,
} from '../../tools/craft/layers.js';
import { DecodeSession, decodeFrame, expectEveryTruncationRejected, invalidReasons } from './decode-helpers.js';
import { expectV4Tcp, expectV6Udp, MAC_A, MAC_B, MONITOR, v4Tcp, v6Udp } from './fixtures.js';

const eth = (payload: Buffer, vlans?: VlanTag[]) => ethernet({ src: MAC_A, dst: MAC_B, vlans }, payload);
const arpRequest = () => arp({ op: 1, senderMac: MAC_A, senderIp: MONITOR, targetIp: '10.20.30.1' });
/** A spanning-tree configuration BPDU behind LLC 42-42-03. */
const stpBpdu = () => llc({ dsap: 0x42, ssap: 0x42 }, Buffer.alloc(35));

describe('Ethernet II', () => {
  it('decodes IPv4/TCP and IPv6/UDP and counts the link type', () => {
    const d = decodeFrame(eth(v4Tcp()), LT.LINKTYPE_ETHERNET);
    expectV4Tcp(d);
    expect(d.view.linkType).toBe(1);
    expect(d.view.vlanCount).toBe(0);
    expect(d.view.tunnelDepth).toBe(0);
    expect(d.view.wireLength).toBe(14 + v4Tcp().length);
    expect(d.view.capturedLength).toBe(14 + v4Tcp().length);
    expect(d.view.cutBySnaplen).toBe(false);
    expect(d.dec.stats.packets).toBe(1);
    expect(d.dec.stats.bytes).toBe(14 + v4Tcp().length);
    expect(Object.fromEntries(d.dec.stats.byLinkType)).toEqual({ 1: 1 });
    expectV6Udp(decodeFrame(eth(v6Udp()), LT.LINKTYPE_ETHERNET));
  });

  it('reports ARP as non-IP without counting an error', () => {
    const d = decodeFrame(ethernet({ src: MAC_A, dst: 'ff:ff:ff:ff:ff:ff', padTo: 60 }, arpRequest()), LT.LINKTYPE_ETHERNET);
    expect(d.result).toBe(DECODE_NON_IP);
    expect(d.dec.stats.nonIp).toBe(1);
    expect(d.dec.stats.invalid).toBe(0);
  });

  it('rejects every truncation with a counted reason', () => {
    expectEveryTruncationRejected(eth(v4Tcp()), LT.LINKTYPE_ETHERNET);
    expectEveryTruncationRejected(eth(v6Udp()), LT.LINKTYPE_ETHERNET);
    expect(invalidReasons(decodeFrame(eth(v4Tcp()).subarray(0, 13), LT.LINKTYPE_ETHERNET).dec)).toEqual({ 'ethernet.pkt_too_small': 1 });
  });
});

describe('802.3 with LLC', () => {
  it('reports a non-SNAP LLC frame (spanning tree) as non-IP, counted as such', () => {
    const d = decodeFrame(ieee8023({ src: MAC_A, dst: '01:80:c2:00:00:00', padTo: 60 }, stpBpdu()), LT.LINKTYPE_ETHERNET);
    expect(d.result).toBe(DECODE_NON_IP);
    expect(d.dec.stats.invalid).toBe(0);
    expect(d.dec.stats.nonIp, 'DecodeStats.nonIp counts STP frames').toBe(1);
  });

  it('follows SNAP to IPv4 and IPv6', () => {
    expectV4Tcp(decodeFrame(ieee8023({ src: MAC_A, dst: MAC_B }, snap({}, v4Tcp())), LT.LINKTYPE_ETHERNET));
    expectV6Udp(decodeFrame(ieee8023({ src: MAC_A, dst: MAC_B }, snap({}, v6Udp())), LT.LINKTYPE_ETHERNET));
  });

  it('reports SNAP with a non-IP EtherType as non-IP', () => {
    const d = decodeFrame(ieee8023({ src: MAC_A, dst: MAC_B, padTo: 60 }, snap({}, arpRequest())), LT.LINKTYPE_ETHERNET);
    expect(d.result).toBe(DECODE_NON_IP);
    expect(d.dec.stats.nonIp).toBe(1);
  });

  it('rejects every truncation of a SNAP frame, naming LLC when its header is cut', () => {
    const frame = ieee8023({ src: MAC_A, dst: MAC_B }, snap({}, v4Tcp()));
    expectEveryTruncationRejected(frame, LT.LINKTYPE_ETHERNET);
    for (const len of [14, 15, 16, 17, 21]) {
      expect(invalidReasons(decodeFrame(frame.subarray(0, len), LT.LINKTYPE_ETHERNET).dec), `cut to ${len}`).toEqual({ 'llc.pkt_too_small': 1 });
    }
  });
});

describe('VLAN tags', () => {
  const cases: Array<{ name: string; tags: VlanTag[]; ids: number[] }> = [
    { name: '802.1Q', tags: [{ vid: 30, pcp: 5, dei: true }], ids: [30] },
    { name: '802.1ad + 802.1Q', tags: [{ vid: 100, tpid: ETHERTYPE.QINQ }, { vid: 30 }], ids: [100, 30] },
    { name: '0x9100 + 802.1Q', tags: [{ vid: 4094, tpid: ETHERTYPE.VLAN_9100, pcp: 7 }, { vid: 1 }], ids: [4094, 1] },
    { name: 'three stacked tags', tags: [{ vid: 100, tpid: ETHERTYPE.QINQ }, { vid: 200, tpid: ETHERTYPE.QINQ }, { vid: 30 }], ids: [100, 200, 30] },
  ];
  for (const c of cases) {
    it(`${c.name}: records the ids outermost first and decodes the packet`, () => {
      const d = decodeFrame(eth(v4Tcp(), c.tags), LT.LINKTYPE_ETHERNET);
      expectV4Tcp(d);
      expect(d.view.vlanCount).toBe(c.ids.length);
      expect(Array.from(d.view.vlanIds.subarray(0, d.view.vlanCount))).toEqual(c.ids);
      expect(d.dec.stats.vlan, 'one tagged packet').toBe(1);
      expectV6Udp(decodeFrame(eth(v6Udp(), c.tags), LT.LINKTYPE_ETHERNET));
      expectEveryTruncationRejected(eth(v4Tcp(), c.tags), LT.LINKTYPE_ETHERNET);
    });
  }

  it('refuses a fourth tag', () => {
    const tags = [{ vid: 1, tpid: ETHERTYPE.QINQ }, { vid: 2, tpid: ETHERTYPE.QINQ }, { vid: 3 }, { vid: 4 }];
    const d = decodeFrame(eth(v4Tcp(), tags), LT.LINKTYPE_ETHERNET);
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'vlan.too_many_layers': 1 });
  });

  it('counts a cut tag as vlan.header_too_small', () => {
    const frame = eth(v4Tcp(), [{ vid: 30 }]);
    for (const len of [14, 15, 16, 17]) {
      expect(invalidReasons(decodeFrame(frame.subarray(0, len), LT.LINKTYPE_ETHERNET).dec), `cut to ${len}`).toEqual({ 'vlan.header_too_small': 1 });
    }
  });

  it('reports tagged ARP as non-IP, keeping the tag', () => {
    const d = decodeFrame(eth(arpRequest(), [{ vid: 30 }]), LT.LINKTYPE_ETHERNET);
    expect(d.result).toBe(DECODE_NON_IP);
    expect(d.view.vlanCount).toBe(1);
    expect(d.view.vlanIds[0]).toBe(30);
  });
});

describe('Linux cooked capture', () => {
  const variants = [
    { name: 'SLL', linkType: LT.LINKTYPE_LINUX_SLL, wrap: sll, tooSmall: 'sll.pkt_too_small', header: 16 },
    { name: 'SLL2', linkType: LT.LINKTYPE_LINUX_SLL2, wrap: sll2, tooSmall: 'sll2.pkt_too_small', header: 20 },
  ] as const;
  for (const v of variants) {
    it(`${v.name}: decodes IPv4 and IPv6 by the protocol field`, () => {
      const d = decodeFrame(v.wrap({ packetType: 4, address: MAC_A }, v4Tcp()), v.linkType);
      expectV4Tcp(d);
      expect(Object.fromEntries(d.dec.stats.byLinkType)).toEqual({ [v.linkType]: 1 });
      expectV6Udp(decodeFrame(v.wrap({ address: MAC_A }, v6Udp()), v.linkType));
    });

    it(`${v.name}: protocol 0x0004 is an LLC frame: SNAP leads to IP, anything else is non-IP`, () => {
      expectV4Tcp(decodeFrame(v.wrap({ protocol: 0x0004 }, snap({}, v4Tcp())), v.linkType));
      const stp = decodeFrame(v.wrap({ protocol: 0x0004 }, stpBpdu()), v.linkType);
      expect(stp.result).toBe(DECODE_NON_IP);
      expect(stp.dec.stats.invalid).toBe(0);
    });

    it(`${v.name}: ARP is non-IP`, () => {
      const d = decodeFrame(v.wrap({}, arpRequest()), v.linkType);
      expect(d.result).toBe(DECODE_NON_IP);
      expect(d.dec.stats.nonIp).toBe(1);
    });

    it(`${v.name}: rejects every truncation, the header's own as ${v.tooSmall}`, () => {
      const frame = v.wrap({}, v4Tcp());
      expectEveryTruncationRejected(frame, v.linkType);
      expectEveryTruncationRejected(v.wrap({ protocol: 0x0004 }, snap({}, v6Udp())), v.linkType);
      expect(invalidReasons(decodeFrame(frame.subarray(0, v.header - 1), v.linkType).dec)).toEqual({ [v.tooSmall]: 1 });
    });
  }
});

describe('raw IP link types', () => {
  for (const linkType of [LT.LINKTYPE_RAW, LT.DLT_RAW_12, LT.DLT_RAW_14]) {
    it(`${linkType}: tells IPv4 from IPv6 by the version nibble`, () => {
      expectV4Tcp(decodeFrame(v4Tcp(), linkType));
      expectV6Udp(decodeFrame(v6Udp(), linkType));
      expectEveryTruncationRejected(v4Tcp(), linkType);
      expectEveryTruncationRejected(v6Udp(), linkType);
    });

    it(`${linkType}: refuses other versions and empty frames`, () => {
      const bad = Buffer.from(v4Tcp());
      bad[0] = 0x55;
      for (const frame of [bad, Buffer.alloc(0)]) {
        const d = decodeFrame(frame, linkType);
        expect(d.result).toBe(DECODE_INVALID);
        expect(invalidReasons(d.dec)).toEqual({ 'ipraw.invalid_ip_version': 1 });
      }
    });
  }

  it('LINKTYPE_IPV4 (228) takes IPv4 only', () => {
    expectV4Tcp(decodeFrame(v4Tcp(), LT.LINKTYPE_IPV4));
    expectEveryTruncationRejected(v4Tcp(), LT.LINKTYPE_IPV4);
    const d = decodeFrame(v6Udp(), LT.LINKTYPE_IPV4);
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'ipv4.wrong_ip_version': 1 });
  });

  it('LINKTYPE_IPV6 (229) takes IPv6 only', () => {
    expectV6Udp(decodeFrame(v6Udp(), LT.LINKTYPE_IPV6));
    expectEveryTruncationRejected(v6Udp(), LT.LINKTYPE_IPV6);
    const d = decodeFrame(v4Tcp(), LT.LINKTYPE_IPV6);
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'ipv6.wrong_ip_version': 1 });
  });
});

describe('BSD null / loopback', () => {
  const inet6 = [AF.INET6_LINUX, AF.INET6_BSD, AF.INET6_FREEBSD, AF.INET6_DARWIN];

  for (const byteOrder of ['le', 'be'] as const) {
    it(`LINKTYPE_NULL, ${byteOrder === 'le' ? 'little' : 'big'}-endian family: AF_INET and every AF_INET6 value`, () => {
      const v4 = nullHeader({ family: AF.INET, byteOrder }, v4Tcp());
      expectV4Tcp(decodeFrame(v4, LT.LINKTYPE_NULL));
      expectEveryTruncationRejected(v4, LT.LINKTYPE_NULL);
      for (const family of inet6) {
        const v6 = nullHeader({ family, byteOrder }, v6Udp());
        expectV6Udp(decodeFrame(v6, LT.LINKTYPE_NULL));
        expectEveryTruncationRejected(v6, LT.LINKTYPE_NULL);
      }
    });
  }

  it('LINKTYPE_LOOP: network-order AF_INET and every AF_INET6 value', () => {
    const v4 = nullHeader({ family: AF.INET, byteOrder: 'be' }, v4Tcp());
    expectV4Tcp(decodeFrame(v4, LT.LINKTYPE_LOOP));
    expectEveryTruncationRejected(v4, LT.LINKTYPE_LOOP);
    for (const family of inet6) {
      const v6 = nullHeader({ family, byteOrder: 'be' }, v6Udp());
      expectV6Udp(decodeFrame(v6, LT.LINKTYPE_LOOP));
      expectEveryTruncationRejected(v6, LT.LINKTYPE_LOOP);
    }
  });

  it('LINKTYPE_LOOP does not read a host-order family', () => {
    const d = decodeFrame(nullHeader({ family: AF.INET, byteOrder: 'le' }, v4Tcp()), LT.LINKTYPE_LOOP);
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'null.unsupported_family': 1 });
  });

  it('a cut family field is null.pkt_too_small', () => {
    const d = decodeFrame(Buffer.from([2, 0, 0]), LT.LINKTYPE_NULL);
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'null.pkt_too_small': 1 });
  });

  it('another small family (AF_APPLETALK 16) is non-IP, counted as such', () => {
    for (const linkType of [LT.LINKTYPE_NULL, LT.LINKTYPE_LOOP]) {
      const d = decodeFrame(nullHeader({ family: 16, byteOrder: 'be' }, Buffer.alloc(40)), linkType);
      expect(d.result).toBe(DECODE_NON_IP);
      expect(d.dec.stats.invalid).toBe(0);
      expect(d.dec.stats.nonIp, 'DecodeStats.nonIp counts non-IP loopback frames').toBe(1);
    }
  });
});

describe('unsupported link types', () => {
  it('are counted as link.unsupported', () => {
    const d = decodeFrame(Buffer.alloc(64), 105); // IEEE 802.11
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'link.unsupported': 1 });
    expect(Object.fromEntries(d.dec.stats.byLinkType)).toEqual({ 105: 1 });
  });
});

describe('link type counts', () => {
  it('count every packet under its own link type when interfaces of several types interleave', () => {
    // A pcapng capture from an Ethernet port and a raw-IP tunnel interface, packets mixed.
    const session = new DecodeSession();
    const { LINKTYPE_ETHERNET: ETH, LINKTYPE_RAW: RAW, LINKTYPE_LINUX_SLL: SLL } = LT;
    for (const linkType of [ETH, ETH, RAW, ETH, RAW, RAW, RAW, ETH, SLL, ETH]) {
      const frame = linkType === ETH ? eth(v4Tcp()) : linkType === RAW ? v4Tcp() : sll({ packetType: 4, address: MAC_A }, v4Tcp());
      expect(session.decode(frame, linkType)).toBe(DECODE_OK);
    }
    expect(Object.fromEntries(session.dec.stats.byLinkType)).toEqual({ 1: 5, 101: 4, 113: 1 });
    // Read, then counted on: nothing counted twice or lost.
    session.decode(eth(v4Tcp()), 1);
    expect(Object.fromEntries(session.dec.stats.byLinkType)).toEqual({ 1: 6, 101: 4, 113: 1 });
  });
});
