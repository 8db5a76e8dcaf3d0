/**
 * End-to-end helpers for the command line: runs the built `wardwatch` as a user does (a child
 * process, pipes rather than a terminal), parses its EVE output, and crafts small captures with
 * recognisable fake patient data.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Clock,
  cms8000Bed,
  cms8000Patient,
  cms8000Telemetry,
  concat,
  ethernet,
  hl7Message,
  ipv4,
  LINKTYPE,
  macFor,
  MOUNT_MNT,
  mllp,
  mountPathArgs,
  PcapWriter,
  RPC_PROGRAM,
  rpcCall,
  TcpConversation,
  udp,
  type CaptureRecord,
} from '../../tools/craft/index.js';
import { launcherNodeFlags } from '../../tools/launcher-flags.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The built command line, as `npm test` leaves it and the package's `bin` names it. */
export const CLI_MAIN = join(REPO_ROOT, 'dist/bin/wardwatch.js');
/** The V8 flags its launcher starts Node with: a child started as `node CLI_MAIN` is given them too. */
export const CLI_NODE_FLAGS: readonly string[] = launcherNodeFlags();

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Bytes piped to standard input; otherwise stdin is closed at once. */
  stdin?: Uint8Array;
  cwd?: string;
  timeoutMs?: number;
  /** Closes the reading end of stdout at once, as `| head` does once it has what it wants. */
  closeStdout?: boolean;
}

/**
 * Runs `node dist/bin/wardwatch.js ...args` with stdout, stderr and stdin as pipes (never a terminal)
 * and an environment free of colour and CI switches, and collects what it wrote and its exit code.
 */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  if (!existsSync(CLI_MAIN)) {
    throw new Error(`${CLI_MAIN} is missing: build first with "npx tsc -p tsconfig.build.json" (npm test does)`);
  }
  const env = { ...process.env };
  for (const key of ['CI', 'FORCE_COLOR', 'NO_COLOR', 'NODE_OPTIONS', 'NODE_V8_COVERAGE']) delete env[key];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...CLI_NODE_FLAGS, CLI_MAIN, ...args], { cwd: options.cwd ?? REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    // A command that exits before reading its input closes the pipe; that is not a test failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin === undefined ? undefined : Buffer.from(options.stdin));
  });
}

export type EveRecord = Record<string, any>;

/** Every non-empty line as JSON; a line that does not parse fails with the line quoted. */
export function parseEveLines(text: string): EveRecord[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as EveRecord;
      } catch {
        throw new Error(`not a JSON line: ${JSON.stringify(line.slice(0, 200))}`);
      }
    });
}

export function ofType(records: readonly EveRecord[], eventType: string): EveRecord[] {
  return records.filter((r) => r.event_type === eventType);
}

/** Text as a regular expression that matches it literally. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Non-empty lines. */
export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

// ---------------------------------------------------------------------------------------------
// Temporary files

export interface TempDir {
  path: string;
  file(name: string, content: string | Uint8Array): string;
  remove(): void;
}

export function tempDir(prefix = 'wardwatch-cli-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    file(name, content) {
      const full = join(path, name);
      writeFileSync(full, content);
      return full;
    },
    remove() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Addresses and fake patient data

export const HOST = {
  /** A monitor inside the default HOME_NET. */
  monitor: '10.20.30.40',
  /** The hospital's own HL7 interface engine. */
  engine: '10.20.1.5',
  /** An outside host that is no indicator. */
  external: '198.51.100.23',
  /** An outside host a user's own indicator list names. */
  userIndicator: '198.51.100.77',
  /** The CMS8000 backdoor address of the shipped indicator list. */
  backdoor: '202.114.4.119',
} as const;

/**
 * Synthetic patient data, each string distinctive enough that finding it anywhere in the output
 * means patient data leaked.
 */
export const FAKE_PATIENT = {
  hl7Name: 'DOE^JANE',
  hl7Mrn: 'MRN123456',
  hl7BirthDate: '19700101',
  hl7ObxNumeric: '118.6',
  hl7ObxText: 'Dizziness after fall',
  cmsName: 'ROE^RICHARD',
  cmsNumber: 'PN7734219',
  cmsDoctor: 'JONES^MARY',
} as const;

export const HL7_PHI = [FAKE_PATIENT.hl7Name, FAKE_PATIENT.hl7Mrn, FAKE_PATIENT.hl7BirthDate, FAKE_PATIENT.hl7ObxNumeric, FAKE_PATIENT.hl7ObxText];
export const CMS8000_PHI = [FAKE_PATIENT.cmsName, FAKE_PATIENT.cmsNumber, FAKE_PATIENT.cmsDoctor];

/** An ORU^R01 vital-signs result for the fake patient. */
export function oruMessage(controlId = 'CTL0001'): string {
  return hl7Message([
    `MSH|^~\\&|MONITOR|ICU3^BED12|CENTRAL|GENERAL HOSPITAL|20250130100000||ORU^R01|${controlId}|P|2.3`,
    `PID|1||${FAKE_PATIENT.hl7Mrn}^^^GENERAL^MR||${FAKE_PATIENT.hl7Name}||${FAKE_PATIENT.hl7BirthDate}|F`,
    'OBR|1|||VITALS^Vital signs|||20250130100000',
    `OBX|1|NM|8480-6^Systolic blood pressure^LN||${FAKE_PATIENT.hl7ObxNumeric}|mm[Hg]|90-160||||F`,
    `OBX|2|ST|8661-1^Chief complaint^LN||${FAKE_PATIENT.hl7ObxText}||||||F`,
  ]);
}

