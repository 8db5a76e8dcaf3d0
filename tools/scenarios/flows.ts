/**
 * Flow-layer cases: TCP conversations as a mirror port really sees them (reordered, retransmitted,
 * overlapping, with a segment the capture lost, picked up mid-connection, across the sequence
 * number wrap, closed by FIN and by RST with a source port reused), every packet twice from a
 * SPAN of two switch ports, and flows that go idle and end during the capture. All traffic stays
 * inside the hospital, so no rule may fire: what these samples check is the flow layer's counters.
 */
import { concat, ipv4, LINKTYPE, LPD, lpdCommand, lpdFile, lpdFileHeader, mllp, hl7Message, pcapFile, tcp, vlanTagBytes, type CaptureRecord } from '../craft/index.js';
import { clockAt, frame, RTT, SITE, TcpSession, Timeline, UdpExchange, type Endpoint } from './network.js';
import type { DetectionScenario } from './scenario.js';

/** Inside hosts these cases add to the scenarios' network. */
const HOSTS = {
  syslog: '10.1.5.30', // the hospital's syslog collector
  ntp: '10.1.1.123', // the hospital's time server
} as const;

const ENGINE_PORT = 2575;

interface Reading {
  controlId: string;
  time: string;
  bed: number;
  heartRate: number;
  spo2: number;
}

/** A vital-signs result for a synthetic patient, from the monitor at `bed`. */
function oru(r: Reading): Buffer {
  return mllp(
    hl7Message([
      `MSH|^~\\&|CMS8000|ICU3^BED${r.bed}|HIS|GENERAL HOSPITAL|${r.time}||ORU^R01|${r.controlId}|P|2.3`,
      'PID|1||MRN123456^^^GENERAL^MR||DOE^JANE||19700101|F',
      `PV1|1|I|ICU3^${r.bed}^1`,
      `OBR|1|||VITALS^Vital signs|||${r.time}`,
      `OBX|1|NM|8867-4^Heart rate^LN||${r.heartRate}|/min|50-120||||F`,
      `OBX|2|NM|59408-5^Oxygen saturation^LN||${r.spo2}|%|90-100||||F`,
    ]),
  );
}

/** The interface engine's acknowledgement of one result. */
function ack(r: Reading): Buffer {
  return mllp(hl7Message([`MSH|^~\\&|HIS|GENERAL HOSPITAL|CMS8000|ICU3^BED${r.bed}|${r.time}||ACK^R01|A${r.controlId}|P|2.3`, `MSA|AA|${r.controlId}`]));
}

function reading(n: number, bed = 12): Reading {
  const minute = String(40 + n).padStart(2, '0');
  return { controlId: `CMS00004${String(n).padStart(2, '0')}`, time: `2025013010${minute}00`, bed, heartRate: 74 + n, spo2: 96 + (n % 3) };
}

/** A TCP segment built by hand (a retransmission, a repacketised or unusual segment). */
function segmentFrame(from: Endpoint, to: Endpoint, ipId: number, fields: { seq: number; ack: number; flags: string }, payload?: Uint8Array): Uint8Array {
  const segment = tcp({ sport: from.port, dport: to.port, seq: fields.seq, ack: fields.ack, flags: fields.flags, window: 502 }, payload);
  return frame(from.ip, to.ip, ipv4({ src: from.ip, dst: to.ip, id: ipId, ttl: 64, df: true }, segment));
}

