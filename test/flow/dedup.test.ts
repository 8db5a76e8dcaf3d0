import { describe, expect, it } from 'vitest';
import { PacketDecoder } from '../../src/decode/decoder.js';
import { PacketView } from '../../src/decode/packet-view.js';
import { DECODE_OK } from '../../src/decode/result.js';
import { DEFAULT_DEDUP_OPTIONS, Deduplicator } from '../../src/flow/dedup.js';
import { ipv4, ipv6, LINKTYPE, tcp, tcpOption } from '../../tools/craft/layers.js';
import { captured } from '../decode/decode-helpers.js';
import { copyView, ethernetCapture, tcpPacket, tcpView, udpView, type TcpSpec } from '../support/flow-harness.js';

const segment: TcpSpec = { src: '10.0.0.1', dst: '202.114.4.119', sport: 40000, dport: 515, seq: 1001, ack: 5001, flags: 'PA', payload: 'patient stream bytes', ts: 1000 };

/** The same IP packet seen again `afterSec` later, with other link-layer tags. */
function mirrored(view: PacketView, afterSec: number, vlan: number[] = []): PacketView {
  const copy = copyView(view);
  const t = view.tsSec + view.tsNsec / 1e9 + afterSec;
  copy.tsSec = Math.floor(t);
  copy.tsNsec = Math.round((t - copy.tsSec) * 1e9);
  copy.vlanIds.fill(0);
  vlan.forEach((id, i) => (copy.vlanIds[i] = id));
  copy.vlanCount = vlan.length;
  return copy;
}

