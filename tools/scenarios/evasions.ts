/**
 * Traffic that tries to slip past a passive detector, or that a detector easily misreads: a
 * 5-tuple reused for a second connection without the first one ever closing.
 */
import { hl7Message, LINKTYPE, LPD, lpdCommand, mllp, pcapFile } from '../craft/index.js';
import { clockAt, RTT, SITE, TcpSession, Timeline } from './network.js';
import type { DetectionScenario } from './scenario.js';

/** The monitor's vital-signs result for bed 12 (synthetic patient). */
function oru(controlId: string, time: string): string {
  return hl7Message([
    `MSH|^~\\&|CMS8000|ICU3^BED12|CENTRAL|GENERAL HOSPITAL|${time}||ORU^R01|${controlId}|P|2.3`,
    'PID|1||MRN123456^^^GENERAL^MR||DOE^JANE||19700101|F',
    'PV1|1|I|ICU3^12^1',
    `OBR|1|||VITALS^Vital signs|||${time}`,
    `OBX|1|NM|8867-4^Heart rate^LN||77|/min|50-120||||F`,
    `OBX|2|NM|59408-5^Oxygen saturation^LN||97|%|90-100||||F`,
  ]);
}

/**
 * The monitor asks an outside print server for its queue state over LPD and never closes the
 * connection (it reboots); 5 s later, from the same source port with a new initial sequence
 * number, it opens a second connection to the same host and port and sends an HL7 result. No FIN
 * or RST separates the two: only the SYN far outside the first connection's window does.
 */
function reusedTuple(): Buffer {
  const timeline = new Timeline(clockAt(11, 5));
  const client = { ip: SITE.monitor, port: 40600 };
  const server = { ip: SITE.externalHl7, port: 515 };
  const first = new TcpSession(timeline, { client, server, rtt: RTT.internet, clientIsn: 0x1a2b0000, serverIsn: 0x5e6f0000 });
  first.handshake();
  first.pause(800).send('client', lpdCommand(LPD.queueStateShort, 'lp'), { ack: false });
  first.send('server', 'no entries\n');
  timeline.idle(5_000_000);
  const second = new TcpSession(timeline, { client, server, rtt: RTT.internet, clientIsn: 0x9c8d0000, serverIsn: 0x3b4a0000 });
  second.handshake();
  second.pause(1_200).send('client', mllp(oru('CMS0000311', '20250130110505')));
  second.close('client');
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

export const evasionScenarios: DetectionScenario[] = [
  {
    file: 'evasion-reused-tuple.pcap',
    description: `an LPD queue query from the monitor to ${SITE.externalHl7}:515 that never closes, then 5 s later a new connection on the same 5-tuple (new ISN, no FIN or RST between) carrying an HL7 ORU^R01`,
    expected: {
      alerts: { '1000002': 1 },
      why: 'the SYN far outside the first connection\'s window ends its flow (reason tcp_reuse) and starts a new one: 1000002 for the HL7 result to an external host on 515; the first connection is LPD, so no 1000006',
    },
    build: reusedTuple,
  },
];
