/**
 * What a sensor sees when it does not see everything: a connection picked up in the middle, a
 * segment the mirror port dropped, a snap length that cuts every packet, only one direction
 * mirrored, a server that speaks first; and look-alikes that must stay quiet.
 */
import {
  cms8000Bed,
  cms8000Block,
  CMS8000_BLOCK,
  cms8000Patient,
  cms8000Telemetry,
  concat,
  hl7Message,
  LINKTYPE,
  mllp,
  pcapFile,
  type Cms8000PatientFields,
} from '../craft/index.js';
import { clockAt, RTT, SITE, TcpSession, Timeline, type Endpoint } from './network.js';
import type { DetectionScenario } from './scenario.js';

const MARY_MAJOR: Cms8000PatientFields = {
  department: 'ICU 3',
  bed: 11,
  name: 'MAJOR^MARY',
  patientNumber: 'MRN246810',
  admitDate: { year: 2025, month: 1, day: 27 },
  heightCm: 170,
  weight: 71,
  birthDate: { year: 1962, month: 3, day: 9 },
  bloodType: 2,
  doctor: 'SMITH^JOHN',
};

/** A vital-signs result for bed 11 (synthetic patient); the MSH segment fits in 62 bytes. */
function oru(controlId: string): string {
  return hl7Message([
    `MSH|^~\\&|CMS8000|ICU3|CS|GH|20250130111500||ORU^R01|${controlId}|P|2.3`,
    'PID|1||MRN246810^^^GH^MR||MAJOR^MARY||19620309|F',
    'PV1|1|I|ICU3^11^1',
    'OBR|1|||VITALS^Vital signs|||20250130111500',
    'OBX|1|NM|8867-4^Heart rate^LN||74|/min|50-120||||F',
    'OBX|2|NM|59408-5^Oxygen saturation^LN||98|%|90-100||||F',
  ]);
}

function ack(controlId: string): string {
  return hl7Message([`MSH|^~\\&|CS|GH|CMS8000|ICU3|20250130111501||ACK^R01|A${controlId}|P|2.3`, `MSA|AA|${controlId}`]);
}

const EXTERNAL_515: Endpoint = { ip: SITE.externalHl7, port: 515 };

function session(client: Endpoint, server: Endpoint, start: [number, number, number], mss?: number): { s: TcpSession; timeline: Timeline } {
  const timeline = new Timeline(clockAt(...start));
  const s = new TcpSession(timeline, { client, server, rtt: RTT.internet, clientIsn: 0x2a61c001, serverIsn: 0x71b30e01, mss });
  return { s, timeline };
}

function capture(timeline: Timeline, snapLen?: number): Buffer {
  return pcapFile({ linkType: LINKTYPE.ETHERNET, snapLen }, timeline.records);
}

/** One result and its acknowledgement, with the client's segments optionally 100 bytes each. */
function hl7Exchange(opts: { client: Endpoint; server: Endpoint; start: [number, number, number]; banner?: string; snapLen?: number; mss?: number }): Buffer {
  const { s, timeline } = session(opts.client, opts.server, opts.start, opts.mss);
  s.handshake();
  if (opts.banner !== undefined) s.pause(1_000).send('server', opts.banner);
  s.pause(2_000).send('client', mllp(oru('C0000201')));
  s.pause(3_500).send('server', mllp(ack('C0000201')));
  s.pause(60_000_000).send('client', mllp(oru('C0000202')));
  s.pause(3_500).send('server', mllp(ack('C0000202')));
  s.pause(150_000).close('client');
  return capture(timeline, opts.snapLen);
}

/** One result in 100-byte segments of which the mirror port lost the second; the server's ACK covers it. */
function hl7LostSegment(): Buffer {
  const { s, timeline } = session({ ip: SITE.monitor, port: 40801 }, EXTERNAL_515, [11, 10, 0], 100);
  s.handshake();
  const frames = s.unplaced((c) => c.send('client', mllp(oru('C0000203'))));
  s.pause(2_000);
  frames.forEach((f, i) => {
    if (i !== 1) s.placeFrame(f.from, f.frame);
  });
  s.pause(3_500).send('server', mllp(ack('C0000203')));
  s.pause(150_000).close('client');
  return capture(timeline);
}

