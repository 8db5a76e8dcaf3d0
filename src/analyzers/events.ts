/**
 * What the analyzers report. Fields that can hold patient data live only under `phi`, which an
 * analyzer fills only in the `full` evidence mode.
 */
import type { AppProto, Direction } from './analyzer.js';

interface EventBase {
  readonly proto: AppProto;
  readonly dir: Direction;
}

/**
 * One HL7 v2 message (or batch header) seen in a flow. A batch header event has `segments`
 * starting with FHS or BHS, empty messageType/triggerEvent/version, and takes controlId,
 * sendingApplication and sendingFacility from FHS-11/FHS-3/FHS-4 (or BHS-11/-3/-4). In the
 * `none` evidence mode controlId, sendingApplication and sendingFacility are ''.
 */
export interface Hl7MessageEvent extends EventBase {
  readonly type: 'hl7.message';
  readonly framing: 'mllp' | 'bare';
  /** MSH-9.1 and MSH-9.2, e.g. ORU and R01 ('' when absent). */
  readonly messageType: string;
  readonly triggerEvent: string;
  /** MSH-10, MSH-12, MSH-3, MSH-4 (MSH-3/4 whole, components included, at most 128 characters). */
  readonly controlId: string;
  readonly version: string;
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  /** Segment ids in order, e.g. ['MSH', 'PID', 'OBR', 'OBX'] (the first 1024 of a message). */
  readonly segments: readonly string[];
  /** The segment ids present that carry patient identity (PID, NK1, PV1, IN1, GT1, ...). */
  readonly identitySegments: readonly string[];
  /** Message length in bytes, framing excluded (bytes seen, for a truncated message). */
  readonly length: number;
  /**
   * The message was not seen to its end: larger than the size cap, cut by the end of the flow,
   * or broken by bytes that are not HL7.
   */
  readonly truncated?: true;
  /** Full evidence mode only: the message text (up to the size cap). */
  readonly phi?: { readonly text: string };
}

/**
 * Once per flow, when a run of well-formed CMS8000 blocks makes the protocol certain; `dir` is
 * the direction that completed the run. In the `none` evidence mode only the type is set.
 */
export interface Cms8000DetectedEvent extends EventBase {
  readonly type: 'cms8000.detected';
  /** Distinct block types seen so far in either direction, ascending. */
  readonly blockTypes?: readonly number[];
  /** Full evidence mode only: the patient block seen before detection, if any. */
  readonly phi?: Cms8000PatientEvent['phi'];
}

