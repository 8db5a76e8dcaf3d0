/**
 * A million distinct SYNs from hospital addresses to the outside, with the CMS8000 monitor's
 * real stream to 202.114.4.119:515 in the middle of the flood. The flow table must stay at its
 * cap by evicting the half-open flows, and the backdoor must still be reported.
 */
import { describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../src/decode/link-types.js';
import { DEFAULT_FLOW_TABLE_OPTIONS } from '../../src/flow/flow-table.js';
import { statsRecord } from '../../src/output/eve.js';
import { EveOutput } from '../../src/output/eve-output.js';
import { FanOutSink } from '../../src/output/output.js';
import { Detector } from '../../src/pipeline/detector.js';
import { ethernet, ipv4, tcp } from '../../tools/craft/index.js';
import { AlertCounter, MB, capturedPacket, expectedAlerts, nullStream, rss, samplePackets, shippedRules } from './support.js';

const SYNS = 1_000_000;
const MAX_FLOWS = 10_000;
const SAMPLE = 'cms8000-to-indicator.pcap';
/** One flood packet every 50 µs: the whole flood lasts 50 s, inside the 60 s half-open time-out. */
const SPACING_NS = 50_000;
const START_SEC = 1738231200;

describe('a million distinct SYNs around a real CMS8000 exfiltration stream', () => {
  it('keeps the flow table at its cap by evicting half-open flows, and still raises 1000001 and 1000002', async () => {
    const ruleSet = await shippedRules();
    const counter = new AlertCounter();
    const detector = new Detector(ruleSet, new FanOutSink([counter, new EveOutput('eve:null', nullStream(), { evidence: 'redacted', flows: false })]), {
      evidence: 'redacted',
      flows: { ...DEFAULT_FLOW_TABLE_OPTIONS, maxFlows: MAX_FLOWS },
    });
    const stream = await samplePackets(SAMPLE);
    const streamStart = SYNS / 2;
    const streamEvery = 2_000; // one stream packet per 100 ms of flood

    const frame = ethernet(
      { src: '02:00:0a:00:00:01', dst: '00:1b:54:0a:14:01' },
      ipv4({ src: '10.0.0.1', dst: '198.51.100.10', id: 1, df: true }, tcp({ sport: 1024, dport: 443, seq: 1, flags: 'S' })),
    );
    const syn = capturedPacket(frame, LINKTYPE_ETHERNET, START_SEC);
    const IP_SRC = 14 + 12;
    const IP_DST = 14 + 16;
    const SPORT = 14 + 20;
    const SEQ = 14 + 24;

    const rssBefore = rss();
    let maxTableSize = 0;
    let streamAt = 0;
    for (let i = 0; i < SYNS; i++) {
      const ns = i * SPACING_NS;
      const sec = START_SEC + Math.floor(ns / 1e9);
      const nsec = ns % 1e9;
      if (i >= streamStart && streamAt < stream.length && (i - streamStart) % streamEvery === 0) {
        const pkt = stream[streamAt++];
        pkt.tsSec = sec;
        pkt.tsNsec = nsec;
        detector.process(pkt);
      }
      // Source 10.x.y.z and port vary together: every SYN is a new conversation.
      frame.writeUInt32BE((0x0a000000 | (i >>> 6)) >>> 0, IP_SRC);
      frame.writeUInt16BE(1024 + (i & 63), SPORT);
      frame.writeUInt32BE((0xc6336400 | (i & 0xff)) >>> 0, IP_DST);
      frame.writeUInt32BE(i, SEQ);
      syn.tsSec = sec;
      syn.tsNsec = nsec;
      syn.index = i + 1;
      detector.process(syn);
      if ((i & 1023) === 0) maxTableSize = Math.max(maxTableSize, detector.pipeline.flows.size);
    }
    expect(streamAt).toBe(stream.length);
    const flows = detector.pipeline.flows;
    maxTableSize = Math.max(maxTableSize, flows.size);
    const beforeFinish = statsRecord(detector.stats());
    detector.finish();
    const rssGrowth = rss() - rssBefore;

    // The detections that matter, exactly as without the flood: the flood's half-open flows are
    // evicted before the closed connection, so its last packets stay in its own flow.
    const byRule = counter.byRule();
    expect(byRule).toEqual(expectedAlerts(SAMPLE));
    const backdoor = counter.alerts.filter((a) => a.rule.id === 1000002)[0];
    expect(backdoor.flow.serverPort).toBe(515);
    expect(backdoor.flow.midstream).toBe(false);
    // The cap held, by eviction and not by refusing flows.
    expect(maxTableSize).toBe(MAX_FLOWS);
    expect(flows.stats.refused).toBe(0);
    const total = flows.stats.total;
    expect(total).toBeGreaterThanOrEqual(SYNS + 1);
    // Only the backdoor connection ends on its own (closed, after the closed time-out); every
    // other flow that ended was evicted.
    expect(flows.stats.endedTimeout).toBe(0);
    expect(flows.stats.endedClosed).toBe(1);
    expect(flows.stats.endedEvicted).toBe(total - MAX_FLOWS - 1);
    // The counters reach the stats record.
    const stats = beforeFinish.stats as { flow: { active: number; total: number } };
    const own = beforeFinish.wardwatch as { flow: { ended: { evicted: number }; refused: number } };
    expect(stats.flow.active).toBe(MAX_FLOWS);
    expect(stats.flow.total).toBe(total);
    expect(own.flow.ended.evicted).toBe(total - MAX_FLOWS - 1);
    expect(own.flow.refused).toBe(0);
    // 10 000 flows need a few megabytes; a million would need hundreds.
    expect(rssGrowth).toBeLessThan(256 * MB);
  }, 120_000);
});
