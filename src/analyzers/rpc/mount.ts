/**
 * MOUNT v1/v2 (RFC 1094 appendix A) and v3 (RFC 1813 appendix I), program 100005: which export
 * a client mounts, and the file handle the server grants for it.
 *
 * A backdoor's server need not keep to the RFCs, so neither does the decoding: a MNT of any
 * version is read as one (every version's MNT takes the path first), paths, handles and export
 * names are read to the lengths they declare, and what breaks a limit (an unknown version or
 * procedure, a path over MNTPATHLEN) is counted as an anomaly, never a reason to look away.
 */
import type { Direction } from '../analyzer.js';
import type { RpcCallInfo, RpcProgramDecoder, RpcSink } from './analyzer.js';
import type { XdrReader } from './xdr.js';

const utf8 = new TextDecoder('utf-8');

export const MOUNT_PROGRAM = 100005;

const MNTPATHLEN = 1024;
const FHSIZE = 32;
/** Bounds on what is copied into events (the record cap already bounds what is read). */
const MAX_REPORTED_PATH = 4096;
const MAX_REPORTED_HANDLE = 128;
const MAX_EXPORTS = 64;
const MAX_AUTH_FLAVORS = 32;

const MOUNT_PROCS = ['NULL', 'MNT', 'DUMP', 'UMNT', 'UMNTALL', 'EXPORT', 'EXPORTALL', 'PATHCONF'];

const enum Proc {
  Mnt = 1,
  Umnt = 3,
  Export = 5,
  ExportAll = 6,
}

/** The last procedure of a version (EXPORTALL and PATHCONF exist only before v3); -1 for an unknown version. */
function lastProcedure(version: number): number {
  return version === 3 ? 5 : version === 1 || version === 2 ? 7 : -1;
}

/** An unknown version is named with the v1/v2 table, the widest: MNT is procedure 1 in all. */
export function mountProcedureName(version: number, procedure: number): string {
  const last = version === 3 ? 5 : 7;
  return procedure <= last ? MOUNT_PROCS[procedure] : String(procedure);
}

interface MountCallState {
  readonly procedure: number;
}

export class MountDecoder implements RpcProgramDecoder {
  constructor(private readonly sink: RpcSink) {}

  procedureName(version: number, procedure: number): string {
    return mountProcedureName(version, procedure);
  }

  call(call: RpcCallInfo, args: XdrReader): MountCallState {
    const last = lastProcedure(call.version);
    if (last < 0) this.sink.programAnomaly('mount.unknown_version');
    else if (call.procedure > last) this.sink.programAnomaly('mount.unknown_procedure');
    let path: string | undefined;
    if (call.procedure === Proc.Mnt || call.procedure === Proc.Umnt) {
      const bytes = args.opaque();
      if (args.ok) {
        if (bytes.length > MNTPATHLEN) this.sink.programAnomaly('mount.long_path');
        path = utf8.decode(bytes.subarray(0, MAX_REPORTED_PATH));
      }
    }
    const withPath = path !== undefined && this.sink.evidence !== 'none';
    this.sink.emit({
      type: 'mount.call',
      proto: 'mount',
      dir: call.dir,
      xid: call.xid,
      version: call.version,
      procedure: mountProcedureName(call.version, call.procedure),
      ...(withPath && { path }),
    });
    return { procedure: call.procedure };
  }

  reply(call: RpcCallInfo, _state: MountCallState, results: XdrReader, dir: Direction): void {
    const base = {
      type: 'mount.reply',
      proto: 'mount',
      dir,
      xid: call.xid,
      version: call.version,
      procedure: mountProcedureName(call.version, call.procedure),
    } as const;
    const evidence = this.sink.evidence !== 'none';

    if (call.procedure === Proc.Mnt) {
      const status = results.u32();
      if (!results.ok) return;
      if (status !== 0) {
        this.sink.emit({ ...base, status });
        return;
      }
      if (call.version === 3) {
        const handle = results.opaque();
        const handleOk = results.ok;
        const flavors: number[] = [];
        const n = results.u32();
        for (let i = 0; i < n && i < MAX_AUTH_FLAVORS && results.ok; i++) {
          const flavor = results.u32();
          if (results.ok) flavors.push(flavor);
        }
        this.sink.emit({
          ...base,
          status,
          ...(evidence && handleOk && { fileHandle: toHex(handle.subarray(0, MAX_REPORTED_HANDLE)) }),
          ...(evidence && results.ok && { authFlavors: flavors }),
        });
      } else {
        const handle = results.fixedOpaque(FHSIZE);
        this.sink.emit({ ...base, status, ...(evidence && results.ok && { fileHandle: toHex(handle) }) });
      }
      return;
    }

    if (call.procedure === Proc.Export || (call.procedure === Proc.ExportAll && call.version !== 3)) {
      const exports: string[] = [];
      for (let i = 0; i < MAX_EXPORTS && results.bool(); i++) {
        const dirPath = results.opaque();
        while (results.bool()) results.skipOpaque(); // each group takes 8 bytes or more: bounded by the record
        if (!results.ok) break;
        exports.push(utf8.decode(dirPath.subarray(0, MAX_REPORTED_PATH)));
      }
      this.sink.emit({ ...base, status: 0, ...(evidence && { exports }) });
      return;
    }

    this.sink.emit({ ...base, status: 0 });
  }
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}
