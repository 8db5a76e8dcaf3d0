/**
 * Timestamps whose fraction says a second or more (a pcap microsecond field of 10^6 or more, a
 * nanosecond one of 10^9 or more): carried into the seconds, so EVE never shows a seven-digit
 * fraction (`.1999999+0000`, which EVE consumers reject), and counted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { openCapture } from '../../src/capture/open-capture.js';
import { CapturedPacket, setPacketTime } from '../../src/capture/packet.js';
import { RuleSet } from '../../src/detect/rule-set.js';
import { alertRecord, statsRecord } from '../../src/output/eve.js';
import { Detector } from '../../src/pipeline/detector.js';
import { ethernet, ipv4, LINKTYPE, macFor, PcapWriter, udp } from '../../tools/craft/index.js';
import { AlertCounter, RULES_DIR } from '../adversarial/support.js';
import { readAll, removeTemp, writeTemp } from '../support/captures.js';

afterAll(removeTemp);

const T0 = 1738231200;
const MONITOR = '10.20.30.40';
const BACKDOOR = '202.114.4.119';

/** A datagram from the monitor to the backdoor address (rule 1000001), from source port `port`. */
function datagram(port: number): Uint8Array {
  return ethernet({ src: macFor(MONITOR), dst: macFor(BACKDOOR) }, ipv4({ src: MONITOR, dst: BACKDOOR }, udp({ sport: port, dport: 9999 }, 'x')));
}

function capture(records: Array<{ nsec: number; port: number }>, nanosecond = false): string {
  const w = new PcapWriter({ linkType: LINKTYPE.ETHERNET, nanosecond });
  for (const r of records) w.add({ sec: T0, nsec: r.nsec, data: datagram(r.port) });
  return writeTemp(nanosecond ? 'ts-nsec.pcap' : 'ts-usec.pcap', w.toBuffer());
}

describe('timestamp fractions of a second or more', () => {
  it('a microsecond field of 1 999 999 is read as one second more and 999 999 µs', async () => {
    const { packets } = await readAll(capture([{ nsec: 1_999_999_000, port: 1 }, { nsec: 500_000_000, port: 2 }]));
    expect(packets.map((p) => [p.tsSec, p.tsNsec])).toEqual([
      [T0 + 1, 999_999_000],
      [T0, 500_000_000],
    ]);
  });

  it('a nanosecond field of 2.5 s is read as two seconds more and 0.5 s', async () => {
    const { packets } = await readAll(capture([{ nsec: 2_500_000_000, port: 1 }], true));
    expect(packets.map((p) => [p.tsSec, p.tsNsec])).toEqual([[T0 + 2, 500_000_000]]);
  });

  it('borrows from the seconds for a negative fraction and marks only the packets it changed', () => {
    const pkt = new CapturedPacket();
    setPacketTime(pkt, T0, -1);
    expect([pkt.tsSec, pkt.tsNsec, pkt.timestampWasCarried]).toEqual([T0 - 1, 999_999_999, true]);
    setPacketTime(pkt, T0, 999_999_999);
    expect([pkt.tsSec, pkt.tsNsec, pkt.timestampWasCarried]).toEqual([T0, 999_999_999, false]);
  });

  it('alerts carry a six-digit fraction and the stats record counts the carried timestamps', async () => {
    const path = capture([{ nsec: 1_999_999_000, port: 1 }, { nsec: 1_000_000_000, port: 2 }, { nsec: 3_000, port: 3 }]);
    const { ruleSet } = await RuleSet.load({ rulesDir: RULES_DIR });
    const sink = new AlertCounter();
    const detector = new Detector(ruleSet, sink, { evidence: 'redacted' });
    const { source } = await openCapture(path);
    await detector.replay([{ path, name: path, source }]);
    detector.finish();
    const times = sink.alerts.map((a) => alertRecord(a).timestamp);
    expect(times).toEqual(['2025-01-30T10:00:01.999999+0000', '2025-01-30T10:00:01.000000+0000', '2025-01-30T10:00:00.000003+0000']);
    const stats = statsRecord(detector.stats()) as { wardwatch: { decoder: { timestamp_carried: number } } };
    expect(stats.wardwatch.decoder.timestamp_carried).toBe(2);
  });
});
