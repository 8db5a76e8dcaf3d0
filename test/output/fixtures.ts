/** Hand-built alerts, flows and rules for the output tests, and the EVE schema validator. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';
import type { ErrorObject } from 'ajv';
import type { AppEvent } from '../../src/analyzers/events.js';
import { IPPROTO_TCP } from '../../src/decode/packet-view.js';
import { parseAddress } from '../../src/lib/ip-text.js';
import type { Alert, FlowRecord, IndicatorHit } from '../../src/detect/alert.js';
import type { CompiledRule } from '../../src/detect/rule.js';
import type { FlowEndReason } from '../../src/flow/flow.js';
import { Flow, TcpState } from '../../src/flow/flow.js';
import { EVE_EXTENSION_KEYS } from '../../src/output/eve.js';

export interface FlowSpec {
  client?: string;
  server?: string;
  clientPort?: number;
  serverPort?: number;
  proto?: number;
  vlans?: number[];
  appProto?: string;
  id?: number;
  startSec?: number;
  startNsec?: number;
  lastSec?: number;
  lastNsec?: number;
  packets?: [number, number];
  bytes?: [number, number];
  tcpFlags?: [number, number];
  tcpState?: Flow['tcpState'];
}

/** 2025-01-30T10:00:00Z */
export const T0 = 1738231200;

export function makeFlow(spec: FlowSpec = {}): Flow {
  const flow = new Flow();
  const client = parseAddress(spec.client ?? '10.1.2.3')!;
  const server = parseAddress(spec.server ?? '202.114.4.119')!;
  flow.id = spec.id ?? 1234567890123;
  flow.ipVersion = client.version;
  flow.proto = spec.proto ?? IPPROTO_TCP;
  for (let i = 0; i < 4; i++) {
    flow.addr[i] = client.words[i];
    flow.addr[i + 4] = server.words[i];
  }
  flow.clientPort = spec.clientPort ?? 40000;
  flow.serverPort = spec.serverPort ?? 515;
  const vlans = spec.vlans ?? [];
  vlans.forEach((id, i) => (flow.vlanIds[i] = id));
  flow.vlanCount = vlans.length;
  flow.startSec = spec.startSec ?? T0;
  flow.startNsec = spec.startNsec ?? 0;
  flow.lastSec = spec.lastSec ?? T0 + 5;
  flow.lastNsec = spec.lastNsec ?? 0;
  [flow.packetsToServer, flow.packetsToClient] = spec.packets ?? [10, 8];
  [flow.bytesToServer, flow.bytesToClient] = spec.bytes ?? [4000, 600];
  [flow.tcpFlagsToServer, flow.tcpFlagsToClient] = spec.tcpFlags ?? [0x1b, 0x1b];
  flow.tcpState = spec.tcpState ?? TcpState.Closed;
  flow.appProto = spec.appProto ?? '';
  return flow;
}

export function makeRule(overrides: Partial<CompiledRule> = {}): CompiledRule {
  return {
    id: 1000001,
    rev: 2,
    name: 'CMS8000 patient data to the LPD port',
    category: 'Patient data exposure',
    severity: 1,
    severityCidrOnly: null,
    references: ['cve,CVE-2025-0626', 'url,www.cisa.gov/news-events/ics-medical-advisories/icsma-25-030-01'],
    noteIndicatorInHomeNet: null,
    perFlow: 'once',
    at: 'event',
    protos: null,
    client: null,
    server: null,
    clientPort: null,
    serverPort: null,
    direction: -1,
    indicator: null,
    appProto: null,
    notAppProto: null,
    event: null,
    seen: null,
    unlessAlerted: null,
    unlessSeenBetweenHosts: null,
    serverRole: null,
    severityByProto: null,
    location: { file: 'rules/cms8000.yaml', line: 12, column: 5 },
    ...overrides,
  };
}

export function makeAlert(overrides: Partial<Alert> = {}): Alert {
  const rule = overrides.rule ?? makeRule();
  return {
    rule,
    flow: makeFlow(),
    dir: 0,
    tsSec: T0 + 1,
    tsNsec: 250_000_000,
    matches: 1,
    severity: rule.severity,
    event: null,
    indicator: null,
    note: null,
    captureFile: null,
    packetNumber: 0,
    interfaceName: null,
    ...overrides,
  };
}

