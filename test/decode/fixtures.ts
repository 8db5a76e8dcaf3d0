/**
 * Packets shared by the decoder tests, built with the craft library (which knows nothing of the
 * decoder), and the checks that say a view holds exactly that packet.
 */
import { expect } from 'vitest';
import { DECODE_OK } from '../../src/decode/result.js';
import { IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_PSH } from '../../src/decode/packet-view.js';
import { ipv4, ipv6, tcp, udp, type Layer } from '../../tools/craft/layers.js';
import { expectAddresses, invalidReasons, payloadOf, type Decoded } from './decode-helpers.js';

export const MONITOR = '10.20.30.41';
export const INDICATOR = '202.114.4.119';
export const MONITOR6 = 'fd00:10:20:30::41';
export const ENGINE6 = 'fd00:10:1:5::20';
export const MAC_A = '00:1b:21:0a:0b:0c';
export const MAC_B = '00:1b:54:ee:00:64';

/** An LPD "receive job" command, as the monitor sends to port 515. */
export const LPD_PAYLOAD = Buffer.from('\x02ward3-laser\n', 'latin1');
export const SYSLOG_PAYLOAD = Buffer.from('<134>Jan 30 10:00:07 cms8000 monitor[212]: trend dump', 'latin1');

export function v4Tcp(): Layer {
  return ipv4(
    { src: MONITOR, dst: INDICATOR, id: 0x1234, ttl: 63 },
    tcp({ sport: 49152, dport: 515, seq: 0x01020304, ack: 0xa0b0c0d0, flags: 'PA', window: 502 }, LPD_PAYLOAD),
  );
}

export function v6Udp(): Layer {
  return ipv6({ src: MONITOR6, dst: ENGINE6, hopLimit: 60 }, udp({ sport: 40514, dport: 514 }, SYSLOG_PAYLOAD));
}

/** The view holds v4Tcp(), decoded once with no error counted. */
export function expectV4Tcp(d: Decoded): void {
  expect(d.result, JSON.stringify(invalidReasons(d.dec))).toBe(DECODE_OK);
  const v = d.view;
  expectAddresses(v, MONITOR, INDICATOR);
  expect(v.ttl).toBe(63);
  expect(v.ipProto).toBe(IPPROTO_TCP);
  expect([v.srcPort, v.dstPort]).toEqual([49152, 515]);
  expect([v.tcpSeq, v.tcpAck, v.tcpWindow]).toEqual([0x01020304, 0xa0b0c0d0, 502]);
  expect(v.tcpFlags).toBe(TCP_PSH | TCP_ACK);
  expect(payloadOf(v)).toEqual(LPD_PAYLOAD);
  expect(v.payloadWireLength).toBe(LPD_PAYLOAD.length);
  expect(v.reassembled).toBe(false);
  expect(d.dec.stats.invalid).toBe(0);
  expect(d.dec.stats.ipv4).toBe(1);
  expect(d.dec.stats.tcp).toBe(1);
}

/** The view holds v6Udp(), decoded once with no error counted. */
export function expectV6Udp(d: Decoded): void {
  expect(d.result, JSON.stringify(invalidReasons(d.dec))).toBe(DECODE_OK);
  const v = d.view;
  expectAddresses(v, MONITOR6, ENGINE6);
  expect(v.ttl).toBe(60);
  expect(v.ipProto).toBe(IPPROTO_UDP);
  expect([v.srcPort, v.dstPort]).toEqual([40514, 514]);
  expect(payloadOf(v)).toEqual(SYSLOG_PAYLOAD);
  expect(v.payloadWireLength).toBe(SYSLOG_PAYLOAD.length);
  expect(d.dec.stats.invalid).toBe(0);
  expect(d.dec.stats.ipv6).toBe(1);
  expect(d.dec.stats.udp).toBe(1);
}
