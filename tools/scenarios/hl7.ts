/**
 * HL7 v2 ORU^R01 results over MLLP: to an outside host on the printer port, to the monitor's
 * default HL7 server 202.114.4.120:511, split and reordered on the way, and to the hospital's
 * own interface engine.
 */
import { hl7Message, ipv4, LINKTYPE, mllp, pcapFile, tcp, tcpOption } from '../craft/index.js';
import { clockAt, frame, RTT, SITE, TcpSession, Timeline, type Endpoint } from './network.js';
import type { DetectionScenario } from './scenario.js';

interface Vitals {
  controlId: string;
  time: string;
  heartRate: number;
  spo2: number;
  systolic: number;
  diastolic: number;
}

/** The monitor's vital-signs result for bed 12 (synthetic patient). */
function oru(v: Vitals): string {
  return hl7Message([
    `MSH|^~\\&|CMS8000|ICU3^BED12|CENTRAL|GENERAL HOSPITAL|${v.time}||ORU^R01|${v.controlId}|P|2.3`,
    'PID|1||MRN123456^^^GENERAL^MR||DOE^JANE||19700101|F',
    'PV1|1|I|ICU3^12^1||||4711^SMITH^JOHN',
    `OBR|1|||VITALS^Vital signs|||${v.time}`,
    `OBX|1|NM|8867-4^Heart rate^LN||${v.heartRate}|/min|50-120||||F`,
    `OBX|2|NM|59408-5^Oxygen saturation^LN||${v.spo2}|%|90-100||||F`,
    `OBX|3|NM|8480-6^Systolic blood pressure^LN||${v.systolic}|mm[Hg]|90-160||||F`,
    `OBX|4|NM|8462-4^Diastolic blood pressure^LN||${v.diastolic}|mm[Hg]|50-100||||F`,
  ]);
}

/** The receiver's application acknowledgement of one ORU. */
function ack(v: Vitals): string {
  return hl7Message([`MSH|^~\\&|CENTRAL|GENERAL HOSPITAL|CMS8000|ICU3^BED12|${v.time}||ACK^R01|A${v.controlId}|P|2.3`, `MSA|AA|${v.controlId}`]);
}

const READINGS: Vitals[] = [
  { controlId: 'CMS0000125', time: '20250130101500', heartRate: 78, spo2: 97, systolic: 124, diastolic: 79 },
  { controlId: 'CMS0000126', time: '20250130101600', heartRate: 81, spo2: 96, systolic: 127, diastolic: 81 },
];