/** A CMS8000 patient information block (type 0x3E). */
export interface Cms8000PatientEvent extends EventBase {
  readonly type: 'cms8000.patient';
  /** Body length in bytes (absent in the `none` evidence mode). */
  readonly length?: number;
  /** Full evidence mode only, and only when no bytes of the fields were lost to a capture gap. */
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

/**
 * At the end of a detected CMS8000 flow: how many blocks of each type were seen, both directions
 * together; `dir` is the direction that was detected. In the `none` evidence mode only the type is set.
 */
export interface Cms8000SummaryEvent extends EventBase {
  readonly type: 'cms8000.summary';
  /** Keyed by block type as '0x' and two upper-case hex digits, e.g. '0x46', '0x3E'. */
  readonly blockCounts?: Readonly<Record<string, number>>;
  readonly patientBlocks?: number;
  /** Blocks with an impossible header or a wrong fixed body head; each bad header starts a resync. */
  readonly malformedBlocks?: number;
  /** Bytes passed over while resynchronising after a malformed header or a capture gap. */
  readonly skippedBytes?: number;
}

/** An LPD daemon command or receive-job subcommand (RFC 1179); queue and size are absent in the `none` evidence mode. */
export interface LpdCommandEvent extends EventBase {
  readonly type: 'lpd.command';
  /** 'print-jobs', 'receive-job', 'queue-state-short', 'queue-state-long', 'remove-jobs', 'abort-job', 'receive-control-file', 'receive-data-file'. */
  readonly command: string;
  readonly code: number;
  /** The queue named by the daemon command (for subcommands: the queue of the job being received). */
  readonly queue?: string;
  /** Receive control/data file: the announced byte count (a data file's 0 means "until the connection ends"). */
  readonly size?: number;
}

/** A flow that the LPD analyzer is sure does not speak LPD, and what its first bytes look like. */
export interface NotLpdEvent extends EventBase {
  readonly type: 'lpd.not_lpd';
  readonly looksLike: 'text' | 'binary';
}

/** RPC credentials. AUTH_UNIX details are left out in the `none` evidence mode. */
export interface RpcAuth {
  /** 'none', 'unix', 'short', 'des', 'gss', 'tls' or 'flavor-N'. */
  readonly flavor: string;
  readonly stamp?: number;
  readonly machineName?: string;
  readonly uid?: number;
  readonly gid?: number;
  /** AUTH_UNIX supplementary groups. */
  readonly gids?: readonly number[];
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
  /**
   * Accepted: 'success', 'prog_unavail', 'prog_mismatch', 'proc_unavail', 'garbage_args',
   * 'system_err' or 'accept-N'. Rejected: 'denied'.
   */
  readonly status: string;
  /** Why a denied reply was denied: 'rpc_mismatch' or an auth_stat such as 'auth_badcred'. */
  readonly denial?: string;
}

/** A portmap (v2) or rpcbind (v3, v4) call: what the client asks the binder. */
export interface PortmapCallEvent extends EventBase {
  readonly type: 'portmap.call';
  readonly xid: number;
  /** 2 portmap, 3 or 4 rpcbind. */
  readonly version: number;
  /** 'GETPORT', 'GETADDR', 'DUMP', 'CALLIT', 'SET', ... or the number as text. */
  readonly procedure: string;
  /** The program asked about, registered or called through the binder. */
  readonly program?: number;
  readonly programVersion?: number;
  /** Transport of the mapping asked for, when it is TCP or UDP. */
  readonly transport?: 'tcp' | 'udp';
  /** rpcbind network id as sent ('tcp', 'udp6', 'local', ...). */
  readonly netid?: string;
  /** CALLIT / BCAST / INDIRECT: the procedure called through the binder. */
  readonly calledProcedure?: number;
}

/**
 * Where a program listens: a portmap GETPORT / rpcbind GETADDR answer (also reported for CALLIT
 * answers and each entry of a DUMP list). Only GETPORT, GETADDR and CALLIT answers register an
 * expectation with the flow layer.
 */
export interface PortmapMappingEvent extends EventBase {
  readonly type: 'portmap.mapping';
  readonly program: number;
  readonly version: number;
  readonly transport: 'tcp' | 'udp';
  readonly port: number;
  /** Which answer taught it: 'getport', 'getaddr', 'callit' or 'dump'. */
  readonly source?: 'getport' | 'getaddr' | 'callit' | 'dump';
  /** rpcbind universal address as sent, e.g. '10.0.0.5.3.235' (not in the `none` evidence mode). */
  readonly address?: string;
}

export interface MountCallEvent extends EventBase {
  readonly type: 'mount.call';
  readonly xid: number;
  readonly version: number;
  /** 'MNT', 'UMNT', 'UMNTALL', 'EXPORT', 'DUMP', 'NULL'. */
  readonly procedure: string;
  /** The export path of MNT and UMNT (not in the `none` evidence mode). */
  readonly path?: string;
}

export interface MountReplyEvent extends EventBase {
  readonly type: 'mount.reply';
  readonly xid: number;
  readonly version: number;
  readonly procedure: string;
  /** MNT status: 0 is success (always 0 for the procedures whose result carries none). */
  readonly status: number;
  /** Hex of the file handle a successful MNT returned (not in the `none` evidence mode). */
  readonly fileHandle?: string;
  /** MOUNT v3 MNT: the auth flavors the server accepts for this export (not in the `none` mode). */
  readonly authFlavors?: readonly number[];
  /** EXPORT: the exported directories (not in the `none` evidence mode). */
  readonly exports?: readonly string[];
}

export interface NfsCallEvent extends EventBase {
  readonly type: 'nfs.call';
  readonly xid: number;
  readonly version: number;
  /** Procedure name (v2/v3) or 'COMPOUND' (v4). */
  readonly procedure: string;
  /** NFSv4 COMPOUND minor version. */
  readonly minorVersion?: number;
  /** NFSv4 COMPOUND operation names, in order (cut short where the arguments could not be read). */
  readonly operations?: readonly string[];
}

/**
 * First evidence that an NFS session works (v2/v3 call answered, or v4 PUTROOTFH/LOOKUP/EXCHANGE_ID/
 * CREATE_SESSION answered). Once per flow.
 */
export interface NfsSessionEvent extends EventBase {
  readonly type: 'nfs.session';
  readonly version: number;
  readonly minorVersion?: number;
  /**
   * True when no reply was visible (one-sided capture): inferred from several distinct calls that
   * a client only makes once it holds working file handles.
   */
  readonly inferredFromCalls?: boolean;
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
  | PortmapCallEvent
  | PortmapMappingEvent
  | MountCallEvent
  | MountReplyEvent
  | NfsCallEvent
  | NfsSessionEvent;
