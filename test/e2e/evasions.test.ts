/**
 * Evasions and misleading input, crafted packet by packet and analysed with the shipped rules as
 * a replay does: a 5-tuple reused without FIN or RST, IPv6 extension header chains past any small
 * count, packets whose transport is cut off, segments and datagrams with bad checksums (and
 * captures whose checksums were left to the NIC), TSO records with no IP length, and
 * retransmissions whose bytes disagree with what was already delivered.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_RAW } from '../../src/decode/link-types.js';
import type { Alert, DetectSink, FlowRecord } from '../../src/detect/alert.js';
import { RuleSet } from '../../src/detect/rule-set.js';
import type { FlowTableOptions } from '../../src/flow/flow-table.js';
import { Detector } from '../../src/pipeline/detector.js';
import {
  cms8000Bed,
  cms8000Patient,
  cms8000Telemetry,
  concat,
  destinationOptions,
  hl7Message,
  ipv4,
  ipv6,
  LPD,
  lpdCommand,
  mllp,
  MOUNT_MNT,
  mountPathArgs,
  RPC_PROGRAM,
  rpcCall,
  tcp,
  udp,
  type Ipv6Extension,
} from '../../tools/craft/index.js';
import { capturedPacket, RULES_DIR } from '../adversarial/support.js';
import { removeTemp, writeTemp } from '../support/captures.js';

const T0 = 1738231200;
const MONITOR = '10.20.30.40';
const EXTERNAL = '198.51.100.23';
const BACKDOOR = '202.114.4.119';
const MONITOR6 = 'fd00:20:30::40';
/** An outside IPv6 address the test's own indicator list names. */
const INDICATOR6 = '2001:db8:4::119';

afterAll(removeTemp);

const ORU = mllp(
  hl7Message([
    'MSH|^~\\&|CMS8000|ICU3^BED12|CENTRAL|GENERAL HOSPITAL|20250130100000||ORU^R01|CTL0001|P|2.3',
    'PID|1||MRN123456^^^GENERAL^MR||DOE^JANE||19700101|F',
    'OBX|1|NM|8867-4^Heart rate^LN||77|/min|50-120||||F',
  ]),
);

class Findings implements DetectSink {
  readonly alerts: Alert[] = [];
  readonly flows: FlowRecord[] = [];
  alert(alert: Alert): void {
    this.alerts.push(alert);
  }
  flowEnd(record: FlowRecord): void {
    this.flows.push({ ...record, flow: record.flow.copy() }); // the table reuses the object
  }
  byRule(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const a of this.alerts) out[String(a.rule.id)] = (out[String(a.rule.id)] ?? 0) + 1;
    return out;
  }
}

interface Frame {
  /** Seconds after T0. */
  at: number;
  data: Uint8Array;
}

/** Raw IP packets through a whole analysis with the shipped rules (and extra indicator lists). */
async function analyse(frames: readonly Frame[], options: { flows?: Partial<FlowTableOptions>; indicators?: string } = {}) {
  const indicatorFiles = options.indicators === undefined ? [] : [writeTemp('evasion-indicators.txt', Buffer.from(options.indicators))];
  const { ruleSet } = await RuleSet.load({ rulesDir: RULES_DIR, indicatorFiles });
  const findings = new Findings();
  const detector = new Detector(ruleSet, findings, { evidence: 'redacted', flows: options.flows });
  frames.forEach((f, i) => {
    const sec = Math.floor(f.at);
    detector.process(capturedPacket(f.data, LINKTYPE_RAW, T0 + sec, Math.round((f.at - sec) * 1e9), i + 1), 'crafted.pcap');
  });
  detector.finish();
  return { findings, alerts: findings.byRule(), stats: detector.stats() };
}

interface Ends {
  client: string;
  server: string;
  cport: number;
  sport: number;
}

/**
 * A TCP connection written segment by segment with consistent numbers, as raw IP packets (IPv4
 * or IPv6, every packet with the given extension headers).
 */
class Connection {
  readonly frames: Frame[] = [];
  private seq: { client: number; server: number };
  private at: number;

