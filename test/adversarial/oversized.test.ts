/**
 * Lengths that announce far more than ever arrives: an MLLP frame that never ends after 100 MB,
 * an ONC RPC record mark announcing 2 GB, a pcapng block (and a pcap record) claiming 4 GB.
 * Memory must stay bounded by the caps and the detections must still happen.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AnalyzerContext } from '../../src/analyzers/analyzer.js';
import type { AppEvent, Hl7MessageEvent } from '../../src/analyzers/events.js';
import { Hl7Analyzer } from '../../src/analyzers/hl7/analyzer.js';
import { DEFAULT_MAX_MESSAGE_BYTES, HEADER_CAP } from '../../src/analyzers/hl7/header.js';
import { DEFAULT_MAX_RECORD_BYTES, RpcAnalyzer } from '../../src/analyzers/rpc/analyzer.js';
import { MAX_RECORD_BYTES } from '../../src/capture/capture-reader.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../src/decode/link-types.js';
import { DEFAULT_REASSEMBLY_OPTIONS } from '../../src/flow/tcp-stream.js';
import { statsRecord } from '../../src/output/eve.js';
import { Detector } from '../../src/pipeline/detector.js';
import { ethernet, ipv4, LINKTYPE, PcapngWriter, PcapWriter, tcp } from '../../tools/craft/index.js';
import { runCapture } from '../../tools/fuzz/run-input.js';
import { removeTemp, writeTemp } from '../support/captures.js';
import { AlertCounter, MB, capturedPacket, rss, shippedRules } from './support.js';

afterAll(removeTemp);

const START_SEC = 1738231200;

function context(transport: 'tcp' | 'udp', serverPort: number, evidence: AnalyzerContext['evidence'], events: AppEvent[]): AnalyzerContext {
  return { flow: { transport, clientPort: 41000, serverPort }, evidence, emit: (e) => events.push(e), expect: () => undefined, anomaly: () => undefined };
}

const MSH = 'MSH|^~\\&|CMS8000|WARD3|HIS|GENERAL|20250130100001||ORU^R01|MSG00017|P|2.3\r';
/** Observation segments, a megabyte of them, used over and over: HL7 text with no frame end. */
const OBX_MEGABYTE = Buffer.from('OBX|1|NM|8867-4^HEART RATE^LN||72|/min|||||F\r'.repeat(Math.ceil(MB / 46)).slice(0, MB), 'latin1');

describe('an MLLP start byte followed by 100 MB with no end', () => {
  for (const evidence of ['redacted', 'full'] as const) {
    it(`the HL7 analyzer holds at most its cap (${evidence} evidence) and reports the message truncated`, () => {
      const events: AppEvent[] = [];
      const analyzer = new Hl7Analyzer(context('tcp', 515, evidence, events));
      analyzer.data(0, Buffer.from('\x0b' + MSH, 'latin1'));
      let maxBuffered = 0;
      for (let i = 0; i < 100; i++) {
        analyzer.data(0, OBX_MEGABYTE);
        maxBuffered = Math.max(maxBuffered, analyzer.bufferedBytes);
      }
      analyzer.end();
      expect(maxBuffered).toBeLessThanOrEqual(evidence === 'full' ? DEFAULT_MAX_MESSAGE_BYTES : HEADER_CAP);
      expect(analyzer.verdict).toBe('match');
      const messages = events.filter((e): e is Hl7MessageEvent => e.type === 'hl7.message');
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatchObject({ messageType: 'ORU', triggerEvent: 'R01', framing: 'mllp', truncated: true, length: DEFAULT_MAX_MESSAGE_BYTES });
      expect(messages[0].phi?.text.length ?? 0).toBeLessThanOrEqual(DEFAULT_MAX_MESSAGE_BYTES);
    });
  }

  it('through the whole analysis: the stream depth is reached, memory stays flat, and 1000002 is raised', async () => {
    const counter = new AlertCounter();
    const detector = new Detector(await shippedRules(), counter, { evidence: 'redacted' });
    const client = { ip: '10.20.30.40', port: 49152, mac: '02:00:0a:14:1e:28' };
    const server = { ip: '198.51.100.23', port: 515, mac: '00:1b:54:0a:14:01' };
    const frame = (from: 'c' | 's', seq: number, ack: number, flags: string, payload?: Uint8Array) => {
      const [a, b] = from === 'c' ? [client, server] : [server, client];
      return ethernet({ src: a.mac, dst: b.mac }, ipv4({ src: a.ip, dst: b.ip, df: true }, tcp({ sport: a.port, dport: b.port, seq, ack, flags }, payload)));
    };
    let t = 0;
    const send = (data: Uint8Array) => detector.process(capturedPacket(data, LINKTYPE_ETHERNET, START_SEC + Math.floor(t / 1e6), ((t += 100) % 1e6) * 1000));
    const isn = 1000;
    send(frame('c', isn, 0, 'S'));
    send(frame('s', 5000, isn + 1, 'SA'));
    send(frame('c', isn + 1, 5001, 'A'));
    const head = Buffer.from('\x0b' + MSH, 'latin1');
    send(frame('c', isn + 1, 5001, 'PA', head));
    // 100 MB in 62 500-byte segments, one packet rewritten in place.
    const SEGMENT = 62_500;
    const packet = Buffer.from(frame('c', 0, 5001, 'PA', OBX_MEGABYTE.subarray(0, SEGMENT)));
    const SEQ_AT = 14 + 20 + 4;
    const rssBefore = rss();
    let seq = isn + 1 + head.length;
    let maxBuffered = 0;
    for (let sent = 0; sent < 100 * 1_000_000; sent += SEGMENT) {
      packet.writeUInt32BE(seq >>> 0, SEQ_AT);
      send(packet);
      seq += SEGMENT;
      maxBuffered = Math.max(maxBuffered, detector.pipeline.flows.reassembly.bufferedBytes);
    }
    const rssGrowth = rss() - rssBefore;
    detector.finish();
    const stats = detector.stats();
    expect(stats.reassembly.depthReached).toBe(1);
    expect(stats.reassembly.bytesDelivered).toBe(DEFAULT_REASSEMBLY_OPTIONS.depth);
    expect(maxBuffered).toBe(0);
    expect(rssGrowth).toBeLessThan(64 * MB);
    expect((statsRecord(stats).stats as { tcp: { stream_depth_reached: number } }).tcp.stream_depth_reached).toBe(1);
    const backdoor = counter.alerts.filter((a) => a.rule.id === 1000002);
    expect(backdoor).toHaveLength(1);
    expect(backdoor[0].event).toMatchObject({ type: 'hl7.message', messageType: 'ORU', truncated: true });
  });
});