/** The same exchange as the mirror port gives it when only the monitor's transmit side is mirrored. */
function hl7OutboundOnly(): Buffer {
  const { s, timeline } = session({ ip: SITE.monitor, port: 40802 }, EXTERNAL_515, [11, 12, 0]);
  const frames = s.unplaced((c) => {
    c.handshake();
    c.send('client', mllp(oru('C0000204')));
    c.send('server', mllp(ack('C0000204')));
    c.close('client');
  });
  s.pause(2_000);
  for (const f of frames) if (f.from === 'client') s.placeFrame(f.from, f.frame);
  return capture(timeline);
}

/**
 * The sensor starts while the monitor sends results to an outside host: the first segment seen is
 * the second half of a result, then its acknowledgement, then the next result whole.
 */
function hl7Midstream(): Buffer {
  const { s, timeline } = session({ ip: SITE.monitor, port: 40808 }, EXTERNAL_515, [11, 19, 0]);
  const first = mllp(oru('C0000205'));
  s.send('client', first.subarray(150));
  s.pause(3_500).send('server', mllp(ack('C0000205')));
  s.pause(60_000_000).send('client', mllp(oru('C0000206')));
  s.pause(3_500).send('server', mllp(ack('C0000206')));
  s.pause(150_000).close('client');
  return capture(timeline);
}

/** Waveform samples: deterministic, a beat every 90. */
function waveform(lead: number, round: number): Buffer {
  const b = Buffer.alloc(125);
  for (let i = 0; i < b.length; i++) b[i] = (round * 125 + i + lead * 7) % 90 === 30 ? 0xd8 : 0x80 + (i % 5);
  return b;
}

function telemetryBurst(round: number): Buffer {
  return concat(...[0x14, 0x15, 0x16, 0x17].map((lead) => cms8000Telemetry(lead, waveform(lead, round))));
}

const SYNC = cms8000Block(CMS8000_BLOCK.sync);

/**
 * The sensor starts while the monitor streams to the backdoor: the first segment it sees is the
 * second half of a patient block, then telemetry bursts and the station's syncs.
 */
function cms8000Midstream(): Buffer {
  const { s, timeline } = session({ ip: SITE.monitor, port: 40313 }, { ip: SITE.backdoor, port: 515 }, [11, 20, 0]);
  const opening = concat(cms8000Bed(MARY_MAJOR.bed), cms8000Patient(MARY_MAJOR));
  s.send('client', opening.subarray(96));
  s.pause(1_200).send('server', SYNC);
  for (let round = 0; round < 3; round++) s.pause(500_000).send('client', round === 1 ? concat(telemetryBurst(round), SYNC) : telemetryBurst(round));
  s.pause(300_000).close('client');
  return capture(timeline);
}

/** The monitor's stream in 100-byte segments; the mirror port lost the one inside the patient block. */
function cms8000LostSegment(): Buffer {
  const { s, timeline } = session({ ip: SITE.monitor, port: 40314 }, { ip: SITE.backdoor, port: 515 }, [11, 22, 0], 100);
  s.handshake();
  const frames = s.unplaced((c) => c.send('client', concat(cms8000Bed(MARY_MAJOR.bed), cms8000Patient(MARY_MAJOR))));
  s.pause(1_800);
  frames.forEach((f, i) => {
    if (i !== 1) s.placeFrame(f.from, f.frame);
  });
  s.pause(1_200).send('server', SYNC);
  s.pause(500_000).send('client', telemetryBurst(0));
  s.pause(40_000).send('client', cms8000Block(CMS8000_BLOCK.empty));
  s.pause(300_000).close('client');
  return capture(timeline);
}

