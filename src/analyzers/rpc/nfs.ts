/**
 * NFS v2 (RFC 1094), v3 (RFC 1813) and v4.x COMPOUND (RFC 7530, 8881, 7862, 8276), program 100003.
 * Calls are named; v4 COMPOUND arguments are walked just far enough to list the operations.
 * File data (READ/WRITE) is never looked at.
 *
 * `nfs.session` is reported once per flow, on the first evidence that the mount works:
 * - v2/v3: a reply with NFS status OK to any procedure but NULL (and v2's void ROOT/WRITECACHE);
 * - v4: a COMPOUND holding PUTROOTFH, LOOKUP, EXCHANGE_ID or CREATE_SESSION answered NFS4_OK.
 * When the capture shows only the client's side (a one-way SPAN), no reply will ever come. A
 * client cannot get far without answers (each LOOKUP needs the previous reply's handle, and
 * retransmissions reuse their xid), so distinct non-NULL calls on a flow where the server was
 * never heard stand for a working mount: CALLS_ONLY_AT_END of them when the flow ends, or
 * CALLS_ONLY_MIDWAY while it goes on (more than a client sends before a first reply when the
 * reply is merely late). The session is then reported with `inferredFromCalls`.
 */
import type { Direction } from '../analyzer.js';
import type { RpcCallInfo, RpcProgramDecoder, RpcSink } from './analyzer.js';
import type { XdrReader } from './xdr.js';

export const NFS_PROGRAM = 100003;

/** Distinct non-NULL calls, with the server never heard, that stand for a working mount. */
export const CALLS_ONLY_AT_END = 3;
export const CALLS_ONLY_MIDWAY = 8;
/** COMPOUNDs longer than this are listed up to this many operations. */
const MAX_LISTED_OPS = 128;

const NFS2_PROCS = [
  'NULL', 'GETATTR', 'SETATTR', 'ROOT', 'LOOKUP', 'READLINK', 'READ', 'WRITECACHE', 'WRITE', 'CREATE',
  'REMOVE', 'RENAME', 'LINK', 'SYMLINK', 'MKDIR', 'RMDIR', 'READDIR', 'STATFS',
];
const NFS3_PROCS = [
  'NULL', 'GETATTR', 'SETATTR', 'LOOKUP', 'ACCESS', 'READLINK', 'READ', 'WRITE', 'CREATE', 'MKDIR',
  'SYMLINK', 'MKNOD', 'REMOVE', 'RMDIR', 'RENAME', 'LINK', 'READDIR', 'READDIRPLUS', 'FSSTAT', 'FSINFO',
  'PATHCONF', 'COMMIT',
];
const NFS4_PROCS = ['NULL', 'COMPOUND'];

/** nfs_opnum4, from ACCESS (3) to REMOVEXATTR (75). */
const NFS4_OPS = [
  '', '', '', 'ACCESS', 'CLOSE', 'COMMIT', 'CREATE', 'DELEGPURGE', 'DELEGRETURN', 'GETATTR', 'GETFH',
  'LINK', 'LOCK', 'LOCKT', 'LOCKU', 'LOOKUP', 'LOOKUPP', 'NVERIFY', 'OPEN', 'OPENATTR', 'OPEN_CONFIRM',
  'OPEN_DOWNGRADE', 'PUTFH', 'PUTPUBFH', 'PUTROOTFH', 'READ', 'READDIR', 'READLINK', 'REMOVE', 'RENAME',
  'RENEW', 'RESTOREFH', 'SAVEFH', 'SECINFO', 'SETATTR', 'SETCLIENTID', 'SETCLIENTID_CONFIRM', 'VERIFY',
  'WRITE', 'RELEASE_LOCKOWNER', 'BACKCHANNEL_CTL', 'BIND_CONN_TO_SESSION', 'EXCHANGE_ID',
  'CREATE_SESSION', 'DESTROY_SESSION', 'FREE_STATEID', 'GET_DIR_DELEGATION', 'GETDEVICEINFO',
  'GETDEVICELIST', 'LAYOUTCOMMIT', 'LAYOUTGET', 'LAYOUTRETURN', 'SECINFO_NO_NAME', 'SEQUENCE',
  'SET_SSV', 'TEST_STATEID', 'WANT_DELEGATION', 'DESTROY_CLIENTID', 'RECLAIM_COMPLETE', 'ALLOCATE',
  'COPY', 'COPY_NOTIFY', 'DEALLOCATE', 'IO_ADVISE', 'LAYOUTERROR', 'LAYOUTSTATS', 'OFFLOAD_CANCEL',
  'OFFLOAD_STATUS', 'READ_PLUS', 'SEEK', 'WRITE_SAME', 'CLONE', 'GETXATTR', 'SETXATTR', 'LISTXATTRS',
  'REMOVEXATTR',
];
const OP_ILLEGAL = 10044;