  constructor(
    private readonly ends: Ends,
    isn: { client: number; server: number; at?: number },
    private readonly extensions: () => Ipv6Extension[] = () => [],
  ) {
    this.seq = { client: isn.client, server: isn.server };
    this.at = isn.at ?? 0;
  }

  /** One segment; `seq` overrides the sender's number (a retransmission), `checksum` a wrong one. */
  packet(from: 'client' | 'server', flags: string, payload?: Uint8Array, o: { seq?: number; checksum?: number | 'left-to-nic'; advance?: boolean } = {}): this {
    const peer = from === 'client' ? 'server' : 'client';
    const [src, dst, sport, dport] = from === 'client' ? [this.ends.client, this.ends.server, this.ends.cport, this.ends.sport] : [this.ends.server, this.ends.client, this.ends.sport, this.ends.cport];
    const segment = tcp({ sport, dport, seq: o.seq ?? this.seq[from], ack: flags.includes('A') ? this.seq[peer] : 0, flags, window: 64240, checksum: o.checksum }, payload);
    const packet = src.includes(':') ? ipv6({ src, dst, extensions: this.extensions() }, segment) : ipv4({ src, dst, ttl: 64 }, segment);
    this.at += 0.001;
    this.frames.push({ at: this.at, data: packet });
    if (o.advance !== false && o.seq === undefined) this.seq[from] = (this.seq[from] + (payload?.length ?? 0) + (/[SF]/.test(flags) ? 1 : 0)) >>> 0;
    return this;
  }

  handshake(): this {
    return this.packet('client', 'S').packet('server', 'SA').packet('client', 'A');
  }

  send(from: 'client' | 'server', payload: Uint8Array): this {
    return this.packet(from, 'PA', payload).packet(from === 'client' ? 'server' : 'client', 'A');
  }

  close(): this {
    return this.packet('client', 'FA').packet('server', 'FA').packet('client', 'A');
  }

  next(from: 'client' | 'server'): number {
    return this.seq[from];
  }
}

const TO_EXTERNAL_515: Ends = { client: MONITOR, server: EXTERNAL, cport: 40600, sport: 515 };
const TO_BACKDOOR_515: Ends = { client: MONITOR, server: BACKDOOR, cport: 40312, sport: 515 };

describe('a 5-tuple reused without FIN or RST', () => {
  /** An LPD query that never closes, then `later` seconds on a new connection on the same ports. */
  function reused(ends: Ends, second: (c: Connection) => Connection, secondIsn: number, later = 5): Frame[] {
    const first = new Connection(ends, { client: 0x1a2b0000, server: 0x5e6f0000 }).handshake().send('client', lpdCommand(LPD.queueStateShort, 'lp'));
    return [...first.frames, ...second(new Connection(ends, { client: secondIsn, server: 0x3b4a0000, at: later })).frames];
  }

  it('a SYN far outside the open connection\'s window ends its flow and starts a new one that is analysed (CMS8000 to the backdoor)', async () => {
    const patient = cms8000Patient({
      department: 'ICU 3',
      bed: 14,
      name: 'ROE^RICHARD',
      patientNumber: 'PN7734219',
      admitDate: { year: 2025, month: 1, day: 29 },
      heightCm: 181,
      weight: 88,
      birthDate: { year: 1958, month: 7, day: 14 },
      bloodType: 3,
      doctor: 'JONES^MARY',
    });
    const stream = (c: Connection) => c.handshake().send('client', concat(cms8000Bed(14), patient)).send('client', cms8000Telemetry(0x14, Buffer.alloc(64, 0x80))).close();
    const { alerts, findings, stats } = await analyse(reused(TO_BACKDOOR_515, stream, 0x9c8d0000));
    expect(findings.flows.map((f) => f.reason)).toEqual(['reused', 'end-of-input']);
    expect(new Set(findings.flows.map((f) => f.flow.id)).size).toBe(2);
    expect(alerts).toEqual({ '1000001': 2, '1000002': 1 });
    expect(stats.flows.endedReused).toBe(1);
  });

  it('a retransmitted SYN (the flow\'s own ISN) or a SYN inside the window is part of the open connection', async () => {
    const retransmitted = new Connection(TO_EXTERNAL_515, { client: 0x1a2b0000, server: 0x5e6f0000 }).handshake().send('client', ORU);
    retransmitted.packet('client', 'S', undefined, { seq: 0x1a2b0000 });
    const inWindow = new Connection({ ...TO_EXTERNAL_515, cport: 40601 }, { client: 0x1a2b0000, server: 0x5e6f0000 }).handshake().send('client', ORU);
    inWindow.packet('client', 'S', undefined, { seq: inWindow.next('client') + 1000 });
    const { findings, alerts } = await analyse([...retransmitted.frames, ...inWindow.frames]);
    expect(findings.flows.map((f) => f.reason)).toEqual(['end-of-input', 'end-of-input']);
    expect(alerts).toEqual({ '1000002': 2 });
  });
});

