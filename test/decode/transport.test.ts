import { describe, expect, it } from 'vitest';
import { LINKTYPE_RAW } from '../../src/decode/link-types.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, TCP_SYN } from '../../src/decode/packet-view.js';
import { DECODE_INVALID, DECODE_OK } from '../../src/decode/result.js';
import { icmp, icmpEcho, icmpv6, icmpv6Echo, IPPROTO, ipv4, ipv6, tcp, tcpOption, udp } from '../../tools/craft/layers.js';
import { anomalies, decodeFrame, DecodeSession, expectEveryTruncationRejected, invalidReasons, payloadOf } from './decode-helpers.js';
import { ENGINE6, INDICATOR, LPD_PAYLOAD, MONITOR, MONITOR6, SYSLOG_PAYLOAD } from './fixtures.js';

const v4 = (payload: Buffer, protocol?: number) => ipv4({ src: MONITOR, dst: INDICATOR, protocol }, payload);
const v6 = (payload: Buffer, protocol?: number) => ipv6({ src: MONITOR6, dst: ENGINE6, protocol }, payload);

describe('TCP', () => {
  it('reads MSS, window scale and SACK-permitted from a SYN', () => {
    const syn = tcp(
      { sport: 49152, dport: 515, seq: 7, flags: 'S', options: [tcpOption.mss(1460), tcpOption.sackPermitted(), tcpOption.timestamps(1, 0), tcpOption.nop(), tcpOption.windowScale(7)] },
    );
    for (const packet of [v4(syn), v6(syn)]) {
      const d = decodeFrame(packet, LINKTYPE_RAW);
      expect(d.result).toBe(DECODE_OK);
      expect(d.view.tcpFlags).toBe(TCP_SYN);
      expect([d.view.tcpMss, d.view.tcpWscale, d.view.tcpSackPermitted]).toEqual([1460, 7, true]);
      expect(d.view.payloadLength).toBe(0);
      expect(d.view.payloadOffset - d.view.ipOffset).toBe(packet.length);
      expect(d.dec.stats.anomalies.size).toBe(0);
      expectEveryTruncationRejected(packet, LINKTYPE_RAW);
    }
  });

  it('leaves the option fields unset when a SYN carries none, and ignores options off SYNs', () => {
    const bare = decodeFrame(v4(tcp({ sport: 1, dport: 2, flags: 'S' })), LINKTYPE_RAW);
    expect([bare.view.tcpMss, bare.view.tcpWscale, bare.view.tcpSackPermitted]).toEqual([0, -1, false]);
    const ack = decodeFrame(v4(tcp({ sport: 1, dport: 2, flags: 'A', options: [tcpOption.mss(1460), tcpOption.windowScale(7)] }, 'x')), LINKTYPE_RAW);
    expect([ack.view.tcpMss, ack.view.tcpWscale]).toEqual([0, -1]);
    expect(payloadOf(ack.view).toString()).toBe('x');
  });

  it('counts a malformed option length as an anomaly and still decodes the segment', () => {
    const bad: Array<[string, Buffer[]]> = [
      ['length 0', [tcpOption.mss(1400), Buffer.from([8, 0, 0, 0])]],
      ['length 1', [tcpOption.mss(1400), Buffer.from([3, 1, 0, 0])]],
      ['length past the header', [tcpOption.mss(1400), Buffer.from([8, 10, 0, 0])]],
      ['kind with no length byte', [tcpOption.mss(1400), tcpOption.nop(), tcpOption.nop(), tcpOption.nop(), Buffer.from([2])]],
    ];
    for (const [name, options] of bad) {
      const d = decodeFrame(v4(tcp({ sport: 49152, dport: 515, flags: 'S', options }, LPD_PAYLOAD)), LINKTYPE_RAW);
      expect(d.result, name).toBe(DECODE_OK);
      expect(anomalies(d.dec), name).toEqual({ 'tcp.invalid_optlen': 1 });
      expect(d.dec.stats.invalid, name).toBe(0);
      expect([d.view.srcPort, d.view.dstPort], name).toEqual([49152, 515]);
      expect(d.view.tcpMss, `${name}: options before the bad one are kept`).toBe(1400);
      expect(payloadOf(d.view), name).toEqual(LPD_PAYLOAD);
    }
  });

  it('refuses a data offset below 5 words or past the segment', () => {
    const small = Buffer.from(tcp({ sport: 1, dport: 2, flags: 'A' }, LPD_PAYLOAD));
    small[12] = 4 << 4;
    expect(invalidReasons(decodeFrame(v4(small, IPPROTO.TCP), LINKTYPE_RAW).dec)).toEqual({ 'tcp.hlen_too_small': 1 });
    const large = Buffer.from(tcp({ sport: 1, dport: 2, flags: 'A' }, 'abc'));
    large[12] = 15 << 4;
    const d = decodeFrame(v4(large, IPPROTO.TCP), LINKTYPE_RAW);
    expect(d.result).toBe(DECODE_INVALID);
    expect(invalidReasons(d.dec)).toEqual({ 'tcp.pkt_too_small': 1 });
    expect(d.dec.stats.tcp).toBe(0);
  });
});