const enum Op {
  Access = 3, Close, Commit, Create, DelegPurge, DelegReturn, GetAttr, GetFh, Link, Lock, LockT, LockU,
  Lookup, LookupP, NVerify, Open, OpenAttr, OpenConfirm, OpenDowngrade, PutFh, PutPubFh, PutRootFh,
  Read, ReadDir, ReadLink, Remove, Rename, Renew, RestoreFh, SaveFh, SecInfo, SetAttr, SetClientId,
  SetClientIdConfirm, Verify, Write, ReleaseLockOwner, BackchannelCtl, BindConnToSession, ExchangeId,
  CreateSession, DestroySession, FreeStateId, GetDirDelegation, GetDeviceInfo, GetDeviceList,
  LayoutCommit, LayoutGet, LayoutReturn, SecInfoNoName, Sequence, SetSsv, TestStateId, WantDelegation,
  DestroyClientId, ReclaimComplete, Allocate, Copy, CopyNotify, Deallocate, IoAdvise, LayoutError,
  LayoutStats, OffloadCancel, OffloadStatus, ReadPlus, Seek, WriteSame, Clone, GetXattr, SetXattr,
  ListXattrs, RemoveXattr,
}

function procedureTable(version: number): readonly string[] | undefined {
  return version === 2 ? NFS2_PROCS : version === 3 ? NFS3_PROCS : version === 4 ? NFS4_PROCS : undefined;
}

export function nfsProcedureName(version: number, procedure: number): string {
  return procedureTable(version)?.[procedure] ?? String(procedure);
}

export function nfs4OperationName(op: number): string {
  if (op === OP_ILLEGAL) return 'ILLEGAL';
  return (op < NFS4_OPS.length && NFS4_OPS[op]) || `OP_${op}`;
}

interface NfsCallState {
  /** v4: the COMPOUND holds an operation whose success proves a working session. */
  readonly sessionOps: boolean;
  readonly minorVersion?: number;
}

const PLAIN_CALL: NfsCallState = { sessionOps: false };

export class NfsDecoder implements RpcProgramDecoder {
  private sessionReported = false;
  /** Distinct calls made while the server was never heard (at most CALLS_ONLY_MIDWAY). */
  private readonly unansweredXids = new Set<number>();
  private lastUnanswered: { dir: Direction; version: number; minorVersion?: number } | undefined;

  constructor(private readonly sink: RpcSink) {}

  procedureName(version: number, procedure: number): string {
    return nfsProcedureName(version, procedure);
  }

  call(call: RpcCallInfo, args: XdrReader): NfsCallState {
    const table = procedureTable(call.version);
    if (table === undefined) this.sink.programAnomaly('nfs.unknown_version');
    else if (call.procedure >= table.length) this.sink.programAnomaly('nfs.unknown_procedure');
    let state = PLAIN_CALL;
    if (call.version === 4 && call.procedure === 1) {
      args.skipOpaque(); // tag
      const minorVersion = args.u32();
      if (args.ok) {
        const operations = readOperations(args);
        const sessionOps = operations.some(
          (op) => op === 'PUTROOTFH' || op === 'LOOKUP' || op === 'EXCHANGE_ID' || op === 'CREATE_SESSION',
        );
        state = { sessionOps, minorVersion };
        this.sink.emit({
          type: 'nfs.call', proto: 'nfs', dir: call.dir, xid: call.xid, version: 4,
          procedure: 'COMPOUND', minorVersion, operations,
        });
      } else {
        this.sink.emit({ type: 'nfs.call', proto: 'nfs', dir: call.dir, xid: call.xid, version: 4, procedure: 'COMPOUND' });
      }
    } else {
      this.sink.emit({
        type: 'nfs.call', proto: 'nfs', dir: call.dir, xid: call.xid, version: call.version,
        procedure: nfsProcedureName(call.version, call.procedure),
      });
    }
    this.inferFromCalls(call, state);
    return state;
  }

