/**
 * Application payloads of the benchmark capture: HTTP, DNS, syslog, HL7 over MLLP, LPD jobs,
 * the CMS8000 central-station stream and the ONC RPC calls of an NFS mount. All synthetic.
 */
import {
  CMS8000_BLOCK,
  cms8000Bed,
  cms8000Block,
  cms8000Patient,
  cms8000Telemetry,
  concat,
  dnsQuery,
  dnsResponse,
  hl7Message,
  LPD,
  lpdCommand,
  lpdFile,
  lpdFileHeader,
  mllp,
  MOUNT_MNT,
  mountPathArgs,
  mountV3MntResult,
  PORTMAP_GETPORT,
  portmapGetportArgs,
  portmapGetportResult,
  RPC_PROGRAM,
  rpcCall,
  rpcReply,
  type Prng,
} from '../craft/index.js';

/** Printable text for HTTP bodies, syslog lines and print jobs: a fixed pool sliced at random. */
export function textPool(rng: Prng, size: number): Buffer {
  const words = ['patient', 'ward', 'order', 'result', 'status', 'ok', 'device', 'session', 'update', 'value', 'null', 'true', 'id', 'time', 'unit', 'bed', 'queue', 'job'];
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    const w = rng.pick(words);
    const sep = rng.pick([' ', ' ', '": "', '", "', '\n', ':', '=']);
    parts.push(w, sep);
    length += w.length + sep.length;
  }
  return Buffer.from(parts.join('').slice(0, size), 'latin1');
}

export function slice(pool: Buffer, rng: Prng, length: number): Buffer {
  const start = rng.int(0, pool.length - length - 1);
  return pool.subarray(start, start + length);
}

export function httpRequest(host: string, path: string, body?: Buffer): Buffer {
  const method = body === undefined ? 'GET' : 'POST';
  const head = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ward-client/2.4\r\nAccept: application/json\r\n` + (body === undefined ? '\r\n' : `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
  return body === undefined ? Buffer.from(head, 'latin1') : concat(head, body);
}

