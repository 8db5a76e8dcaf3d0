/**
 * What the analyzers report. Fields that can hold patient data live only under `phi`, which an
 * analyzer fills only in the `full` evidence mode.
 */
import type { AppProto, Direction } from './analyzer.js';

interface EventBase {
  readonly proto: AppProto;
  readonly dir: Direction;
}

/** One HL7 v2 message (or batch header) seen in a flow. */
export interface Hl7MessageEvent extends EventBase {
  readonly type: 'hl7.message';
  readonly framing: 'mllp' | 'bare';
  /** MSH-9.1 and MSH-9.2, e.g. ORU and R01 ('' when absent). */
  readonly messageType: string;
  readonly triggerEvent: string;
  /** MSH-10, MSH-12, MSH-3, MSH-4. */
  readonly controlId: string;
  readonly version: string;
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  /** Segment ids in order, e.g. ['MSH', 'PID', 'OBR', 'OBX']. */
  readonly segments: readonly string[];
  /** The segment ids present that carry patient identity (PID, NK1, PV1, IN1, GT1, ...). */
  readonly identitySegments: readonly string[];
  /** Message length in bytes, framing excluded. */
  readonly length: number;
  /** Full evidence mode only: the message text. */
  readonly phi?: { readonly text: string };
}

/** Once per flow, when a run of well-formed CMS8000 blocks makes the protocol certain. */
export interface Cms8000DetectedEvent extends EventBase {
  readonly type: 'cms8000.detected';
  /** Distinct block types seen so far. */
  readonly blockTypes: readonly number[];
}

/** A CMS8000 patient information block (type 0x3E). */
export interface Cms8000PatientEvent extends EventBase {
  readonly type: 'cms8000.patient';
  readonly length: number;
  readonly phi?: {
    readonly department: string;
    readonly bed: number;
    readonly name: string;
    readonly patientNumber: string;
    readonly admitDate: string;
    readonly heightCm: number;
    readonly weight: number;
    readonly birthDate: string;
    readonly bloodType: number;
    readonly doctor: string;
  };
}

/** At the end of a CMS8000 flow: how many blocks of each type were seen. */
export interface Cms8000SummaryEvent extends EventBase {
  readonly type: 'cms8000.summary';
  readonly blockCounts: Readonly<Record<string, number>>;
  readonly patientBlocks: number;
}

/** An LPD daemon command or receive-job subcommand (RFC 1179). */
export interface LpdCommandEvent extends EventBase {
  readonly type: 'lpd.command';
  /** 'print-jobs', 'receive-job', 'queue-state-short', 'queue-state-long', 'remove-jobs', 'abort-job', 'receive-control-file', 'receive-data-file'. */
  readonly command: string;
  readonly code: number;
  readonly queue?: string;
}

/** A flow that the LPD analyzer is sure does not speak LPD, and what its first bytes look like. */
export interface NotLpdEvent extends EventBase {
  readonly type: 'lpd.not_lpd';
  readonly looksLike: 'text' | 'binary';
}

export interface RpcAuth {
  /** 'none', 'unix', 'short', 'des', 'gss' or 'flavor-N'. */
  readonly flavor: string;
  readonly machineName?: string;
  readonly uid?: number;
  readonly gid?: number;
}

export interface RpcCallEvent extends EventBase {
  readonly type: 'rpc.call';
  readonly xid: number;
  readonly program: number;
  /** 'portmap', 'mount', 'nfs', 'nlockmgr', ... or the number as text. */
  readonly programName: string;
  readonly version: number;
  readonly procedure: number;
  /** 'GETPORT', 'MNT', 'LOOKUP', 'COMPOUND', ... or the number as text. */
  readonly procedureName: string;
  readonly auth: RpcAuth;
}

export interface RpcReplyEvent extends EventBase {
  readonly type: 'rpc.reply';
  readonly xid: number;
  /** From the matched call; -1 when the call was not seen. */
  readonly program: number;
  readonly version: number;
  readonly procedure: number;
  /** 'success', 'prog_unavail', 'denied', ... */
  readonly status: string;
}

/** A portmap GETPORT / rpcbind GETADDR answer: where a program listens. */
export interface PortmapMappingEvent extends EventBase {
  readonly type: 'portmap.mapping';
  readonly program: number;
  readonly version: number;
  readonly transport: 'tcp' | 'udp';
  readonly port: number;
}

export interface MountCallEvent extends EventBase {
  readonly type: 'mount.call';
  readonly xid: number;
  readonly version: number;
  /** 'MNT', 'UMNT', 'UMNTALL', 'EXPORT', 'DUMP', 'NULL'. */
  readonly procedure: string;
  /** The export path of MNT and UMNT. */
  readonly path?: string;
}

export interface MountReplyEvent extends EventBase {
  readonly type: 'mount.reply';
  readonly xid: number;
  readonly version: number;
  readonly procedure: string;
  /** MNT status: 0 is success. */
  readonly status: number;
  /** Hex of the file handle a successful MNT returned. */
  readonly fileHandle?: string;
}

export interface NfsCallEvent extends EventBase {
  readonly type: 'nfs.call';
  readonly xid: number;
  readonly version: number;
  /** Procedure name (v2/v3) or 'COMPOUND' (v4). */
  readonly procedure: string;
  /** NFSv4 COMPOUND operation names, in order. */
  readonly operations?: readonly string[];
}

/** First evidence that an NFS session works (v2/v3 call answered, or v4 PUTROOTFH/LOOKUP). */
export interface NfsSessionEvent extends EventBase {
  readonly type: 'nfs.session';
  readonly version: number;
}

export type AppEvent =
  | Hl7MessageEvent
  | Cms8000DetectedEvent
  | Cms8000PatientEvent
  | Cms8000SummaryEvent
  | LpdCommandEvent
  | NotLpdEvent
  | RpcCallEvent
  | RpcReplyEvent
  | PortmapMappingEvent
  | MountCallEvent
  | MountReplyEvent
  | NfsCallEvent
  | NfsSessionEvent;
