import { describe, expect, it } from 'vitest';
import { PacketDecoder } from '../../src/decode/decoder.js';
import { PacketView } from '../../src/decode/packet-view.js';
import { DECODE_OK } from '../../src/decode/result.js';
import { copyView, ethernetCapture, rawCapture, tcpPacket, tcpView, udpPacket } from '../support/flow-harness.js';

/** The fields the flow layer and the de-duplicator read. */
function flowFields(view: PacketView): Record<string, unknown> {
  return {
    tsSec: view.tsSec,
    tsNsec: view.tsNsec,
    wireLength: view.wireLength,
    capturedLength: view.capturedLength,
    cutBySnaplen: view.cutBySnaplen,
    vlanIds: [...view.vlanIds.subarray(0, view.vlanCount)],
    ipVersion: view.ipVersion,
    addr: [...view.addr],
    ttl: view.ttl,
    ipProto: view.ipProto,
    ipBytes: [...view.ipBuf.subarray(view.ipOffset, view.ipOffset + view.ipCapturedLength)],
    srcPort: view.srcPort,
    dstPort: view.dstPort,
    tcpFlags: view.tcpFlags,
    tcpSeq: view.tcpSeq,
    tcpAck: view.tcpAck,
    tcpWindow: view.tcpWindow,
    payload: [...view.ipBuf.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength)],
    payloadWireLength: view.payloadWireLength,
  };
}

function decodeRaw(packet: Uint8Array, built: PacketView): PacketView {
  const decoded = new PacketView();
  expect(new PacketDecoder().decode(rawCapture(packet, built), decoded)).toBe(DECODE_OK);
  return decoded;
}

describe('test packet builder', () => {
  it('builds IPv4 TCP views the decoder agrees with', () => {
    const { packet, view } = tcpPacket({ src: '10.0.0.1', dst: '202.114.4.119', sport: 40000, dport: 515, seq: 0xfffffff0, ack: 77, flags: 'PA', payload: 'hello', ts: 1000.25, window: 0 });
    expect(flowFields(decodeRaw(packet, view))).toEqual(flowFields(view));
    expect(view.tsNsec).toBe(250_000_000);
  });

  it('builds IPv6 TCP views the decoder agrees with', () => {
    const { packet, view } = tcpPacket({ src: '2001:db8::10', dst: '2001:db8:0:1::20', sport: 40000, dport: 515, seq: 1, flags: 'S' });
    const decoded = decodeRaw(packet, view);
    expect(flowFields(decoded)).toEqual(flowFields(view));
    expect([...decoded.addr]).toEqual([0x20010db8, 0, 0, 0x10, 0x20010db8, 1, 0, 0x20]);
  });

  it('builds snap-length-cut segments the decoder agrees with', () => {
    const { packet, view } = tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: 'A', payload: 'abcd', payloadWireLength: 1000 });
    const decoded = decodeRaw(packet, view);
    expect(flowFields(decoded)).toEqual(flowFields(view));
    expect(decoded.payloadWireLength).toBe(1000);
    expect(decoded.cutBySnaplen).toBe(true);
  });

  it('builds UDP views the decoder agrees with', () => {
    const { packet, view } = udpPacket({ src: '10.0.0.1', dst: '202.114.4.119', sport: 800, dport: 111, payload: 'portmap' });
    expect(flowFields(decodeRaw(packet, view))).toEqual(flowFields(view));
  });

  it('frames packets in tagged Ethernet the decoder reads back to the same IP packet', () => {
    const { packet, view } = tcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 2575, flags: 'PA', payload: 'x', vlan: [100, 7] });
    const decoded = new PacketView();
    expect(new PacketDecoder().decode(ethernetCapture(packet, [100, 7], view.tsSec, view.tsNsec), decoded)).toBe(DECODE_OK);
    const { wireLength: _w, capturedLength: _c, ...expected } = flowFields(view);
    const { wireLength: _dw, capturedLength: _dc, ...actual } = flowFields(decoded);
    expect(actual).toEqual(expected);
    expect(decoded.wireLength).toBe(view.wireLength + 14 + 8);
  });

  it('copies views into independent packets', () => {
    const original = tcpView({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: 'abc', vlan: [5] });
    const copy = copyView(original);
    original.ipBuf.fill(0);
    original.vlanIds[0] = 6;
    expect(Buffer.from(copy.ipBuf.subarray(copy.payloadOffset, copy.payloadOffset + copy.payloadLength)).toString('latin1')).toBe('abc');
    expect(copy.vlanIds[0]).toBe(5);
    expect(copy.tcpFlags).toBe(original.tcpFlags);
  });
});