function capture(timeline: Timeline): Buffer {
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

/** Payload bytes of a case, for checking what reassembly hands on. */
export interface FlowPayloadBytes {
  /** Distinct payload bytes the clients sent. */
  client: number;
  /** Distinct payload bytes the servers sent. */
  server: number;
  /** Of those, bytes in segments the capture never saw. */
  notCaptured: number;
}

// ---------------------------------------------------------------------------------------------
// Reordering, retransmission, overlap

const REORDER_READING = reading(1);
/** Where the result is cut into four segments. */
const REORDER_CUTS = [0, 80, 160, 240, oru(REORDER_READING).length];
/** Bytes of the third segment the repacketised last segment sends again. */
const REORDER_OVERLAP = 40;

/**
 * One result in four segments. The network delivers the third before the second; the monitor's
 * retransmission timer fires before the engine's ACK reaches it and it resends the first; the last
 * segment goes out repacketised from 40 bytes inside the third.
 */
function reorderRetransmit(): Buffer {
  const client = { ip: SITE.monitor, port: 40720 };
  const server = { ip: SITE.hl7Engine, port: ENGINE_PORT };
  const clientIsn = 0x2f61c000;
  const serverIsn = 0x58a3e000;
  const timeline = new Timeline(clockAt(10, 40));
  const s = new TcpSession(timeline, { client, server, rtt: RTT.lan, clientIsn, serverIsn });
  const message = oru(REORDER_READING);
  const cuts = REORDER_CUTS;
  const pieces = [0, 1, 2, 3].map((i) => message.subarray(cuts[i], cuts[i + 1]));
  const seq = (offset: number): number => (clientIsn + 1 + offset) >>> 0;
  const serverSeq = serverIsn + 1;

  s.handshake();
  const [first, second, third] = s.unplaced((c) => pieces.forEach((p) => c.segment('client', 'PA', p)));
  s.pause(2_000).placeFrame('client', first.frame).placeFrame('client', third.frame).placeFrame('client', second.frame);
  s.placeFrame('server', segmentFrame(server, client, 0x1d01, { seq: serverSeq, ack: seq(cuts[3]), flags: 'A' }));
  s.pause(200_000).placeFrame('client', segmentFrame(client, server, 0x4a20, { seq: seq(0), ack: serverSeq, flags: 'PA' }, pieces[0]));
  s.placeFrame('server', segmentFrame(server, client, 0x1d02, { seq: serverSeq, ack: seq(cuts[3]), flags: 'A' }));
  const from = cuts[3] - REORDER_OVERLAP;
  s.placeFrame('client', segmentFrame(client, server, 0x4a21, { seq: seq(from), ack: serverSeq, flags: 'PA' }, message.subarray(from)));
  s.segment('server', 'A');
  s.pause(3_500).send('server', ack(REORDER_READING));
  s.pause(150_000).close('client');
  return capture(timeline);
}

// ---------------------------------------------------------------------------------------------
// A segment the capture lost

const GAP_READINGS = [reading(2), reading(3)];
export const GAP_CUTS = [0, 100, 200, oru(GAP_READINGS[0]).length];

/**
 * A result in three segments of which the mirror port dropped the second; the engine's ACK covers
 * all three. Five seconds later the next result, whole.
 */
function gap(): Buffer {
  const client = { ip: SITE.monitor, port: 40731 };
  const server = { ip: SITE.hl7Engine, port: ENGINE_PORT };
  const timeline = new Timeline(clockAt(10, 41));
  const s = new TcpSession(timeline, { client, server, rtt: RTT.lan, clientIsn: 0x61e0a000, serverIsn: 0x0c3b7000 });
  const message = oru(GAP_READINGS[0]);
  const pieces = [0, 1, 2].map((i) => message.subarray(GAP_CUTS[i], GAP_CUTS[i + 1]));
  s.handshake();
  const [first, , third] = s.unplaced((c) => pieces.forEach((p) => c.segment('client', 'PA', p)));
  s.pause(2_000).placeFrame('client', first.frame).placeFrame('client', third.frame);
  s.segment('server', 'A');
  s.pause(3_500).send('server', ack(GAP_READINGS[0]));
  s.pause(5_000_000).send('client', oru(GAP_READINGS[1]));
  s.pause(3_500).send('server', ack(GAP_READINGS[1]));
  s.pause(150_000).close('client');
  return capture(timeline);
}

// ---------------------------------------------------------------------------------------------
// Mid-stream pickup

const MIDSTREAM_READINGS = [reading(4), reading(5)];

/**
 * The capture starts inside an established connection: first the engine's acknowledgement of a
 * result sent before it, then the monitor's next result a minute later, its acknowledgement, FIN.
 */
function midstream(): Buffer {
  const client = { ip: SITE.monitor, port: 40612 };
  const server = { ip: SITE.hl7Engine, port: ENGINE_PORT };
  const timeline = new Timeline(clockAt(10, 42));
  // No handshake: the initial numbers are where the conversation stands when the capture starts.
  const s = new TcpSession(timeline, { client, server, rtt: RTT.lan, clientIsn: 0x7d0e4412, serverIsn: 0x13a9c0e7 });
  s.segment('server', 'PA', ack(MIDSTREAM_READINGS[0]));
  s.segment('client', 'A');
  s.pause(60_000_000).send('client', oru(MIDSTREAM_READINGS[1]));
  s.pause(3_500).send('server', ack(MIDSTREAM_READINGS[1]));
  s.pause(150_000).close('client');
  return capture(timeline);
}

// ---------------------------------------------------------------------------------------------
// Sequence numbers wrapping past 2^32

const WRAP_READINGS = [reading(6, 14), reading(7, 14), reading(8, 14), reading(9, 14)];
/** The monitor's first data byte sits this far below 2^32: the wrap falls inside its second segment. */
const WRAP_BELOW = 700;
const WRAP_MSS = 536;

/**
 * Four queued results in one burst of 536-byte segments whose sequence numbers wrap inside the
 * second; the third arrives before the second, with the engine's duplicate ACK (a number below the
 * wrap) between them. The engine's own numbers wrap at its first data byte.
 */
function seqWrap(): Buffer {
  const client = { ip: SITE.monitorBed14, port: 40688 };
  const server = { ip: SITE.hl7Engine, port: ENGINE_PORT };
  const clientIsn = 2 ** 32 - WRAP_BELOW - 1;
  const serverIsn = 0xffffffff;
  const timeline = new Timeline(clockAt(10, 43));
  const s = new TcpSession(timeline, { client, server, rtt: RTT.lan, clientIsn, serverIsn, mss: WRAP_MSS });
  s.handshake();
  const [first, second, third] = s.unplaced((c) => c.send('client', concat(...WRAP_READINGS.map(oru)), { ack: false }));
  s.pause(2_000).placeFrame('client', first.frame).placeFrame('client', third.frame);
  const afterFirst = (clientIsn + 1 + WRAP_MSS) >>> 0;
  s.placeFrame('server', segmentFrame(server, client, 0x2e01, { seq: 0, ack: afterFirst, flags: 'A' }));
  s.placeFrame('client', second.frame);
  s.segment('server', 'A');
  s.pause(3_500).send('server', concat(...WRAP_READINGS.map(ack)));
  s.pause(150_000).close('client');
  return capture(timeline);
}

// ---------------------------------------------------------------------------------------------
// FIN, RST, a reused port

const PRINTER_PORT = 515;
/** RFC 1179: LPD clients send from a reserved port, 721-731, so the same port comes back quickly. */
const LPD_CLIENT_PORT = 721;
const RESET_READING = reading(12, 15);

/** The pieces of one print job as the client sends them: receive job, control file, data file. */
function lpdJob(jobNumber: number, title: string, lines: string[]): Buffer[] {
  const host = 'nurse-pc07';
  const id = String(jobNumber).padStart(3, '0');
  const document = [title, '', ...lines, ''].join('\n');
  const control = [`H${host}`, 'Pnurse', `J${title}`, `ldfA${id}${host}`, `UdfA${id}${host}`, `N${title}`, ''].join('\n');
  return [
    lpdCommand(LPD.receiveJob, 'ward3-laser'),
    lpdFileHeader(LPD.receiveControlFile, control.length, `cfA${id}${host}`),
    lpdFile(control),
    lpdFileHeader(LPD.receiveDataFile, document.length, `dfA${id}${host}`),
    lpdFile(document),
  ];
}

const PRINT_JOBS = [
  lpdJob(51, 'bed-12-handover.txt', ['Alarm limits reviewed', 'Infusion pump checked']),
  lpdJob(52, 'bed-14-handover.txt', ['Alarm limits reviewed', 'Dressing changed']),
];

/** A print job: each command and file acknowledged by the printer with a zero octet. */
function printSession(timeline: Timeline, clientIsn: number, serverIsn: number, job: Buffer[]): void {
  const s = new TcpSession(timeline, { client: { ip: SITE.workstation, port: LPD_CLIENT_PORT }, server: { ip: SITE.printer, port: PRINTER_PORT }, rtt: RTT.lan, clientIsn, serverIsn });
  s.handshake();
  job.forEach((part, i) => s.pause(i === 0 ? 500 : 0).send('client', part, { ack: false }).send('server', Buffer.from([0])));
  s.close('client');
}

/**
 * A print job closed with FIN/FIN; a result to the engine, which resets the connection; two
 * seconds after the first job the workstation prints again from the same reserved port.
 */
function finRst(): Buffer {
  const timeline = new Timeline(clockAt(10, 44));
  printSession(timeline, 0x3c0d1000, 0x0a7f2000, PRINT_JOBS[0]);
  timeline.idle(400_000);
  const reset = new TcpSession(timeline, { client: { ip: SITE.monitorBed15, port: 40790 }, server: { ip: SITE.hl7Engine, port: ENGINE_PORT }, rtt: RTT.lan, clientIsn: 0x44e81000, serverIsn: 0x6b0c3000 });
  reset.handshake();
  reset.pause(2_000).send('client', oru(RESET_READING));
  reset.pause(1_200).segment('server', 'RA');
  timeline.idle(1_500_000);
  printSession(timeline, 0x3c9a5000, 0x0b113000, PRINT_JOBS[1]);
  return capture(timeline);
}

// ---------------------------------------------------------------------------------------------
// SPAN duplicates

const SPAN_READING = reading(10, 16);
/** The VLAN of the frames as the monitor's access port shows them, and of the uplink's copies. */
export const SPAN_VLANS = { original: 30, copy: 31 } as const;

/** Puts an 802.1Q tag after the MAC addresses of an Ethernet frame. */
function tagged(frameBytes: Uint8Array, vid: number): Uint8Array {
  return concat(frameBytes.subarray(0, 12), vlanTagBytes({ vid }), frameBytes.subarray(12));
}

/**
 * A short result exchange mirrored from two switch ports: every frame twice, the copy 5-50 µs
 * later in another VLAN. The monitor's ACK of the engine's answer is lost after the mirror, so
 * 300 ms later the engine retransmits it, the very same IP packet (an atomic datagram whose id
 * its stack does not change, RFC 6864); that one is new traffic, and it too is mirrored twice.
 */
function spanDuplicates(): Buffer {
  const client = { ip: SITE.monitorBed16, port: 40802 };
  const server = { ip: SITE.hl7Engine, port: ENGINE_PORT };
  const timeline = new Timeline(clockAt(10, 45));
  const s = new TcpSession(timeline, { client, server, rtt: RTT.lan, clientIsn: 0x0f3e2000, serverIsn: 0x5d774000 });
  s.handshake();
  s.pause(2_000).send('client', oru(SPAN_READING));
  const [answer] = s.unplaced((c) => c.segment('server', 'PA', ack(SPAN_READING)));
  s.pause(3_500).placeFrame('server', answer.frame);
  s.segment('client', 'A');
  s.pause(300_000).placeFrame('server', answer.frame);
  s.segment('client', 'A');
  s.pause(150_000).close('client');

  const mirrored: CaptureRecord[] = [];
  timeline.records.forEach((r, i) => {
    mirrored.push({ ...r, data: tagged(r.data, SPAN_VLANS.original) });
    const nsec = r.nsec + (5 + ((i * 17) % 46)) * 1000;
    mirrored.push({ sec: r.sec + Math.floor(nsec / 1e9), nsec: nsec % 1e9, data: tagged(r.data, SPAN_VLANS.copy) });
  });
  mirrored.sort((a, b) => a.sec - b.sec || a.nsec - b.nsec);
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, mirrored);
}