  reply(call: RpcCallInfo, state: NfsCallState, results: XdrReader, dir: Direction): void {
    if (this.sessionReported || !answersForSession(call, state)) return;
    const status = results.u32(); // nfsstat / nfsstat4 leads every result that counts
    if (results.ok && status === 0) this.reportSession(dir, call.version, state.minorVersion, false);
  }

  /** The flow is over: a client that made enough unanswered progress had a working mount. */
  end(): void {
    const last = this.lastUnanswered;
    if (!this.sessionReported && last && this.unansweredXids.size >= CALLS_ONLY_AT_END && !this.sink.heard(otherDir(last.dir))) {
      this.reportSession(last.dir, last.version, last.minorVersion, true);
    }
  }

  private inferFromCalls(call: RpcCallInfo, state: NfsCallState): void {
    if (this.sessionReported || call.procedure === 0 || this.sink.heard(otherDir(call.dir))) return;
    if (call.version < 2 || call.version > 4) return;
    this.unansweredXids.add(call.xid);
    this.lastUnanswered = { dir: call.dir, version: call.version, minorVersion: state.minorVersion };
    if (this.unansweredXids.size >= CALLS_ONLY_MIDWAY) {
      this.unansweredXids.clear();
      this.reportSession(call.dir, call.version, state.minorVersion, true);
    }
  }

  private reportSession(dir: Direction, version: number, minorVersion: number | undefined, inferred: boolean): void {
    this.sessionReported = true;
    this.sink.emit({
      type: 'nfs.session',
      proto: 'nfs',
      dir,
      version,
      ...(minorVersion !== undefined && { minorVersion }),
      ...(inferred && { inferredFromCalls: true }),
    });
  }
}

const otherDir = (dir: Direction): Direction => (dir === 0 ? 1 : 0);

function answersForSession(call: RpcCallInfo, state: NfsCallState): boolean {
  const { version, procedure } = call;
  if (version === 2) return procedure !== 0 && procedure !== 3 && procedure !== 7 && procedure < NFS2_PROCS.length;
  if (version === 3) return procedure !== 0 && procedure < NFS3_PROCS.length;
  if (version === 4) return procedure === 1 && state.sessionOps;
  return false;
}

/** Operation names of a COMPOUND's argarray; stops at the first operation whose arguments cannot be walked. */
function readOperations(r: XdrReader): string[] {
  const count = r.u32();
  const ops: string[] = [];
  for (let i = 0; i < count && i < MAX_LISTED_OPS && r.ok; i++) {
    const op = r.u32();
    if (!r.ok) break;
    ops.push(nfs4OperationName(op));
    if (!skipOperationArgs(op, r)) break;
  }
  return ops;
}

// Skippers for the argument types shared by several operations.
const stateid = (r: XdrReader) => r.skip(16);
const bitmap = (r: XdrReader) => r.skip(4 * r.count());
const fattr = (r: XdrReader) => {
  bitmap(r);
  r.skipOpaque();
};
const lockOwner = (r: XdrReader) => {
  r.skip(8);
  r.skipOpaque();
};
const nfstime = (r: XdrReader) => r.skip(12);

function authsysParms(r: XdrReader): void {
  r.skip(4); // stamp
  r.skipOpaque(); // machine name
  r.skip(8); // uid, gid
  r.skip(4 * r.count());
}

function callbackSecParms(r: XdrReader): void {
  const n = r.count();
  for (let i = 0; i < n && r.ok; i++) {
    const flavor = r.u32();
    if (flavor === 1) authsysParms(r);
    else if (flavor === 6) {
      r.skip(4);
      r.skipOpaque();
      r.skipOpaque();
    } else if (flavor !== 0) r.fail();
  }
}

