/** What the ONC RPC analyzer and its program decoders (portmap, MOUNT, NFS) report. */
import type { EventBase } from '../protocol.js';

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

export type RpcEvent =
  | RpcCallEvent
  | RpcReplyEvent
  | PortmapCallEvent
  | PortmapMappingEvent
  | MountCallEvent
  | MountReplyEvent
  | NfsCallEvent
  | NfsSessionEvent;