describe('IPv6 extension header chains', () => {
  const chain = (n: number) => () => Array.from({ length: n }, () => destinationOptions());

  it('HL7 to an indicator address behind 9 and 40 destination options headers on every packet raises the same alerts as without them', async () => {
    for (const n of [0, 9, 40]) {
      const c = new Connection({ client: MONITOR6, server: INDICATOR6, cport: 40700, sport: 515 }, { client: 0x100, server: 0x200 }, chain(n)).handshake().send('client', ORU).close();
      const { alerts } = await analyse(c.frames, { indicators: `${INDICATOR6}\n` });
      expect(alerts, `${n} headers`).toEqual({ '1000001': 1, '1000002': 1 });
    }
  });

  it('a packet whose chain is cut before the transport still meets the indicator rule', async () => {
    const whole = ipv6({ src: MONITOR6, dst: INDICATOR6, extensions: chain(12)() }, tcp({ sport: 40701, dport: 515, flags: 'S' }));
    const cut = Buffer.from(whole.subarray(0, 40 + 8 * 6 + 4));
    cut.writeUInt16BE(cut.length - 40, 4);
    const { alerts, stats } = await analyse([{ at: 0, data: cut }], { indicators: `${INDICATOR6}\n` });
    expect(alerts).toEqual({ '1000001': 1 });
    expect(stats.decode.invalidByReason.get('ipv6.trunc_exthdr')).toBe(1);
  });
});

describe('packets whose transport header cannot be reached', () => {
  it('an IPv4 packet to the backdoor address with its TCP header cut off raises 1000001 and is still counted as invalid', async () => {
    const packet = ipv4({ src: MONITOR, dst: BACKDOOR, protocol: 6 }, Buffer.alloc(10));
    const { alerts, findings, stats } = await analyse([{ at: 0, data: packet }]);
    expect(alerts).toEqual({ '1000001': 1 });
    expect(findings.alerts[0].flow.proto).toBe(6);
    expect(stats.decode.invalidByReason.get('tcp.pkt_too_small')).toBe(1);
  });

  it('a cut UDP header to the backdoor address raises 1000001', async () => {
    const { alerts } = await analyse([{ at: 0, data: ipv4({ src: MONITOR, dst: BACKDOOR, protocol: 17 }, Buffer.alloc(4)) }]);
    expect(alerts).toEqual({ '1000001': 1 });
  });
});