// ---------------------------------------------------------------------------------------------
// Flows that end during the capture

const TIMEOUT_READING = reading(11);
const NTP_POLLS = [6, 22, 38, 54, 70];

function syslogLine(time: string, text: string): string {
  return `<134>Jan 30 ${time} cms8000 monitor[212]: ${text}`;
}

/** An NTPv4 client request (mode 3) or server reply (mode 4), 48 bytes. */
function ntp(mode: 3 | 4, poll: number): Buffer {
  const b = Buffer.alloc(48);
  b[0] = (4 << 3) | mode;
  b[1] = mode === 4 ? 2 : 0; // stratum
  b[2] = 6; // poll interval 2^6 s
  b[3] = 0xec; // precision 2^-20 s
  if (mode === 4) {
    b.writeUInt32BE(0x00000120, 4); // root delay
    b.writeUInt32BE(0x00000340, 8); // root dispersion
    b.write('GPS\0', 12, 'latin1'); // reference id
  }
  const seconds = 0xeb45d6e8 + poll; // 2025-01-30 10:46 in NTP era 0
  b.writeUInt32BE(seconds, 40);
  b.writeUInt32BE(0x1a2b0000 + poll * 0x100, 44);
  if (mode === 4) {
    b.writeUInt32BE(seconds, 24); // originate: the request's transmit time
    b.writeUInt32BE(0x1a2b0000 + poll * 0x100, 28);
    b.writeUInt32BE(seconds, 32); // receive
  }
  return b;
}