function netaddr(r: XdrReader): void {
  r.skipOpaque();
  r.skipOpaque();
}

function netloc(r: XdrReader): void {
  const type = r.u32();
  if (type === 1 || type === 2) r.skipOpaque();
  else if (type === 3) netaddr(r);
  else r.fail();
}

function openClaim(r: XdrReader, claim: number): void {
  switch (claim) {
    case 0: // CLAIM_NULL
    case 3: // CLAIM_DELEGATE_PREV
      r.skipOpaque();
      return;
    case 1: // CLAIM_PREVIOUS
      r.skip(4);
      return;
    case 2: // CLAIM_DELEGATE_CUR
      stateid(r);
      r.skipOpaque();
      return;
    case 5: // CLAIM_DELEG_CUR_FH
      stateid(r);
      return;
    case 4: // CLAIM_FH
    case 6: // CLAIM_DELEG_PREV_FH
      return;
    default:
      r.fail();
  }
}

function stateProtect(r: XdrReader): void {
  const how = r.u32();
  if (how === 0) return;
  bitmap(r);
  bitmap(r);
  if (how === 1) return;
  if (how !== 2) return r.fail();
  for (let list = 0; list < 2; list++) {
    const n = r.count();
    for (let i = 0; i < n && r.ok; i++) r.skipOpaque();
  }
  r.skip(8);
}

function channelAttrs(r: XdrReader): void {
  r.skip(24);
  r.skip(4 * r.count());
}

/**
 * Steps over one operation's arguments. False for an operation number it does not know (its
 * arguments cannot be skipped); truncation shows up as a fault on the reader.
 */
