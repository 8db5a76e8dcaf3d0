/**
 * The CMS8000 monitor's central-station stream on TCP 515: to the backdoor address, to another
 * address of its /24, to the hospital's own central station, and connection attempts a firewall
 * swallows.
 */
import {
  CMS8000_BLOCK,
  cms8000Bed,
  cms8000Block,
  cms8000Patient,
  cms8000Telemetry,
  concat,
  ipv4,
  LINKTYPE,
  pcapFile,
  tcp,
  tcpOption,
  type Cms8000PatientFields,
} from '../craft/index.js';
import { clockAt, frame, RTT, SITE, TcpSession, Timeline, type Endpoint } from './network.js';
import type { DetectionScenario } from './scenario.js';

export const JANE_DOE: Cms8000PatientFields = {
  department: 'ICU 3',
  bed: 12,
  name: 'DOE^JANE',
  patientNumber: 'MRN123456',
  admitDate: { year: 2025, month: 1, day: 28 },
  heightCm: 165,
  weight: 62,
  birthDate: { year: 1970, month: 1, day: 1 },
  bloodType: 1,
  doctor: 'SMITH^JOHN',
};

export const RICHARD_ROE: Cms8000PatientFields = {
  department: 'ICU 3',
  bed: 14,
  name: 'ROE^RICHARD',
  patientNumber: 'MRN654321',
  admitDate: { year: 2025, month: 1, day: 29 },
  heightCm: 181,
  weight: 88,
  birthDate: { year: 1958, month: 7, day: 14 },
  bloodType: 3,
  doctor: 'JONES^MARY',
};

/** Waveform samples of one lead: a baseline with a beat every 90 samples, shifted per lead. */
function waveform(lead: number, round: number, count = 125): Buffer {
  const b = Buffer.alloc(count);
  for (let i = 0; i < count; i++) {
    const t = (round * count + i + lead * 7) % 90;
    b[i] = t === 30 ? 0xd8 : t === 31 ? 0x40 : t === 29 || t === 32 ? 0x90 : 0x80 + ((t * 3) % 5);
  }
  return b;
}

/** One telemetry burst: the four leads (0x14..0x17) in one write. */
function telemetryBurst(round: number): Buffer {
  return concat(...[0x14, 0x15, 0x16, 0x17].map((lead) => cms8000Telemetry(lead, waveform(lead, round))));
}

const SYNC = cms8000Block(CMS8000_BLOCK.sync);

export interface MonitorStreamOptions {
  client: Endpoint;
  server: Endpoint;
  rtt: number;
  patient: Cms8000PatientFields;
  rounds: number;
}

/** The monitor's session of monitorStream, placed on a time line other conversations share. */
export function placeMonitorSession(timeline: Timeline, opts: MonitorStreamOptions): void {
  const s = new TcpSession(timeline, { client: opts.client, server: opts.server, rtt: opts.rtt, clientIsn: 0x1f3a9c01, serverIsn: 0x8e21d4f7 });
  s.handshake();
  s.pause(1800).send('client', concat(cms8000Bed(opts.patient.bed), cms8000Patient(opts.patient)));
  s.pause(1200).send('server', SYNC);
  for (let round = 0; round < opts.rounds; round++) {
    s.pause(500_000).send('client', round % 2 === 1 ? concat(telemetryBurst(round), SYNC) : telemetryBurst(round));
  }
  s.pause(40_000).send('client', cms8000Block(CMS8000_BLOCK.empty));
  s.pause(300_000).close('client');
}

/**
 * The monitor's session: bed and patient blocks, the station's sync, then a telemetry burst
 * every half second with a sync every second, an empty block, and the monitor closes.
 */