/** Moves the time line on to `offset` seconds after `start` (the next frame follows 25 µs later). */
function at(timeline: Timeline, startSec: number, offset: number): void {
  const now = timeline.clock.now();
  timeline.idle((startSec - now.sec) * 1e6 + Math.round(offset * 1e6) - now.nsec / 1000);
}

/**
 * Seconds after 10:46:00 at which things happen: a print job's SYN to a switched-off printer at 0,
 * never answered; a result to the engine at 0.3, closed by 0.5; a syslog message at 1.5 and the
 * next one from the same port 40 s later; the monitor's NTP polls every 16 s from 6 to 70.
 */
function timeouts(): Buffer {
  const timeline = new Timeline(clockAt(10, 46));
  const start = timeline.clock.now().sec;
  const { workstation, printer, monitor, hl7Engine } = SITE;
  const syn = tcp({ sport: 50233, dport: 9100, seq: 0x6e2a9000, flags: 'S', window: 64240 });
  timeline.add('client', frame(workstation, printer, ipv4({ src: workstation, dst: printer, id: 0x7a01, ttl: 128, df: true }, syn)), RTT.lan);

  at(timeline, start, 0.3);
  const s = new TcpSession(timeline, { client: { ip: monitor, port: 40655 }, server: { ip: hl7Engine, port: ENGINE_PORT }, rtt: RTT.lan, clientIsn: 0x1b5f8000, serverIsn: 0x47d26000 });
  s.handshake();
  s.pause(2_000).send('client', oru(TIMEOUT_READING));
  s.pause(3_500).send('server', ack(TIMEOUT_READING));
  s.pause(150_000).close('client');

  const syslog = new UdpExchange(timeline, { client: { ip: monitor, port: 514 }, server: { ip: HOSTS.syslog, port: 514 }, rtt: RTT.lan, clientIpId: 0x3100, serverIpId: 0 });
  const ntpExchange = new UdpExchange(timeline, { client: { ip: monitor, port: 123 }, server: { ip: HOSTS.ntp, port: 123 }, rtt: RTT.lan, clientIpId: 0x3200, serverIpId: 0x0e00 });
  const events: Array<[number, () => void]> = [
    [1.5, () => syslog.send('client', syslogLine('10:46:01', 'alarm limits loaded'))],
    [41.5, () => syslog.send('client', syslogLine('10:46:41', 'central station connection idle'))],
    ...NTP_POLLS.map((t): [number, () => void] => [t, () => ntpExchange.send('client', ntp(3, t)).send('server', ntp(4, t))]),
  ];
  for (const [offset, happen] of events.sort((a, b) => a[0] - b[0])) {
    at(timeline, start, offset);
    happen();
  }
  return capture(timeline);
}