describe('checksums', () => {
  /** A junk segment with a bad checksum at the sequence number of the real HL7, sent first. */
  function junkFirst(): Frame[] {
    const c = new Connection(TO_EXTERNAL_515, { client: 0x3a1f0000, server: 0x7c2e0000 }).handshake();
    const junk = Buffer.alloc(ORU.length, 0xa5);
    c.packet('client', 'PA', junk, { seq: c.next('client'), checksum: 0xdead });
    return c.send('client', ORU).close().frames;
  }

  it('a junk segment with a bad checksum does not win over the real HL7 (1000002, not 1000006)', async () => {
    const { alerts, stats } = await analyse(junkFirst());
    expect(alerts).toEqual({ '1000002': 1 });
    expect(stats.flows.tcpChecksumInvalid).toBe(1);
    expect(stats.flows.checksumChecksOff).toBe(0);
  });

  it('with checksum_validation no, the junk wins, as before validation existed', async () => {
    const { alerts } = await analyse(junkFirst(), { flows: { checksumValidation: 'no' } });
    expect(alerts).toEqual({ '1000006': 1 });
  });

  it('a MOUNT call in a UDP datagram with a bad checksum is not analysed', async () => {
    const call = rpcCall({ xid: 0x4e1f0101, program: RPC_PROGRAM.MOUNT, version: 3, procedure: MOUNT_MNT, auth: { stamp: T0, machineName: 'monitor', uid: 0, gid: 0, gids: [0] } }, mountPathArgs('/pm'));
    const datagram = (checksum?: number) => ipv4({ src: MONITOR, dst: EXTERNAL }, udp({ sport: 1021, dport: 20048, checksum }, call));
    const bad = await analyse([{ at: 0, data: datagram(0xbeef) }]);
    expect(bad.alerts).toEqual({});
    expect(bad.stats.flows.udpChecksumInvalid).toBe(1);
    expect((await analyse([{ at: 0, data: datagram() }])).alerts).toEqual({ '1000004': 1 });
    // IPv4 lets a sender leave the UDP checksum out (zero).
    expect((await analyse([{ at: 0, data: datagram(0) }])).alerts).toEqual({ '1000004': 1 });
  });

  /**
   * A capture taken on a host whose NIC fills in checksums: every payload packet it sent has a
   * wrong one. 1100 such datagrams, then its HL7 to an external host on 515.
   */
  function offloaded(): Frame[] {
    const frames: Frame[] = [];
    for (let i = 0; i < 1100; i++) frames.push({ at: i * 0.001, data: ipv4({ src: MONITOR, dst: '10.1.5.30' }, udp({ sport: 20000 + i, dport: 514, checksum: 0x1234 }, `<134>monitor: reading ${i}`)) });
    const c = new Connection(TO_EXTERNAL_515, { client: 0x3a1f0000, server: 0x7c2e0000, at: 2 });
    c.handshake().packet('client', 'PA', ORU, { checksum: 0x4321 }).packet('server', 'A').close();
    return [...frames, ...c.frames];
  }

  it('auto turns validation off, once, when the capture shows offloading', async () => {
    const { alerts, stats } = await analyse(offloaded());
    expect(stats.flows.checksumChecksOff).toBe(1);
    expect(alerts).toEqual({ '1000002': 1 });
    expect(stats.flows.udpChecksumInvalid).toBe(1000);
  });

  /** The monitor's MOUNT call as a capture taken on the monitor holds it: the checksum left to its NIC. */
  function mountLeftToNic(): Frame {
    const call = rpcCall({ xid: 0x4e1f0202, program: RPC_PROGRAM.MOUNT, version: 3, procedure: MOUNT_MNT, auth: { stamp: T0, machineName: 'monitor', uid: 0, gid: 0, gids: [0] } }, mountPathArgs('/pm'));
    return { at: 0, data: ipv4({ src: MONITOR, dst: EXTERNAL }, udp({ sport: 1021, dport: 20048, checksum: 'left-to-nic' }, call)) };
  }

  it('a checksum left to the sending NIC, early in a capture, is analysed as sent: the MOUNT raises 1000004', async () => {
    const { alerts, stats } = await analyse([mountLeftToNic()]);
    expect(alerts).toEqual({ '1000004': 1 });
    expect([stats.flows.checksumLeftToNic, stats.flows.udpChecksumInvalid]).toEqual([1, 0]);
  });

  it('yes refuses a checksum left to the NIC like any wrong one', async () => {
    const { alerts, stats } = await analyse([mountLeftToNic()], { flows: { checksumValidation: 'yes' } });
    expect(alerts).toEqual({});
    expect([stats.flows.checksumLeftToNic, stats.flows.udpChecksumInvalid]).toEqual([0, 1]);
  });

  /** `before` packets with right checksums (a mirror port's), then the junk-first HL7 connection. */
  function afterMirrorTraffic(before: number, junkChecksum: number | 'left-to-nic'): Frame[] {
    const frames: Frame[] = [];
    for (let i = 0; i < before; i++) frames.push({ at: i * 0.001, data: ipv4({ src: MONITOR, dst: '10.1.5.30' }, udp({ sport: 20000 + i, dport: 514 }, `<134>monitor: reading ${i}`)) });
    const c = new Connection(TO_EXTERNAL_515, { client: 0x3a1f0000, server: 0x7c2e0000, at: 2 }).handshake();
    c.packet('client', 'PA', Buffer.alloc(ORU.length, 0xa5), { seq: c.next('client'), checksum: junkChecksum });
    return [...frames, ...c.send('client', ORU).close().frames];
  }

  it('once a sample of right checksums shows a mirror port, a checksum left to the NIC is refused: the junk does not win', async () => {
    const { alerts, stats } = await analyse(afterMirrorTraffic(1000, 'left-to-nic'));
    expect(alerts).toEqual({ '1000002': 1 });
    expect([stats.flows.checksumLeftToNic, stats.flows.tcpChecksumInvalid, stats.flows.checksumChecksOff]).toEqual([0, 1, 0]);
  });

  it('yes keeps validating an offloaded capture', async () => {
    const { alerts, stats } = await analyse(offloaded(), { flows: { checksumValidation: 'yes' } });
    expect(stats.flows.checksumChecksOff).toBe(0);
    expect(alerts).not.toHaveProperty('1000002');
    expect(stats.flows.tcpChecksumInvalid).toBe(1);
  });
});