describe('UDP', () => {
  it('decodes ports and payload over IPv4 and IPv6', () => {
    for (const packet of [v4(udp({ sport: 53124, dport: 53 }, SYSLOG_PAYLOAD)), v6(udp({ sport: 53124, dport: 53 }, SYSLOG_PAYLOAD))]) {
      const d = decodeFrame(packet, LINKTYPE_RAW);
      expect(d.result).toBe(DECODE_OK);
      expect([d.view.srcPort, d.view.dstPort]).toEqual([53124, 53]);
      expect(payloadOf(d.view)).toEqual(SYSLOG_PAYLOAD);
      expect(d.view.payloadWireLength).toBe(SYSLOG_PAYLOAD.length);
      expectEveryTruncationRejected(packet, LINKTYPE_RAW);
    }
  });

  it('refuses a length below 8 or past the IP payload', () => {
    for (const length of [0, 7, 8 + SYSLOG_PAYLOAD.length + 1, 0xffff]) {
      const d = decodeFrame(v4(udp({ sport: 1, dport: 2, length }, SYSLOG_PAYLOAD)), LINKTYPE_RAW);
      expect(d.result, `length ${length}`).toBe(DECODE_INVALID);
      expect(invalidReasons(d.dec), `length ${length}`).toEqual({ 'udp.hlen_invalid': 1 });
      expect(d.dec.stats.udp).toBe(0);
    }
  });

  it('takes the UDP length over a longer IP payload', () => {
    const d = decodeFrame(v6(udp({ sport: 1, dport: 2, length: 8 + 5 }, SYSLOG_PAYLOAD)), LINKTYPE_RAW);
    expect(d.result).toBe(DECODE_OK);
    expect(payloadOf(d.view)).toEqual(SYSLOG_PAYLOAD.subarray(0, 5));
    expect(d.view.payloadWireLength).toBe(5);
  });

  it('keeps the announced length of a datagram cut by the snap length', () => {
    const packet = v4(udp({ sport: 1, dport: 2 }, SYSLOG_PAYLOAD));
    const d = decodeFrame(packet.subarray(0, 20 + 8 + 10), LINKTYPE_RAW, { origlen: packet.length });
    expect(d.result).toBe(DECODE_OK);
    expect(payloadOf(d.view)).toEqual(SYSLOG_PAYLOAD.subarray(0, 10));
    expect(d.view.payloadWireLength).toBe(SYSLOG_PAYLOAD.length);
  });
});

describe('ICMP and ICMPv6', () => {
  it('read type, code and payload, with no ports', () => {
    const ping = decodeFrame(v4(icmpEcho({ id: 0x6b01, seq: 3 }, 'wardwatch')), LINKTYPE_RAW);
    expect(ping.result).toBe(DECODE_OK);
    expect([ping.view.ipProto, ping.view.icmpType, ping.view.icmpCode]).toEqual([IPPROTO_ICMP, 8, 0]);
    expect([ping.view.srcPort, ping.view.dstPort]).toEqual([0, 0]);
    expect(payloadOf(ping.view).toString()).toBe('wardwatch');
    expect(ping.dec.stats.icmpv4).toBe(1);
    const unreachable = decodeFrame(v4(icmp({ type: 3, code: 3 }, Buffer.alloc(28))), LINKTYPE_RAW);
    expect([unreachable.view.icmpType, unreachable.view.icmpCode]).toEqual([3, 3]);
    const ping6 = decodeFrame(v6(icmpv6Echo({ id: 1, seq: 1, reply: true }, 'wardwatch')), LINKTYPE_RAW);
    expect([ping6.view.ipProto, ping6.view.icmpType, ping6.view.icmpCode]).toEqual([IPPROTO_ICMPV6, 129, 0]);
    expect(ping6.dec.stats.icmpv6).toBe(1);
    expect(payloadOf(ping6.view).toString()).toBe('wardwatch');
    expectEveryTruncationRejected(v4(icmpEcho({ id: 1, seq: 1 }, 'x')), LINKTYPE_RAW);
    expectEveryTruncationRejected(v6(icmpv6({ type: 135 }, Buffer.alloc(16))), LINKTYPE_RAW);
  });

  it('refuse a message shorter than 8 bytes', () => {
    const short4 = decodeFrame(v4(Buffer.from([8, 0, 0, 0, 0, 1, 0]), IPPROTO.ICMP), LINKTYPE_RAW);
    expect(short4.result).toBe(DECODE_INVALID);
    expect(invalidReasons(short4.dec)).toEqual({ 'icmpv4.pkt_too_small': 1 });
    const short6 = decodeFrame(v6(Buffer.from([128, 0, 0, 0]), IPPROTO.ICMPV6), LINKTYPE_RAW);
    expect(short6.result).toBe(DECODE_INVALID);
    expect(invalidReasons(short6.dec)).toEqual({ 'icmpv6.pkt_too_small': 1 });
  });
});

describe('the view is reset between packets', () => {
  it('fields of one packet never leak into the next', () => {
    const session = new DecodeSession();
    const syn = v4(tcp({ sport: 1, dport: 2, flags: 'S', options: [tcpOption.mss(1200), tcpOption.windowScale(3), tcpOption.sackPermitted()] }));
    expect(session.decode(syn, LINKTYPE_RAW)).toBe(DECODE_OK);
    expect(session.view.tcpMss).toBe(1200);
    expect(session.decode(v6(icmpv6Echo({ id: 1, seq: 1 })), LINKTYPE_RAW)).toBe(DECODE_OK);
    const v = session.view;
    expect([v.srcPort, v.dstPort, v.tcpFlags, v.tcpMss, v.tcpWscale, v.tcpSackPermitted]).toEqual([0, 0, 0, 0, -1, false]);
    expect(v.icmpType).toBe(128);
    expect(session.decode(v4(udp({ sport: 5, dport: 6 })), LINKTYPE_RAW)).toBe(DECODE_OK);
    expect([session.view.icmpType, session.view.srcPort, session.view.ipVersion]).toEqual([0, 5, 4]);
  });
});