export function makeFlowRecord(flow: Flow, reason: FlowEndReason = 'closed', ruleMatches: Array<[number, number]> = [], alerted = false): FlowRecord {
  return { flow, reason, ruleMatches: new Map(ruleMatches), alerted };
}

export const INDICATOR: IndicatorHit = {
  side: 'server',
  address: '202.114.4.119',
  indicator: '202.114.4.119',
  description: 'CMS8000 backdoor NFS server',
  source: 'CISA ICSMA-25-030-01',
  exact: true,
  inHomeNet: false,
};

/** Fake patient details: they may appear in output only in the full evidence mode. */
export const PATIENT_STRINGS = ['DOE^JANE', 'MRN123456', '19700101'];

const HL7_TEXT = 'MSH|^~\\&|MONITOR|WARD3|CIS|HOSP|20250130100000||ORU^R01|MSG00042|P|2.5\rPID|1||MRN123456||DOE^JANE||19700101|F\rOBX|1|NM|8867-4^Heart rate||72|/min';

/** One event of every kind the analyzers report, those that can carry patient data with it filled. */
export const EVENTS: Record<AppEvent['type'], AppEvent> = {
  'hl7.message': {
    type: 'hl7.message',
    proto: 'hl7',
    dir: 0,
    framing: 'mllp',
    messageType: 'ORU',
    triggerEvent: 'R01',
    controlId: 'MSG00042',
    version: '2.5',
    sendingApplication: 'MONITOR',
    sendingFacility: 'WARD3',
    segments: ['MSH', 'PID', 'OBX'],
    identitySegments: ['PID'],
    length: HL7_TEXT.length,
    phi: { text: HL7_TEXT },
  },
  'cms8000.detected': { type: 'cms8000.detected', proto: 'cms8000', dir: 0, blockTypes: [0x3e, 0x45, 0x46] },
  'cms8000.patient': {
    type: 'cms8000.patient',
    proto: 'cms8000',
    dir: 0,
    length: 0xad,
    phi: {
      department: 'ICU',
      bed: 4,
      name: 'DOE^JANE',
      patientNumber: 'MRN123456',
      admitDate: '20250129',
      heightCm: 170,
      weight: 65,
      birthDate: '19700101',
      bloodType: 1,
      doctor: 'SMITH',
    },
  },
  'cms8000.summary': {
    type: 'cms8000.summary',
    proto: 'cms8000',
    dir: 0,
    blockCounts: { '0x3E': 2, '0x45': 10, '0x46': 300 },
    patientBlocks: 2,
    malformedBlocks: 0,
    skippedBytes: 0,
  },
  'lpd.command': { type: 'lpd.command', proto: 'lpd', dir: 0, command: 'receive-job', code: 2, queue: 'lp' },
  'lpd.not_lpd': { type: 'lpd.not_lpd', proto: 'lpd', dir: 0, looksLike: 'binary' },
  'rpc.call': {
    type: 'rpc.call',
    proto: 'rpc',
    dir: 0,
    xid: 0x1234,
    program: 100005,
    programName: 'mount',
    version: 3,
    procedure: 1,
    procedureName: 'MNT',
    auth: { flavor: 'unix', stamp: 1, machineName: 'monitor-7', uid: 0, gid: 0, gids: [0] },
  },
  'rpc.reply': { type: 'rpc.reply', proto: 'rpc', dir: 1, xid: 0x1234, program: 100005, version: 3, procedure: 1, status: 'success' },
  'portmap.call': { type: 'portmap.call', proto: 'portmap', dir: 0, xid: 7, version: 2, procedure: 'GETPORT', program: 100005, programVersion: 3, transport: 'tcp' },
  'portmap.mapping': { type: 'portmap.mapping', proto: 'portmap', dir: 1, program: 100005, version: 3, transport: 'tcp', port: 635, source: 'getport' },
  'mount.call': { type: 'mount.call', proto: 'mount', dir: 0, xid: 8, version: 3, procedure: 'MNT', path: '/pm' },
  'mount.reply': { type: 'mount.reply', proto: 'mount', dir: 1, xid: 8, version: 3, procedure: 'MNT', status: 0, fileHandle: '0100070001', authFlavors: [1] },
  'nfs.call': { type: 'nfs.call', proto: 'nfs', dir: 0, xid: 9, version: 4, procedure: 'COMPOUND', minorVersion: 0, operations: ['PUTROOTFH', 'LOOKUP'] },
  'nfs.session': { type: 'nfs.session', proto: 'nfs', dir: 1, version: 4, minorVersion: 0 },
  'dicom.association': {
    type: 'dicom.association',
    proto: 'dicom',
    dir: 0,
    calledAeTitle: 'PACS_EXT',
    callingAeTitle: 'CT_SCANNER',
    abstractSyntaxes: ['CT Image Storage'],
    abstractSyntaxUids: ['1.2.840.10008.5.1.4.1.1.2'],
    transferSyntaxes: ['Explicit VR Little Endian'],
    applicationContext: '1.2.840.10008.3.1.1.1',
    implementationClassUid: '1.2.826.0.1.3680043.9.7433',
    implementationVersion: 'SCANNER_OS_4',
    maxPduLength: 16384,
  },
  'dicom.accepted': {
    type: 'dicom.accepted',
    proto: 'dicom',
    dir: 1,
    calledAeTitle: 'PACS_EXT',
    callingAeTitle: 'CT_SCANNER',
    abstractSyntaxes: ['CT Image Storage'],
    abstractSyntaxUids: ['1.2.840.10008.5.1.4.1.1.2'],
    transferSyntaxes: ['Explicit VR Little Endian'],
    acceptedContexts: 1,
    rejectedContexts: 0,
    maxPduLength: 16384,
  },
  'dicom.rejected': { type: 'dicom.rejected', proto: 'dicom', dir: 1, result: 'rejected-permanent', source: 'service-user', reason: 'called-ae-title-not-recognized' },
  'dicom.release': { type: 'dicom.release', proto: 'dicom', dir: 0, phase: 'request' },
  'dicom.abort': { type: 'dicom.abort', proto: 'dicom', dir: 1, source: 'service-provider', reason: 'unexpected-pdu' },
  'dicom.summary': {
    type: 'dicom.summary',
    proto: 'dicom',
    dir: 0,
    associations: 1,
    toServer: { pdus: 4, bytes: 9000, pdvs: 4, commandFragments: 1, datasetFragments: 3 },
    toClient: { pdus: 1, bytes: 120, pdvs: 1, commandFragments: 1, datasetFragments: 0 },
  },
};