// ---------------------------------------------------------------------------------------------

const total = (buffers: Buffer[]): number => buffers.reduce((n, b) => n + b.length, 0);

/** Payload bytes per capture. */
export const FLOW_PAYLOAD_BYTES: Record<string, FlowPayloadBytes> = {
  'flow-reorder-retransmit.pcap': { client: oru(REORDER_READING).length, server: ack(REORDER_READING).length, notCaptured: 0 },
  'flow-gap.pcap': { client: total(GAP_READINGS.map(oru)), server: total(GAP_READINGS.map(ack)), notCaptured: GAP_CUTS[2] - GAP_CUTS[1] },
  'flow-midstream.pcap': { client: oru(MIDSTREAM_READINGS[1]).length, server: total(MIDSTREAM_READINGS.map(ack)), notCaptured: 0 },
  'flow-seq-wrap.pcap': { client: total(WRAP_READINGS.map(oru)), server: total(WRAP_READINGS.map(ack)), notCaptured: 0 },
  'flow-fin-rst.pcap': { client: total(PRINT_JOBS.flat()) + oru(RESET_READING).length, server: PRINT_JOBS.flat().length, notCaptured: 0 },
  'flow-span-duplicates.pcap': { client: oru(SPAN_READING).length, server: ack(SPAN_READING).length, notCaptured: 0 },
  'flow-timeouts.pcap': { client: oru(TIMEOUT_READING).length, server: ack(TIMEOUT_READING).length, notCaptured: 0 },
};