/** An ONC RPC MOUNT MNT call of `path` (AUTH_NONE) as XDR, without record mark. */
function mountCall(path: string): Buffer {
  const name = Buffer.from(path);
  const padded = Buffer.alloc((name.length + 3) & ~3);
  name.copy(padded);
  const words = [0x1234, 0, 2, 100005, 3, 1, 0, 0, 0, 0, name.length];
  const head = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => head.writeUInt32BE(w, i * 4));
  return Buffer.concat([head, padded]);
}

describe('an ONC RPC record mark announcing 2 GB', () => {
  it('the RPC analyzer keeps at most its record cap, decodes the call it holds, and skips the rest by count', () => {
    const events: AppEvent[] = [];
    const analyzer = new RpcAnalyzer(context('tcp', 20048, 'redacted', events));
    const mark = Buffer.alloc(4);
    mark.writeUInt32BE(0xffffffff); // last fragment, 2^31 - 1 bytes
    analyzer.data(0, Buffer.concat([mark, mountCall('/pm')]));
    let maxBuffered = analyzer.bufferedBytes;
    const chunk = Buffer.alloc(MB, 0x41);
    for (let i = 0; i < 64; i++) {
      analyzer.data(0, chunk);
      maxBuffered = Math.max(maxBuffered, analyzer.bufferedBytes);
    }
    analyzer.end();
    expect(maxBuffered).toBeLessThanOrEqual(DEFAULT_MAX_RECORD_BYTES);
    expect(analyzer.bufferedBytes).toBe(0);
    expect(analyzer.stats.oversizedRecords).toBe(1);
    expect(analyzer.stats.skippedBytes).toBe(mountCall('/pm').length + 64 * MB - DEFAULT_MAX_RECORD_BYTES);
    expect(events.map((e) => e.type)).toEqual(['rpc.call', 'mount.call']);
    expect(events[1]).toMatchObject({ type: 'mount.call', procedure: 'MNT', path: '/pm' });
  });

  it('through the whole analysis: the external MOUNT still raises 1000004 and memory stays flat', async () => {
    const counter = new AlertCounter();
    const detector = new Detector(await shippedRules(), counter, { evidence: 'redacted' });
    const c = { ip: '10.20.30.43', port: 800 };
    const s = { ip: '203.0.113.50', port: 20048 };
    const seg = (from: 'c' | 's', seq: number, ack: number, flags: string, payload?: Uint8Array) => {
      const [a, b] = from === 'c' ? [c, s] : [s, c];
      return ipv4({ src: a.ip, dst: b.ip }, tcp({ sport: a.port, dport: b.port, seq, ack, flags }, payload));
    };
    let t = 0;
    const send = (data: Uint8Array) => detector.process(capturedPacket(data, LINKTYPE_RAW, START_SEC, (t += 1000)));
    send(seg('c', 100, 0, 'S'));
    send(seg('s', 900, 101, 'SA'));
    send(seg('c', 101, 901, 'A'));
    const mark = Buffer.alloc(4);
    mark.writeUInt32BE(0xffffffff);
    const first = Buffer.concat([mark, mountCall('/pm')]);
    send(seg('c', 101, 901, 'PA', first));
    const filler = Buffer.from(seg('c', 0, 901, 'PA', Buffer.alloc(60_000, 0x41)));
    const rssBefore = rss();
    let seq = 101 + first.length;
    for (let i = 0; i < 1000; i++) {
      setTcpSeq(filler, seq);
      send(filler);
      seq += 60_000;
    }
    detector.finish();
    expect(rss() - rssBefore).toBeLessThan(64 * MB);
    expect(detector.stats().reassembly.depthReached).toBe(1);
    expect(counter.byRule()['1000004']).toBe(1);
  });
});