export function httpResponse(body: Buffer): Buffer {
  return concat(`HTTP/1.1 200 OK\r\nServer: intranet\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, body);
}

const DNS_NAMES = ['pacs.hospital.local', 'ehr.hospital.local', 'time.hospital.local', 'update.vendor.example', 'login.microsoftonline.com', 'api.vendor.example', 'ocsp.digicert.com', 'mail.hospital.local'];

export function dnsExchange(rng: Prng): { query: Buffer; answer: Buffer } {
  const opts = { id: rng.int(0, 0xffff), name: rng.pick(DNS_NAMES) };
  return { query: dnsQuery(opts), answer: dnsResponse({ ...opts, address: `10.1.${rng.int(0, 20)}.${rng.int(2, 250)}` }) };
}

export function syslogLine(rng: Prng, host: string, text: Buffer): Buffer {
  const app = rng.pick(['sshd', 'kernel', 'infusion-gw', 'nurse-call', 'badge']);
  return concat(`<${rng.int(128, 191)}>Jan 30 10:${String(rng.int(0, 59)).padStart(2, '0')}:00 ${host} ${app}[${rng.int(100, 9999)}]: `, slice(text, rng, rng.int(40, 260)));
}

/** An ORU^R01 vital-signs result of a synthetic patient and its application ACK, framed in MLLP. */
export function hl7Exchange(rng: Prng, n: number): { message: Buffer; ack: Buffer } {
  const id = `LAB${String(n).padStart(7, '0')}`;
  const time = `202501301${rng.int(0, 9)}${String(rng.int(0, 59)).padStart(2, '0')}00`;
  const message = hl7Message([
    `MSH|^~\\&|LAB|GENERAL HOSPITAL|EHR|GENERAL HOSPITAL|${time}||ORU^R01|${id}|P|2.5`,
    `PID|1||MRN${rng.int(100000, 999999)}^^^GENERAL^MR||TEST^PATIENT${rng.int(1, 999)}||19800101|U`,
    `PV1|1|I|WARD${rng.int(1, 9)}^${rng.int(1, 30)}^1`,
    `OBR|1|||PANEL^Basic panel|||${time}`,
    ...Array.from({ length: rng.int(2, 12) }, (_, i) => `OBX|${i + 1}|NM|2345-7^Glucose^LN||${rng.int(60, 200)}|mg/dL|70-110||||F`),
  ]);
  const ack = hl7Message([`MSH|^~\\&|EHR|GENERAL HOSPITAL|LAB|GENERAL HOSPITAL|${time}||ACK^R01|A${id}|P|2.5`, `MSA|AA|${id}`]);
  return { message: mllp(message), ack: mllp(ack) };
}

/** RFC 1179 receive-job exchange: each client line or file is answered by one zero octet. */
export function lpdJob(rng: Prng, text: Buffer, jobNumber: number, host: string): Buffer[] {
  const job = String(jobNumber % 1000).padStart(3, '0');
  const control = Buffer.from(`H${host}\nPnurse\nldfA${job}${host}\nNlabel.txt\n`, 'latin1');
  const data = slice(text, rng, rng.int(1_500, 30_000));
  return [
    lpdCommand(LPD.receiveJob, 'ward-printer'),
    lpdFileHeader(LPD.receiveControlFile, control.length, `cfA${job}${host}`),
    lpdFile(control),
    lpdFileHeader(LPD.receiveDataFile, data.length, `dfA${job}${host}`),
    lpdFile(data),
  ];
}

export const LPD_ACK = Buffer.from([0]);

/** A synthetic patient of the monitor stream. */
function syntheticPatient(bed: number): Buffer {
  return cms8000Patient({
    department: 'ICU 3',
    bed,
    name: `TEST^PATIENT${bed}`,
    patientNumber: `MRN9${String(bed).padStart(5, '0')}`,
    admitDate: { year: 2025, month: 1, day: 28 },
    heightCm: 170,
    weight: 70,
    birthDate: { year: 1970, month: 1, day: 1 },
    bloodType: 1,
    doctor: 'DOCTOR^TEST',
  });
}

function telemetryBurst(round: number): Buffer {
  return concat(
    ...[0x14, 0x15, 0x16, 0x17].map((lead) => {
      const samples = Buffer.alloc(125);
      for (let i = 0; i < samples.length; i++) samples[i] = (round * 125 + i + lead * 7) % 90 === 30 ? 0xd8 : 0x80;
      return cms8000Telemetry(lead, samples);
    }),
  );
}

export interface CmsMessage {
  fromMonitor: boolean;
  data: Buffer;
}

/** The monitor's central-station session: bed and patient, the station's sync, telemetry, an empty block. */
export function cms8000Session(bed: number, rounds: number): CmsMessage[] {
  const sync = cms8000Block(CMS8000_BLOCK.sync);
  const out: CmsMessage[] = [
    { fromMonitor: true, data: concat(cms8000Bed(bed), syntheticPatient(bed)) },
    { fromMonitor: false, data: sync },
  ];
  for (let round = 0; round < rounds; round++) out.push({ fromMonitor: true, data: round % 2 === 1 ? concat(telemetryBurst(round), sync) : telemetryBurst(round) });
  out.push({ fromMonitor: true, data: cms8000Block(CMS8000_BLOCK.empty) });
  return out;
}

export const MOUNTD_PORT = 20048;

/** busybox `mount -t nfs host:/pm`: GETPORT for mountd v3 over UDP, then MNT of the export. */
export function nfsMountCalls(xid: number, exportPath: string): { getport: Buffer; getportReply: Buffer; mnt: Buffer; mntReply: Buffer } {
  const auth = { stamp: 1738231200, machineName: 'cms8000', uid: 0, gid: 0, gids: [0] };
  const handle = Buffer.from('01000701a1b2c3d4e5f60718293a4b5c6d7e8f9001020304', 'hex');
  return {
    getport: rpcCall({ xid, program: RPC_PROGRAM.PORTMAP, version: 2, procedure: PORTMAP_GETPORT }, portmapGetportArgs({ program: RPC_PROGRAM.MOUNT, version: 3, transport: 'udp' })),
    getportReply: rpcReply({ xid }, portmapGetportResult(MOUNTD_PORT)),
    mnt: rpcCall({ xid: xid + 1, program: RPC_PROGRAM.MOUNT, version: 3, procedure: MOUNT_MNT, auth }, mountPathArgs(exportPath)),
    mntReply: rpcReply({ xid: xid + 1 }, mountV3MntResult(handle, [1])),
  };
}