/** 2025-01-30 10:00:00 UTC. */
export const T0 = 1738231200;

// ---------------------------------------------------------------------------------------------
// Conversations

export interface FlowOptions {
  client?: string;
  clientPort?: number;
  server?: string;
  serverPort?: number;
  /** Seconds after T0 at which the first packet is sent. */
  startSec?: number;
  mss?: number;
}

function conversation(o: FlowOptions, defaults: { client: string; clientPort: number; server: string; serverPort: number }): TcpConversation {
  return new TcpConversation({
    client: { ip: o.client ?? defaults.client, port: o.clientPort ?? defaults.clientPort },
    server: { ip: o.server ?? defaults.server, port: o.serverPort ?? defaults.serverPort },
    clock: new Clock(T0 + (o.startSec ?? 0)),
    gapMicros: 1000,
    mss: o.mss,
  });
}

/**
 * The monitor sends one MLLP-framed ORU^R01 to HOST.external:515 (by default) and closes. With the
 * default MSS the packets are: 1-3 handshake, 4 the message, 5 its ACK, 6-8 the close.
 */
export function hl7Flow(o: FlowOptions = {}): CaptureRecord[] {
  const c = conversation(o, { client: HOST.monitor, clientPort: 40422, server: HOST.external, serverPort: 515 });
  return c.handshake().send('client', mllp(oruMessage())).close('client').records;
}

/**
 * The monitor's central-station stream: a bed block and the fake patient's block (packet 4), and
 * a telemetry block (packet 6), to HOST.backdoor:515 by default.
 */
export function cms8000Flow(o: FlowOptions = {}): CaptureRecord[] {
  const c = conversation(o, { client: HOST.monitor, clientPort: 40312, server: HOST.backdoor, serverPort: 515 });
  const patient = cms8000Patient({
    department: 'ICU 3',
    bed: 14,
    name: FAKE_PATIENT.cmsName,
    patientNumber: FAKE_PATIENT.cmsNumber,
    admitDate: { year: 2025, month: 1, day: 29 },
    heightCm: 181,
    weight: 88,
    birthDate: { year: 1958, month: 7, day: 14 },
    bloodType: 3,
    doctor: FAKE_PATIENT.cmsDoctor,
  });
  const samples = Buffer.alloc(64, 0x80);
  return c.handshake().send('client', concat(cms8000Bed(14), patient)).send('client', cms8000Telemetry(0x14, samples)).close('client').records;
}

/** A TCP connection with no payload: handshake and close (6 packets). */
export function emptyTcpFlow(o: FlowOptions = {}): CaptureRecord[] {
  const c = conversation(o, { client: HOST.monitor, clientPort: 41000, server: HOST.external, serverPort: 443 });
  return c.handshake().close('client').records;
}

/** One UDP datagram: a MOUNT v3 MNT call of `path` from the monitor to `server` (mountd). */
export function mountCallUdp(o: { server?: string; path?: string; startSec?: number } = {}): CaptureRecord[] {
  const server = o.server ?? HOST.external;
  const call = rpcCall(
    { xid: 0x4e1f0101, program: RPC_PROGRAM.MOUNT, version: 3, procedure: MOUNT_MNT, auth: { stamp: T0, machineName: 'monitor', uid: 0, gid: 0, gids: [0] } },
    mountPathArgs(o.path ?? '/pm'),
  );
  const packet = ipv4({ src: HOST.monitor, dst: server, id: 0x1b00, ttl: 64 }, udp({ sport: 1021, dport: 20048 }, call));
  const clock = new Clock(T0 + (o.startSec ?? 0));
  const t = clock.advance(500);
  return [{ sec: t.sec, nsec: t.nsec, data: ethernet({ src: macFor(HOST.monitor), dst: macFor(server) }, packet) }];
}

/** MLLP's end of message: the packet carrying it completes an HL7 message. */
export const MLLP_END = Buffer.from([0x1c, 0x0d]);

/** 1-based number of the first record whose frame ends with `tail` (frames are not padded), or 0. */
export function packetEndingWith(records: readonly CaptureRecord[], tail: Uint8Array): number {
  const i = records.findIndex((r) => Buffer.from(r.data).subarray(-tail.length).equals(tail));
  return i + 1;
}

/** Records of several conversations, in timestamp order. */
export function merge(...flows: CaptureRecord[][]): CaptureRecord[] {
  return flows.flat().sort((a, b) => a.sec - b.sec || a.nsec - b.nsec);
}

/** A classic Ethernet pcap (microsecond timestamps) of the records. */
export function pcapOf(records: readonly CaptureRecord[]): Buffer {
  return new PcapWriter({ linkType: LINKTYPE.ETHERNET }).addAll(records).toBuffer();
}

/** An EVE timestamp computed here, independently of the product: UTC, microseconds, +0000. */
export function expectedEveTime(record: Pick<CaptureRecord, 'sec' | 'nsec'>): string {
  const d = new Date(record.sec * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  const date = `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`;
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${date}T${time}.${String(Math.floor(record.nsec / 1000)).padStart(6, '0')}+0000`;
}

/** The text output's time: UTC to the second with a Z. */
export function expectedTextTime(record: Pick<CaptureRecord, 'sec'>): string {
  return expectedEveTime({ sec: record.sec, nsec: 0 }).slice(0, 19).replace('T', ' ') + 'Z';
}