/** Deterministic bytes that look like ciphertext. */
function noise(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** A TLS 1.2/1.3 application data record. */
function tlsRecord(length: number, seed: number): Buffer {
  return concat(Buffer.from([0x17, 0x03, 0x03, length >> 8, length & 0xff]), noise(length, seed));
}

/** An established TLS connection to an outside host on 515, picked up in the middle of a record. */
function tlsMidstream(): Buffer {
  const { s, timeline } = session({ ip: SITE.workstation, port: 51544 }, { ip: SITE.external517, port: 515 }, [11, 30, 0]);
  s.send('client', noise(300, 7));
  s.pause(20_000).send('client', tlsRecord(600, 11));
  s.pause(1_000).send('server', tlsRecord(900, 13));
  s.pause(5_000_000).send('client', tlsRecord(200, 17));
  s.pause(1_000).send('server', tlsRecord(4000, 19));
  s.pause(150_000).close('client');
  return capture(timeline);
}

/**
 * Captures of this file where tshark's HL7 dissector sees less than is there, and why: the
 * whole-capture comparison with it leaves them out, and test/analyzers/resync-tshark.test.ts
 * compares what tshark does see.
 */
export const TSHARK_SEES_LESS: Readonly<Record<string, string>> = {
  'hl7-lost-segment-515.pcap': 'a message with a lost segment is never reassembled',
  'hl7-snaplen-96.pcap': 'packets cut by the snap length are never reassembled',
  'hl7-snaplen-128.pcap': 'packets cut by the snap length are never reassembled',
  'hl7-server-banner-515.pcap': "the banner is taken as the start of the server's first message",
  'hl7-server-nul-515.pcap': "the 0x00 is taken as the start of the server's first message",
};

const ONCE = 'cleartext patient data from the hospital to an outside host on 515 (1000002, once per flow); 1000006 stays quiet on a flow known to carry HL7 or CMS8000';

export const resyncScenarios: DetectionScenario[] = [
  {
    file: 'cms8000-midstream-indicator.pcap',
    description: `The sensor starts while monitor ${SITE.monitor} streams to ${SITE.backdoor}:515: the first segment seen starts 96 bytes into its bed and patient blocks (MAJOR^MARY), then 4-lead telemetry and syncs; no handshake`,
    expected: {
      alerts: { '1000001': 1, '1000002': 1 },
      why: `one TCP flow with the indicator ${SITE.backdoor} (1000001); the CMS8000 analyzer resynchronises on the first well-formed run of blocks after the cut patient block, so ${ONCE}`,
    },
    build: cms8000Midstream,
  },
  {
    file: 'cms8000-lost-segment.pcap',
    description: `CMS8000 monitor ${SITE.monitor} streams bed, patient (MAJOR^MARY) and telemetry blocks to ${SITE.backdoor}:515 in 100-byte segments; the segment inside the patient block was never captured, the station's ACK covers it`,
    expected: {
      alerts: { '1000001': 1, '1000002': 1 },
      why: `one TCP flow with the indicator ${SITE.backdoor} (1000001); the loss is inside a block, whose framing holds, so the run of blocks counts: ${ONCE}`,
    },
    build: cms8000LostSegment,
  },
  {
    file: 'hl7-lost-segment-515.pcap',
    description: `One MLLP HL7 ORU^R01 (MAJOR^MARY) from ${SITE.monitor} to ${SITE.externalHl7}:515 in 100-byte segments; the second segment was never captured, the server's ACK covers it; the result is acknowledged`,
    expected: {
      alerts: { '1000002': 1 },
      why: `the whole MSH segment is in the first segment, so the message counts, truncated by the gap: ${ONCE}`,
    },
    build: hl7LostSegment,
  },
  {
    file: 'hl7-snaplen-96.pcap',
    description: `Two MLLP HL7 results from ${SITE.monitor} to ${SITE.externalHl7}:515, acknowledged, captured with a 96-byte snap length (42 payload bytes of each packet kept)`,
    expected: {
      alerts: { '1000002': 1 },
      why: `each kept part holds MSH with its encoding characters, which is HL7 whatever the snap length cut after it: ${ONCE}`,
    },
    build: () => hl7Exchange({ client: { ip: SITE.monitor, port: 40803 }, server: EXTERNAL_515, start: [11, 14, 0], snapLen: 96 }),
  },
  {
    file: 'hl7-snaplen-128.pcap',
    description: `The same two results captured with a 128-byte snap length: each message's whole MSH segment is in the 74 payload bytes kept`,
    expected: { alerts: { '1000002': 1 }, why: ONCE },
    build: () => hl7Exchange({ client: { ip: SITE.monitor, port: 40804 }, server: EXTERNAL_515, start: [11, 15, 0], snapLen: 128 }),
  },
  {
    file: 'hl7-outbound-only-515.pcap',
    description: `One MLLP HL7 result from ${SITE.monitor} to ${SITE.externalHl7}:515 where only the monitor's packets were mirrored: SYN, ACK, the result, ACK, FIN`,
    expected: { alerts: { '1000002': 1 }, why: `the client's bytes alone show HL7: ${ONCE}` },
    build: hl7OutboundOnly,
  },
  {
    file: 'hl7-server-banner-515.pcap',
    description: `${SITE.externalHl7}:515 greets with "220 HL7 gateway ready" before ${SITE.monitor} sends two MLLP HL7 results, acknowledged`,
    expected: {
      alerts: { '1000002': 1 },
      why: `each direction is judged on its own: the server's banner rules out HL7 for the server's bytes only, and the client's are HL7: ${ONCE}`,
    },
    build: () => hl7Exchange({ client: { ip: SITE.monitor, port: 40805 }, server: EXTERNAL_515, start: [11, 16, 0], banner: '220 HL7 gateway ready\r\n' }),
  },
  {
    file: 'hl7-server-nul-515.pcap',
    description: `${SITE.externalHl7}:515 sends a single 0x00 byte before ${SITE.monitor} sends two MLLP HL7 results, acknowledged`,
    expected: { alerts: { '1000002': 1 }, why: `a server's byte before the client's HL7 hides nothing: ${ONCE}` },
    build: () => hl7Exchange({ client: { ip: SITE.monitor, port: 40806 }, server: EXTERNAL_515, start: [11, 17, 0], banner: '\x00' }),
  },
  {
    file: 'hl7-midstream-515.pcap',
    description: `The sensor starts while ${SITE.monitor} sends MLLP HL7 results to ${SITE.externalHl7}:515: the first segment seen is the second half of a result, then its ACK, a minute later the next result and its ACK; no handshake`,
    expected: {
      alerts: { '1000002': 1 },
      why: `the tail of the first result shows nothing to resynchronise on, so the flow is tried again on later bytes and the server's ACK and the next result are HL7: ${ONCE}`,
    },
    build: hl7Midstream,
  },
  {
    file: 'hl7-inbound-515.pcap',
    description: `An outside host ${SITE.externalHl7} pushes two MLLP HL7 results to the interface engine ${SITE.hl7Engine}:515, acknowledged`,
    expected: {
      alerts: {},
      why: 'HL7 coming into the hospital: 1000002, 1000003 and 1000006 all need a HOME_NET client and an outside server, and nothing is an indicator',
    },
    build: () => hl7Exchange({ client: { ip: SITE.externalHl7, port: 40807 }, server: { ip: SITE.hl7Engine, port: 515 }, start: [11, 18, 0] }),
  },
  {
    file: 'tls-midstream-external-515.pcap',
    description: `An established TLS connection from ${SITE.workstation} to ${SITE.external517}:515 picked up inside a record: application data records both ways, FIN`,
    expected: {
      alerts: {},
      why: 'no patient data can be read in ciphertext, and a connection picked up mid-stream proves nothing about LPD (a print job\'s data file can be any bytes), so 1000006 stays quiet; no indicator',
    },
    build: tlsMidstream,
  },
];
