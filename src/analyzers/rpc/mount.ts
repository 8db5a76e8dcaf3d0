/**
 * MOUNT v1/v2 (RFC 1094 appendix A) and v3 (RFC 1813 appendix I), program 100005: which export
 * a client mounts, and the file handle the server grants for it.
 */
import type { Direction } from '../analyzer.js';
import type { RpcCallInfo, RpcProgramDecoder, RpcSink } from './analyzer.js';
import type { XdrReader } from './xdr.js';

export const MOUNT_PROGRAM = 100005;

const MNTPATHLEN = 1024;
const MNTNAMLEN = 255;
const FHSIZE = 32;
const FHSIZE3 = 64;
/** Bounds on lists copied into events. */
const MAX_EXPORTS = 64;
const MAX_GROUPS_PER_EXPORT = 256;
const MAX_AUTH_FLAVORS = 32;

const MOUNT_PROCS = ['NULL', 'MNT', 'DUMP', 'UMNT', 'UMNTALL', 'EXPORT', 'EXPORTALL', 'PATHCONF'];

const enum Proc {
  Mnt = 1,
  Umnt = 3,
  Export = 5,
  ExportAll = 6,
}

export function mountProcedureName(version: number, procedure: number): string {
  // EXPORTALL and PATHCONF exist only before v3.
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
    let path: string | undefined;
    if (call.procedure === Proc.Mnt || call.procedure === Proc.Umnt) {
      const p = args.string(MNTPATHLEN);
      if (args.ok) path = p;
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
        const handle = results.opaque(FHSIZE3);
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
          ...(evidence && handleOk && { fileHandle: toHex(handle) }),
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
        const dirPath = results.string(MNTPATHLEN);
        for (let g = 0; g < MAX_GROUPS_PER_EXPORT && results.bool(); g++) results.skipOpaque(MNTNAMLEN);
        if (!results.ok) break;
        exports.push(dirPath);
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