/** One connection carrying each reading and its acknowledgement, a minute apart. */
function hl7Session(client: Endpoint, server: Endpoint, rtt: number, readings: Vitals[], start: [number, number]): Buffer {
  const timeline = new Timeline(clockAt(...start));
  const s = new TcpSession(timeline, { client, server, rtt, clientIsn: 0x52c4e001, serverIsn: 0x09d7a3b2 });
  s.handshake();
  readings.forEach((v, i) => {
    s.pause(i === 0 ? 2_000 : 60_000_000).send('client', mllp(oru(v)));
    s.pause(3_500).send('server', mllp(ack(v)));
  });
  s.pause(150_000).close('client');
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

/**
 * One message in three segments that the mirror port delivers first, third, second; the server
 * acknowledges the first with a SACK for the third, the monitor retransmits the second.
 */
function splitRetransmit(): Buffer {
  const client = { ip: SITE.monitor, port: 40733 };
  const server = { ip: SITE.externalHl7, port: 515 };
  const clientIsn = 0x33a0f100;
  const serverIsn = 0x6e55b000;
  const timeline = new Timeline(clockAt(10, 25));
  const s = new TcpSession(timeline, { client, server, rtt: RTT.internet, clientIsn, serverIsn });
  s.handshake();
  const reading = READINGS[0];
  const message = mllp(oru(reading));
  const cuts = [0, 180, 420, message.length];
  const pieces = [0, 1, 2].map((i) => message.subarray(cuts[i], cuts[i + 1]));
  const [first, second, third] = s.unplaced((c) => pieces.forEach((p) => c.segment('client', 'PA', p)));
  s.pause(2_000).placeFrame('client', first.frame).placeFrame('client', third.frame).pause(260).placeFrame('client', second.frame);

  const seq = (offset: number): number => (clientIsn + 1 + offset) >>> 0;
  const segment = (from: 'client' | 'server', id: number, fields: Parameters<typeof tcp>[0], payload?: Uint8Array): Uint8Array => {
    const [a, b] = from === 'client' ? [client, server] : [server, client];
    return frame(a.ip, b.ip, ipv4({ src: a.ip, dst: b.ip, id, ttl: 64, df: true }, tcp(fields, payload)));
  };
  const sack = segment('server', 0x1c60, {
    sport: server.port,
    dport: client.port,
    seq: serverIsn + 1,
    ack: seq(cuts[1]),
    flags: 'A',
    window: 502,
    options: [tcpOption.nop(), tcpOption.nop(), tcpOption.sack([[seq(cuts[2]), seq(cuts[3])]])],
  });
  const retransmission = segment('client', 0x4b70, { sport: client.port, dport: server.port, seq: seq(cuts[1]), ack: serverIsn + 1, flags: 'PA', window: 502 }, pieces[1]);
  s.placeFrame('server', sack).placeFrame('client', retransmission);
  s.segment('server', 'A');
  s.pause(3_500).send('server', mllp(ack(reading)));
  s.pause(150_000).close('client');
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

export const hl7Scenarios: DetectionScenario[] = [
  {
    file: 'hl7-mllp-external-515.pcap',
    description: `Two MLLP HL7 ORU^R01 vital-signs messages (DOE^JANE, MRN123456) from ${SITE.monitor} to ${SITE.externalHl7}:515, a minute apart, each acknowledged (ACK^R01, MSA|AA)`,
    expected: {
      alerts: { '1000002': 1 },
      why: `HL7 from the hospital to an outside host on port 515 (1000002, once per flow); ${SITE.externalHl7} is no indicator; 1000003 excludes port 515 and 1000006 stays quiet after 1000002`,
    },
    build: () => hl7Session({ ip: SITE.monitor, port: 40422 }, { ip: SITE.externalHl7, port: 515 }, RTT.internet, READINGS, [10, 20]),
  },
  {
    file: 'hl7-to-indicator-511.pcap',
    description: `One MLLP HL7 ORU^R01 from ${SITE.monitor} to the monitor's default HL7 server ${SITE.backdoorHl7}:511, acknowledged`,
    expected: {
      alerts: { '1000001': 1, '1000003': 1 },
      why: `one TCP flow with ${SITE.backdoorHl7}, an exact indicator (1000001); HL7 to an outside host on a port other than 515 (1000003); 511 is not a printer port`,
    },
    build: () => hl7Session({ ip: SITE.monitor, port: 40501 }, { ip: SITE.backdoorHl7, port: 511 }, RTT.china, READINGS.slice(0, 1), [10, 22]),
  },
  {
    file: 'hl7-split-retransmit.pcap',
    description: `One MLLP HL7 ORU^R01 from ${SITE.monitor} to ${SITE.externalHl7}:515 in three segments captured first, third, second; a SACK and a retransmission of the second; acknowledged`,
    expected: {
      alerts: { '1000002': 1 },
      why: 'the reassembled stream holds one HL7 message to an outside host on 515 (1000002); reordering and the retransmission must neither hide it nor report it twice',
    },
    build: splitRetransmit,
  },
  {
    file: 'hl7-internal-engine.pcap',
    description: `Two MLLP HL7 ORU^R01 messages from ${SITE.monitor} to the hospital's interface engine ${SITE.hl7Engine}:2575, acknowledged`,
    expected: {
      alerts: {},
      why: 'HL7 between two HOME_NET hosts is the hospital doing its work: every HL7 rule needs an outside server',
    },
    build: () => hl7Session({ ip: SITE.monitor, port: 40610 }, { ip: SITE.hl7Engine, port: 2575 }, RTT.lan, READINGS, [10, 30]),
  },
];