describe('Deduplicator', () => {
  it('suppresses the second copy of an IP packet within the window, whatever its VLAN tags', () => {
    const dedup = new Deduplicator();
    const original = tcpView({ ...segment, vlan: [10] });
    expect(dedup.isDuplicate(original)).toBe(false);
    expect(dedup.isDuplicate(mirrored(original, 0.0002, [20]))).toBe(true);
    expect(dedup.isDuplicate(mirrored(original, 0.0004, []))).toBe(true);
    expect(dedup.stats.checked).toBe(3);
    expect(dedup.stats.suppressed).toBe(2);
  });

  it('suppresses mirror copies decoded from differently tagged Ethernet frames', () => {
    const dedup = new Deduplicator();
    const decoder = new PacketDecoder();
    const { packet } = tcpPacket(segment);
    const view = new PacketView();
    const verdicts: boolean[] = [];
    for (const [vlans, nsec] of [
      [[10], 0],
      [[20], 3_000],
      [[30, 40], 9_000],
    ] as const) {
      expect(decoder.decode(ethernetCapture(packet, [...vlans], 1000, nsec), view)).toBe(DECODE_OK);
      verdicts.push(dedup.isDuplicate(view));
    }
    expect(verdicts).toEqual([false, true, true]);
  });

  it('keeps the same bytes seen again 300 ms later: a retransmission', () => {
    const dedup = new Deduplicator();
    const original = tcpView(segment);
    expect(dedup.isDuplicate(original)).toBe(false);
    expect(dedup.isDuplicate(mirrored(original, 0.3))).toBe(false);
    expect(dedup.stats.suppressed).toBe(0);
  });

  it('keeps TCP packets that differ only in IPv4 TOS, IPv6 traffic class or flow label, or TCP options with no checksum filled in', () => {
    // Captured on the sending host: the card fills the TCP checksum later, so it reads 0 here.
    const ack = (opts: Uint8Array[]) => tcp({ sport: 40000, dport: 515, seq: 7, ack: 9, flags: 'A', checksum: 0, options: opts });
    const sack = (left: number) => [tcpOption.nop(), tcpOption.nop(), tcpOption.sack([[left, left + 100]])];
    const pairs: Array<[string, Uint8Array, Uint8Array]> = [
      ['IPv4 TOS', ipv4({ src: '10.0.0.1', dst: '10.0.0.2', id: 5, tos: 0 }, ack([])), ipv4({ src: '10.0.0.1', dst: '10.0.0.2', id: 5, tos: 2 }, ack([]))],
      ['IPv6 flow label', ipv6({ src: '2001:db8::1', dst: '2001:db8::2', flowLabel: 1 }, ack([])), ipv6({ src: '2001:db8::1', dst: '2001:db8::2', flowLabel: 2 }, ack([]))],
      ['IPv6 traffic class', ipv6({ src: '2001:db8::1', dst: '2001:db8::2', trafficClass: 0 }, ack([])), ipv6({ src: '2001:db8::1', dst: '2001:db8::2', trafficClass: 4 }, ack([]))],
      ['SACK blocks', ipv6({ src: '2001:db8::1', dst: '2001:db8::2' }, ack(sack(1))), ipv6({ src: '2001:db8::1', dst: '2001:db8::2' }, ack(sack(2)))],
      ['timestamps', ipv4({ src: '10.0.0.1', dst: '10.0.0.2', id: 5 }, ack([tcpOption.timestamps(1, 9)])), ipv4({ src: '10.0.0.1', dst: '10.0.0.2', id: 5 }, ack([tcpOption.timestamps(2, 9)]))],
    ];
    for (const [what, first, second] of pairs) {
      const dedup = new Deduplicator();
      const decoder = new PacketDecoder();
      const view = new PacketView();
      const verdicts = [first, second, second].map((bytes, i) => {
        const pkt = captured(bytes, LINKTYPE.RAW, { tsSec: 1000 });
        pkt.tsNsec = i * 100_000;
        expect(decoder.decode(pkt, view), what).toBe(DECODE_OK);
        return dedup.isDuplicate(view);
      });
      // The second is a packet of its own; the third, its mirror copy 0.1 ms later.
      expect(verdicts, what).toEqual([false, false, true]);
    }
  });

  it('keeps a retransmission that differs in IP id even inside the window', () => {
    const dedup = new Deduplicator();
    expect(dedup.isDuplicate(tcpView({ ...segment, ipId: 1 }))).toBe(false);
    expect(dedup.isDuplicate(tcpView({ ...segment, ipId: 2, ts: 1000.0005 }))).toBe(false);
  });

  it('keeps TCP segments of one length and IP id whose payloads or sequence numbers differ', () => {
    const dedup = new Deduplicator();
    expect(dedup.isDuplicate(tcpView({ ...segment, payload: 'MSH|^~\\&|A' }))).toBe(false);
    expect(dedup.isDuplicate(tcpView({ ...segment, payload: 'MSH|^~\\&|B', ts: 1000.0001 }))).toBe(false);
    expect(dedup.isDuplicate(tcpView({ ...segment, payload: 'MSH|^~\\&|B', seq: 9001, ts: 1000.0002 }))).toBe(false);
    expect(dedup.isDuplicate(tcpView({ ...segment, payload: 'MSH|^~\\&|B', ts: 1000.0003 }))).toBe(true);
  });

  it('keeps IPv4 UDP datagrams of one length and IP id that carry no checksum, when their payloads differ', () => {
    const dedup = new Deduplicator();
    const datagram = (payload: string, ts: number) => {
      const view = udpView({ src: '10.0.0.9', dst: '10.1.0.60', sport: 514, dport: 514, payload, ts, ipId: 7 });
      view.ipBuf[view.ipOffset + 26] = 0; // a zero UDP checksum: "not computed", as IPv4 allows
      view.ipBuf[view.ipOffset + 27] = 0;
      return view;
    };
    expect(dedup.isDuplicate(datagram('<13>line one', 1000))).toBe(false);
    expect(dedup.isDuplicate(datagram('<13>line two', 1000.0001))).toBe(false);
    expect(dedup.isDuplicate(datagram('<13>line two', 1000.0002))).toBe(true);
  });

  it('keeps packets whose first bytes agree but whose lengths differ', () => {
    const dedup = new Deduplicator();
    const long = 'x'.repeat(200);
    expect(dedup.isDuplicate(tcpView({ ...segment, payload: long }))).toBe(false);
    expect(dedup.isDuplicate(tcpView({ ...segment, payload: long + 'y', ts: 1000.0001 }))).toBe(false);
  });

  it('suppresses nothing when disabled', () => {
    const dedup = new Deduplicator({ ...DEFAULT_DEDUP_OPTIONS, enabled: false });
    const original = tcpView(segment);
    expect(dedup.isDuplicate(original)).toBe(false);
    expect(dedup.isDuplicate(mirrored(original, 0))).toBe(false);
    expect(dedup.isDuplicate(mirrored(original, 0.0001, [20]))).toBe(false);
    expect(dedup.stats.suppressed).toBe(0);
  });

  it('honours a wider window from its options', () => {
    const dedup = new Deduplicator({ enabled: true, windowMs: 50 });
    const original = tcpView(segment);
    dedup.isDuplicate(original);
    expect(dedup.isDuplicate(mirrored(original, 0.04))).toBe(true);
    expect(dedup.isDuplicate(mirrored(original, 0.2))).toBe(false);
  });

  it('keeps catching copies over 100 000 distinct packets, in a table of fixed size', () => {
    const dedup = new Deduplicator();
    const tableSize = (): number => dedup['times'].length;
    const before = tableSize();
    // One reused view, as the decoder hands them over; the sequence number makes each distinct.
    const view = tcpView(segment);
    const seqAt = view.ipOffset + 20 + 4;
    let copiesCaught = 0;
    for (let i = 0; i < 100_000; i++) {
      view.ipBuf[seqAt] = i >>> 16;
      view.ipBuf[seqAt + 1] = (i >>> 8) & 0xff;
      view.ipBuf[seqAt + 2] = i & 0xff;
      view.tcpSeq = i; // as the decoder reads it from those bytes
      view.tsSec = 1000 + Math.floor(i / 100_000);
      view.tsNsec = (i % 100_000) * 10_000; // 100 000 packets per second
      expect(dedup.isDuplicate(view)).toBe(false);
      view.tsNsec += 2_000; // its mirror copy, 2 µs later
      if (dedup.isDuplicate(view)) copiesCaught++;
    }
    expect(copiesCaught).toBe(100_000);
    expect(tableSize()).toBe(before);
  });

  it('never calls distinct packets copies, even 100 000 of them at one instant', () => {
    const dedup = new Deduplicator();
    const view = tcpView(segment);
    const seqAt = view.ipOffset + 20 + 4;
    let flagged = 0;
    for (let i = 0; i < 100_000; i++) {
      view.ipBuf[seqAt] = i >>> 16;
      view.ipBuf[seqAt + 1] = (i >>> 8) & 0xff;
      view.ipBuf[seqAt + 2] = i & 0xff;
      view.tcpSeq = i; // as the decoder reads it from those bytes
      if (dedup.isDuplicate(view)) flagged++;
    }
    expect(flagged).toBe(0);
    expect(dedup.stats.suppressed).toBe(0);
  });
});