// ---------------------------------------------------------------------------------------------
// Schema

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SCHEMA_PATH = resolve(ROOT, 'test/fixtures/eve-schema/eve-schema.json');

type Validate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

let validator: Validate | null = null;

/** Suricata's schema with wardwatch's documented extension keys allowed at the top level, nothing else relaxed. */
export function eveValidator(): Validate {
  if (validator) return validator;
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as { properties: Record<string, unknown>; $schema?: string };
  for (const key of EVE_EXTENSION_KEYS) {
    if (key in schema.properties) throw new Error(`extension key ${key} clashes with a Suricata key`);
    schema.properties[key] = { type: 'object' };
  }
  // The schema names no draft ($schema absent): Ajv's default, draft-07, reads it (with $defs).
  const Ajv = AjvModule as unknown as typeof AjvModule.default;
  // strictTypes only concerns how the schema is written (it omits some `type`s); data checks are unchanged.
  const ajv = new Ajv({ allErrors: true, strictTypes: false });
  // Annotations Suricata keeps in its schema (and one misspelt "description"): not validation keywords.
  ajv.addKeyword({ keyword: 'suricata' });
  ajv.addKeyword({ keyword: 'desription' });
  validator = ajv.compile(schema) as Validate;
  return validator;
}

/** The schema errors of a record, as readable text ('' when valid). */
export function schemaErrors(record: unknown): string {
  const validate = eveValidator();
  if (validate(record)) return '';
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`).join('\n');
}