describe('overlapping retransmissions', () => {
  const half = ORU.length >> 1;

  /** The first half of the HL7 message, that half again (`again`), then the second half. */
  function retransmitted(again: Uint8Array): Frame[] {
    const c = new Connection(TO_EXTERNAL_515, { client: 0x3a1f0000, server: 0x7c2e0000 }).handshake();
    const at = c.next('client');
    c.packet('client', 'PA', ORU.subarray(0, half));
    c.packet('client', 'A', again, { seq: at }); // other flags than the original: no SPAN duplicate
    return c.packet('client', 'PA', ORU.subarray(half), { seq: at + half }).packet('server', 'A').frames;
  }

  it('a retransmission whose bytes differ from those delivered is counted as tcp.overlap_diff_data', async () => {
    const { stats, alerts } = await analyse(retransmitted(Buffer.alloc(half, 0xa5)));
    expect(stats.reassembly.retransmissions).toBe(1);
    expect(stats.reassembly.overlapConflicts).toBe(1);
    expect(alerts).toEqual({ '1000002': 1 });
  });

  it('a faithful retransmission is not counted', async () => {
    const { stats } = await analyse(retransmitted(ORU.subarray(0, half)));
    expect(stats.reassembly.retransmissions).toBe(1);
    expect(stats.reassembly.overlapConflicts).toBe(0);
  });
});

describe('TSO/GRO records', () => {
  it('a 200 KB record with IPv4 total length 0 is analysed with its captured length', async () => {
    const c = new Connection(TO_EXTERNAL_515, { client: 0x3a1f0000, server: 0x7c2e0000 }).handshake();
    const big = concat(ORU, Buffer.alloc(200_000 - ORU.length, 0x20));
    // The headers as the host's stack wrote them, then the payload the NIC was to split up.
    const headers = ipv4({ src: MONITOR, dst: EXTERNAL, ttl: 64, protocol: 6 }, tcp({ sport: 40600, dport: 515, seq: c.next('client'), ack: 0x7c2e0001, flags: 'PA', checksum: 0x1b2c }));
    const record = concat(headers, big);
    record.writeUInt16BE(0, 2);
    const { alerts, stats } = await analyse([...c.frames, { at: 1, data: record }]);
    expect(stats.decode.invalid).toBe(0);
    expect(stats.decode.anomalies.get('ipv4.total_length_zero')).toBe(1);
    expect(alerts).toEqual({ '1000002': 1 });
  });
});
