/**
 * Hosts outside the hospital reaching its CMS8000 monitors (rule 1000007, CVE-2024-12248): over
 * UDP after the monitor's own traffic showed what it is, over TCP before it did, a monitor known
 * only from the hospital's monitors list, and the quiet case of an outside client reaching a
 * server that is no monitor.
 */
import { concat, LINKTYPE, pcapFile } from '../craft/index.js';
import { JANE_DOE, placeMonitorSession, RICHARD_ROE } from './cms8000.js';
import { clockAt, RTT, SITE, TcpSession, Timeline, UdpExchange, type Endpoint } from './network.js';
import type { DetectionScenario } from './scenario.js';

/** The monitors list the listed-monitor sample is replayed with (a file in pcaps/). */
export const WARD3_MONITORS = 'pcaps/ward3-monitors.txt';

/** A probe's datagrams: the same oversized, repetitive payload three times, unanswered. */
function placeUdpProbe(timeline: Timeline, client: Endpoint, server: Endpoint): void {
  const probe = new UdpExchange(timeline, { client, server, rtt: RTT.internet, clientIpId: 0x3b10, serverIpId: 0 });
  const payload = concat(Buffer.from([0x7e, 0x01, 0xff, 0xff]), Buffer.alloc(1200, 0x41));
  for (let i = 0; i < 3; i++) probe.send('client', payload, i === 0 ? 0 : 2_000_000);
}

/** A short TCP conversation: handshake, a request, an answer, the client closes. */
function placeTcpVisit(timeline: Timeline, client: Endpoint, server: Endpoint, request: Buffer, answer: Buffer): void {
  const s = new TcpSession(timeline, { client, server, rtt: RTT.internet, clientIsn: 0x51c0ffee, serverIsn: 0x0badf00d });
  s.handshake();
  s.pause(1500).send('client', request);
  s.pause(900).send('server', answer);
  s.pause(200_000).close('client');
}

function capture(start: [number, number], place: (timeline: Timeline) => void): Buffer {
  const timeline = new Timeline(clockAt(...start));
  place(timeline);
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

const toCentral = (ip: string, port: number) => ({ client: { ip, port }, server: { ip: SITE.central, port: 515 }, rtt: RTT.lan, rounds: 2 });

export const monitorScenarios: DetectionScenario[] = [
  {
    file: 'monitor-inbound-udp.pcap',
    description: `CMS8000 monitor ${SITE.monitor} streams to its central station ${SITE.central}:515; then ${SITE.attacker} sends three 1,204-byte datagrams to UDP port 5000 of the monitor`,
    expected: {
      alerts: { '1000007': 1 },
      why: `the monitor is the client of a CMS8000 flow, so it is a monitor; a UDP flow from an outside host to it (1000007, severity 1 for UDP), once however many datagrams; the stream to the central station stays inside HOME_NET`,
    },
    build: () =>
      capture([12, 5], (timeline) => {
        placeMonitorSession(timeline, { ...toCentral(SITE.monitor, 40402), patient: JANE_DOE });
        timeline.idle(5_000_000);
        placeUdpProbe(timeline, { ip: SITE.attacker, port: 41234 }, { ip: SITE.monitor, port: 5000 });
      }),
  },
  {
    file: 'monitor-inbound-tcp-before.pcap',
    description: `${SITE.attacker} connects to TCP port 8080 of ${SITE.monitorBed14}, sends 24 bytes and gets 16 back; 20 s later ${SITE.monitorBed14} streams CMS8000 blocks to its central station ${SITE.central}:515`,
    expected: {
      alerts: { '1000007': 1 },
      why: `the inbound TCP flow comes before anything shows ${SITE.monitorBed14} is a monitor; once its CMS8000 stream identifies it, the inbound flow alerts (1000007, severity 2 for TCP) with its own time and a note that the monitor was identified later`,
    },
    build: () =>
      capture([12, 15], (timeline) => {
        placeTcpVisit(timeline, { ip: SITE.attacker, port: 50122 }, { ip: SITE.monitorBed14, port: 8080 }, Buffer.from('0123456789abcdef01234567', 'hex'), Buffer.alloc(16, 0x5a));
        timeline.idle(20_000_000);
        placeMonitorSession(timeline, { ...toCentral(SITE.monitorBed14, 51880), patient: RICHARD_ROE });
      }),
  },
  {
    file: 'monitor-listed-inbound-udp.pcap',
    description: `${SITE.attacker} sends three datagrams to UDP port 5000 of ${SITE.monitorBed16}, which sends nothing itself; replayed with --monitors ${WARD3_MONITORS}, which lists it`,
    expected: {
      alerts: { '1000007': 1 },
      why: `${SITE.monitorBed16} is a monitor only by the hospital's list (${WARD3_MONITORS}); the UDP flow from outside to it alerts at once (1000007, severity 1), its note naming the list's line. Without the list nothing fires`,
      args: ['--monitors', WARD3_MONITORS],
    },
    build: () => capture([12, 25], (timeline) => placeUdpProbe(timeline, { ip: SITE.attacker, port: 41236 }, { ip: SITE.monitorBed16, port: 5000 })),
  },
  {
    file: 'inbound-to-server-not-monitor.pcap',
    description: `CMS8000 monitor ${SITE.monitor} streams to its central station; ${SITE.attacker} asks the patient portal ${SITE.portal}:80 for its home page and is redirected`,
    expected: {
      alerts: {},
      why: `the portal is reached from outside but is no monitor: it never spoke CMS8000 and no list names it, so 1000007 stays quiet; the monitor's stream stays inside HOME_NET`,
    },
    build: () =>
      capture([12, 35], (timeline) => {
        placeMonitorSession(timeline, { ...toCentral(SITE.monitor, 40404), patient: JANE_DOE });
        timeline.idle(3_000_000);
        placeTcpVisit(timeline, { ip: SITE.attacker, port: 50124 }, { ip: SITE.portal, port: 80 }, Buffer.from('GET / HTTP/1.1\r\nHost: portal.example.org\r\n\r\n'), Buffer.from('HTTP/1.1 302 Found\r\nLocation: https://portal.example.org/\r\nContent-Length: 0\r\n\r\n'));
      }),
  },
];