function monitorStream(opts: MonitorStreamOptions & { start: [number, number] }): Buffer {
  const timeline = new Timeline(clockAt(...opts.start));
  placeMonitorSession(timeline, opts);
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

/**
 * SYNs to the backdoor that a firewall drops: each attempt retransmits its SYN after 1, 2, 4
 * and 8 seconds (Linux's doubling timer), and the monitor tries again from a new port.
 */
function blockedRetries(): Buffer {
  const timeline = new Timeline(clockAt(11, 5));
  const attempts = 4;
  const backoffs = [1_000_000, 2_000_000, 4_000_000, 8_000_000];
  let ipId = 0x2c40;
  let tsVal = 0x0019a3f2; // the monitor's millisecond TCP timestamp clock
  for (let a = 0; a < attempts; a++) {
    const sport = 40330 + a * 3;
    const isn = (0x6b1e2000 + a * 0x01357911) >>> 0;
    for (let attempt = 0; attempt <= backoffs.length; attempt++) {
      const wait = attempt === 0 ? (a === 0 ? 0 : 6_000_000) : backoffs[attempt - 1];
      tsVal += wait / 1000;
      const options = [tcpOption.mss(1460), tcpOption.sackPermitted(), tcpOption.timestamps(tsVal, 0), tcpOption.nop(), tcpOption.windowScale(7)];
      const syn = tcp({ sport, dport: 515, seq: isn, flags: 'S', window: 64240, options });
      const packet = ipv4({ src: SITE.monitor, dst: SITE.backdoor, id: ipId++, ttl: 64, df: true }, syn);
      timeline.idle(wait);
      timeline.add('client', frame(SITE.monitor, SITE.backdoor, packet), RTT.china);
    }
  }
  return pcapFile({ linkType: LINKTYPE.ETHERNET }, timeline.records);
}

export const cms8000Scenarios: DetectionScenario[] = [
  {
    file: 'cms8000-to-indicator.pcap',
    description: `CMS8000 monitor ${SITE.monitor} streams bed, patient (DOE^JANE, MRN123456), 4-lead telemetry and sync blocks to ${SITE.backdoor}:515; the far end answers with a sync block`,
    expected: {
      alerts: { '1000001': 1, '1000002': 1 },
      why: `one TCP flow with ${SITE.backdoor}, an exact indicator (1000001, severity 1); CMS8000 blocks from the hospital to an outside host on port 515 (1000002); 1000006 stays quiet because 1000002 fired on the flow`,
    },
    build: () =>
      monitorStream({ client: { ip: SITE.monitor, port: 40312 }, server: { ip: SITE.backdoor, port: 515 }, rtt: RTT.china, patient: JANE_DOE, rounds: 4, start: [10, 15] }),
  },
  {
    file: 'cms8000-indicator-cidr.pcap',
    description: `CMS8000 monitor ${SITE.monitorBed14} streams bed, patient (ROE^RICHARD) and telemetry blocks to ${SITE.backdoorBlock}:515, inside 202.114.4.0/24 but not a listed address`,
    expected: {
      alerts: { '1000001': 1, '1000002': 1 },
      why: `one TCP flow with ${SITE.backdoorBlock}, covered only by the 202.114.4.0/24 indicator (1000001, severity 2); CMS8000 blocks to an outside host on 515 (1000002)`,
    },
    build: () =>
      monitorStream({ client: { ip: SITE.monitorBed14, port: 51877 }, server: { ip: SITE.backdoorBlock, port: 515 }, rtt: RTT.china, patient: RICHARD_ROE, rounds: 2, start: [10, 40] }),
  },
  {
    file: 'cms8000-internal-central.pcap',
    description: `CMS8000 monitor ${SITE.monitor} streams the same blocks to the hospital's own central station ${SITE.central}:515`,
    expected: {
      alerts: {},
      why: 'both ends are inside HOME_NET and neither is an indicator: the monitor talking to its own central station is what it is for',
    },
    build: () =>
      monitorStream({ client: { ip: SITE.monitor, port: 40388 }, server: { ip: SITE.central, port: 515 }, rtt: RTT.lan, patient: JANE_DOE, rounds: 4, start: [10, 50] }),
  },
  {
    file: 'cms8000-external-6000.pcap',
    description: `CMS8000 monitor ${SITE.monitorBed15} streams bed, patient (DOE^JANE) and telemetry blocks to ${SITE.externalCms}:6000, outside the hospital and no indicator`,
    expected: {
      alerts: { '1000003': 1 },
      why: `CMS8000 blocks from the hospital to an outside host on a port other than 515 (1000003 rev 2, severity 2); no indicator (1000001), not 515 (1000002), not 515-520 (1000006)`,
    },
    build: () =>
      monitorStream({ client: { ip: SITE.monitorBed15, port: 40520 }, server: { ip: SITE.externalCms, port: 6000 }, rtt: RTT.internet, patient: JANE_DOE, rounds: 2, start: [12, 45] }),
  },
  {
    file: 'blocked-indicator-retry.pcap',
    description: `Monitor ${SITE.monitor} tries ${SITE.backdoor}:515 from 4 source ports over 78 s; each SYN is retransmitted after 1, 2, 4 and 8 s and never answered`,
    expected: {
      alerts: { '1000001': 4 },
      why: `four flows (one per source port) with the indicator ${SITE.backdoor}, one alert each however many SYNs (1000001 fires once per flow); no payload, so nothing else`,
    },
    build: blockedRetries,
  },
];