/** Rewrites the sequence number of a crafted IPv4/TCP packet and mends its checksum (RFC 1624). */
function setTcpSeq(packet: Buffer, seq: number): void {
  const at = 20 + 4;
  const checksumAt = 20 + 16;
  let sum = ~packet.readUInt16BE(checksumAt) & 0xffff;
  sum += (~packet.readUInt16BE(at) & 0xffff) + (~packet.readUInt16BE(at + 2) & 0xffff);
  packet.writeUInt32BE(seq >>> 0, at);
  sum += packet.readUInt16BE(at) + packet.readUInt16BE(at + 2);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  packet.writeUInt16BE(~sum & 0xffff, checksumAt);
}

describe('a capture claiming a 4 GB record', () => {
  const packet = ethernet({ src: '02:00:0a:14:1e:29', dst: '00:1b:54:0a:14:01' }, ipv4({ src: '10.20.30.41', dst: '202.114.4.119' }, tcp({ sport: 49152, dport: 515, seq: 1, flags: 'S' })));

  /** Runs the capture through the replay path and checks that no big buffer was allocated. */
  async function replayBounded(path: string) {
    const before = process.memoryUsage();
    const result = await runCapture(path, await shippedRules(), { evidence: 'redacted', tightCaps: false });
    const after = process.memoryUsage();
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(2 * MAX_RECORD_BYTES + 8 * MB);
    expect(after.rss - before.rss).toBeLessThan(128 * MB);
    return result;
  }

  it('pcapng: a block length of 4 GB ends the capture with one clear error after the packets before it', async () => {
    const w = new PcapngWriter();
    w.section();
    w.addInterface({ linkType: LINKTYPE.ETHERNET });
    w.enhanced(0, { sec: START_SEC, nsec: 0, data: packet });
    const good = w.toBuffer();
    const liar = Buffer.alloc(64);
    liar.writeUInt32LE(6, 0); // an enhanced packet block...
    liar.writeUInt32LE(0xfffffffc, 4); // ...of 4 GB - 4 bytes
    const result = await replayBounded(writeTemp('huge-block.pcapng', Buffer.concat([good, liar])));
    expect(result.problems).toEqual([]);
    expect(result.packets).toBe(1);
    expect(result.alerts).toBe(1);
    expect(result.captureError).toMatch(/bad block length 4294967292/);
  });

  it('pcapng: an enhanced packet block whose caplen claims 4 GB inside a small block is one clear error', async () => {
    const w = new PcapngWriter();
    w.section();
    w.addInterface({ linkType: LINKTYPE.ETHERNET });
    w.enhanced(0, { sec: START_SEC, nsec: 0, data: packet });
    const at = w.enhanced(0, { sec: START_SEC + 1, nsec: 0, data: packet });
    const bytes = w.toBuffer();
    bytes.writeUInt32LE(0xffffffff, at + 20);
    const result = await replayBounded(writeTemp('huge-caplen.pcapng', bytes));
    expect(result.problems).toEqual([]);
    expect(result.packets).toBe(1);
    expect(result.captureError).toMatch(/caplen 4294967295 exceeds its block length/);
  });

  it('pcap: a record caplen of 4 GB is one clear error', async () => {
    const w = new PcapWriter({ linkType: LINKTYPE.ETHERNET });
    w.add({ sec: START_SEC, nsec: 0, data: packet });
    const at = w.add({ sec: START_SEC + 1, nsec: 0, data: packet });
    const bytes = w.toBuffer();
    bytes.writeUInt32LE(0xffffffff, at + 8);
    const result = await replayBounded(writeTemp('huge-caplen.pcap', bytes));
    expect(result.problems).toEqual([]);
    expect(result.packets).toBe(1);
    expect(result.captureError).toMatch(/impossible caplen 4294967295/);
  });
});