const INSIDE = 'no indicator address and no outside host, and every rule needs one of them';

export const flowScenarios: DetectionScenario[] = [
  {
    file: 'flow-reorder-retransmit.pcap',
    description: `One MLLP HL7 result from ${SITE.monitor} to ${SITE.hl7Engine}:${ENGINE_PORT} in four segments: the third captured before the second, the first retransmitted after the engine's ACK, the last resent from ${REORDER_OVERLAP} bytes inside the third`,
    expected: { alerts: {}, why: `HL7 between two HOME_NET hosts; ${INSIDE}` },
    build: reorderRetransmit,
  },
  {
    file: 'flow-gap.pcap',
    description: `Two MLLP HL7 results from ${SITE.monitor} to ${SITE.hl7Engine}:${ENGINE_PORT}; the second of the first result's three segments (${GAP_CUTS[2] - GAP_CUTS[1]} bytes) never captured, the engine's ACK covering it`,
    expected: { alerts: {}, why: `HL7 between two HOME_NET hosts; ${INSIDE}` },
    build: gap,
  },
  {
    file: 'flow-midstream.pcap',
    description: `A connection from ${SITE.monitor}:40612 to ${SITE.hl7Engine}:${ENGINE_PORT} picked up mid-stream: first the engine's HL7 ACK, then a result, its ACK, FIN/FIN`,
    expected: { alerts: {}, why: `HL7 between two HOME_NET hosts; ${INSIDE}` },
    build: midstream,
  },
  {
    file: 'flow-seq-wrap.pcap',
    description: `Four HL7 results from ${SITE.monitorBed14} in 536-byte segments whose sequence numbers wrap past 2^32 inside the second, which is captured after the third; the engine's numbers wrap at its first data byte`,
    expected: { alerts: {}, why: `HL7 between two HOME_NET hosts; ${INSIDE}` },
    build: seqWrap,
  },
  {
    file: 'flow-fin-rst.pcap',
    description: `A print job from ${SITE.workstation}:${LPD_CLIENT_PORT} to ${SITE.printer}:${PRINTER_PORT} closed with FIN/FIN; an HL7 connection from ${SITE.monitorBed15} the engine resets; a second print job from the same port 2 s after the first`,
    expected: { alerts: {}, why: `LPD and HL7 between HOME_NET hosts; ${INSIDE}` },
    build: finRst,
  },
  {
    file: 'flow-span-duplicates.pcap',
    description: `An HL7 exchange from ${SITE.monitorBed16} to ${SITE.hl7Engine}:${ENGINE_PORT} mirrored from two ports: every frame in VLAN ${SPAN_VLANS.original} and again 5-50 µs later in VLAN ${SPAN_VLANS.copy}; the engine's answer retransmitted 300 ms later, identical`,
    expected: { alerts: {}, why: `HL7 between two HOME_NET hosts; ${INSIDE}` },
    build: spanDuplicates,
  },
  {
    file: 'flow-timeouts.pcap',
    description: `70 s of traffic: an unanswered SYN from ${SITE.workstation} to ${SITE.printer}:9100, an HL7 connection closed at once, syslog from ${SITE.monitor} to ${HOSTS.syslog} 40 s apart, NTP polls to ${HOSTS.ntp} every 16 s`,
    expected: { alerts: {}, why: `HL7, syslog, NTP and a SYN between HOME_NET hosts; ${INSIDE}` },
    build: timeouts,
  },
];