function skipOperationArgs(op: number, r: XdrReader): boolean {
  switch (op) {
    case Op.GetFh: case Op.LookupP: case Op.PutPubFh: case Op.PutRootFh: case Op.ReadLink:
    case Op.RestoreFh: case Op.SaveFh: case OP_ILLEGAL:
      return true;
    case Op.Access: case Op.OpenAttr: case Op.SecInfoNoName: case Op.ReclaimComplete:
      r.skip(4);
      return true;
    case Op.DelegPurge: case Op.Renew: case Op.DestroyClientId:
      r.skip(8);
      return true;
    case Op.Commit:
      r.skip(12);
      return true;
    case Op.DelegReturn: case Op.FreeStateId: case Op.DestroySession: case Op.OffloadCancel: case Op.OffloadStatus:
    case Op.SetClientIdConfirm:
      r.skip(16);
      return true;
    case Op.Close: case Op.OpenConfirm:
      r.skip(20);
      return true;
    case Op.Read: case Op.ReadPlus: case Op.OpenDowngrade: case Op.Seek:
      r.skip(28);
      return true;
    case Op.Allocate: case Op.Deallocate: case Op.Sequence:
      r.skip(32);
      return true;
    case Op.LockU:
      r.skip(40);
      return true;
    case Op.Clone:
      r.skip(56);
      return true;
    case Op.GetAttr:
      bitmap(r);
      return true;
    case Op.Link: case Op.Lookup: case Op.Remove: case Op.SecInfo: case Op.PutFh: case Op.GetXattr: case Op.RemoveXattr:
      r.skipOpaque();
      return true;
    case Op.Rename:
      r.skipOpaque();
      r.skipOpaque();
      return true;
    case Op.NVerify: case Op.Verify:
      fattr(r);
      return true;
    case Op.SetAttr:
      stateid(r);
      fattr(r);
      return true;
    case Op.Create: {
      const type = r.u32();
      if (type === 5) r.skipOpaque(); // NF4LNK: link target
      else if (type === 3 || type === 4) r.skip(8); // NF4BLK, NF4CHR: specdata
      r.skipOpaque(); // objname
      fattr(r);
      return true;
    }
    case Op.Lock: {
      r.skip(24); // locktype, reclaim, offset, length
      if (r.bool()) {
        r.skip(4);
        stateid(r);
        r.skip(4);
        lockOwner(r);
      } else {
        stateid(r);
        r.skip(4);
      }
      return true;
    }
    case Op.LockT:
      r.skip(20);
      lockOwner(r);
      return true;
    case Op.Open: {
      r.skip(12); // seqid, share_access, share_deny
      lockOwner(r); // open_owner4 has the same shape
      if (r.u32() === 1) {
        const mode = r.u32();
        if (mode === 0 || mode === 1) fattr(r);
        else if (mode === 2) r.skip(8);
        else if (mode === 3) {
          r.skip(8);
          fattr(r);
        } else r.fail();
      }
      openClaim(r, r.u32());
      return true;
    }
    case Op.ReadDir:
      r.skip(24);
      bitmap(r);
      return true;
    case Op.SetClientId:
      r.skip(8);
      r.skipOpaque();
      r.skip(4);
      netaddr(r);
      r.skip(4);
      return true;
    case Op.Write:
      r.skip(28);
      r.skipOpaque(); // the data: skipped by length, never read
      return true;
    case Op.ReleaseLockOwner:
      lockOwner(r);
      return true;
    case Op.BackchannelCtl:
      r.skip(4);
      callbackSecParms(r);
      return true;
    case Op.BindConnToSession:
      r.skip(24);
      return true;
    case Op.ExchangeId: {
      r.skip(8);
      r.skipOpaque(); // co_ownerid
      r.skip(4); // flags
      stateProtect(r);
      const impls = r.count();
      for (let i = 0; i < impls && r.ok; i++) {
        r.skipOpaque();
        r.skipOpaque();
        nfstime(r);
      }
      return true;
    }
    case Op.CreateSession:
      r.skip(16); // clientid, sequence, flags
      channelAttrs(r);
      channelAttrs(r);
      r.skip(4); // cb_program
      callbackSecParms(r);
      return true;
    case Op.GetDirDelegation:
      r.skip(4);
      bitmap(r);
      nfstime(r);
      nfstime(r);
      bitmap(r);
      bitmap(r);
      return true;
    case Op.GetDeviceInfo:
      r.skip(24);
      bitmap(r);
      return true;
    case Op.GetDeviceList:
      r.skip(24);
      return true;
    case Op.LayoutCommit:
      r.skip(20);
      stateid(r);
      if (r.bool()) r.skip(8);
      if (r.bool()) nfstime(r);
      r.skip(4);
      r.skipOpaque();
      return true;
    case Op.LayoutGet:
      r.skip(36);
      stateid(r);
      r.skip(4);
      return true;
    case Op.LayoutReturn:
      r.skip(12);
      if (r.u32() === 1) {
        r.skip(16);
        stateid(r);
        r.skipOpaque();
      }
      return true;
    case Op.SetSsv:
      r.skipOpaque();
      r.skipOpaque();
      return true;
    case Op.TestStateId:
      r.skip(16 * r.count(undefined, 16));
      return true;
    case Op.WantDelegation: {
      r.skip(4);
      const claim = r.u32();
      if (claim === 1) r.skip(4);
      else if (claim !== 4 && claim !== 6) r.fail();
      return true;
    }
    case Op.Copy: {
      r.skip(16 + 16 + 24 + 8);
      const n = r.count();
      for (let i = 0; i < n && r.ok; i++) netloc(r);
      return true;
    }
    case Op.CopyNotify:
      stateid(r);
      netloc(r);
      return true;
    case Op.IoAdvise:
      r.skip(32);
      bitmap(r);
      return true;
    case Op.LayoutError:
      r.skip(32);
      r.skip(24 * r.count(undefined, 24));
      return true;
    case Op.LayoutStats:
      r.skip(32 + 32 + 16 + 4);
      r.skipOpaque();
      return true;
    case Op.WriteSame:
      r.skip(20 + 44);
      r.skipOpaque();
      return true;
    case Op.SetXattr:
      r.skip(4);
      r.skipOpaque();
      r.skipOpaque();
      return true;
    case Op.ListXattrs:
      r.skip(12);
      return true;
    default:
      return false;
  }
}
