/**
 * Application payloads the sample captures carry: MLLP and HL7 v2, DNS, Contec CMS8000 blocks,
 * LPD, XDR and ONC RPC with portmap, MOUNT and NFS v3/v4 arguments and results.
 */
import { concat, ipv4Address, ipv6Address, isIPv6, toBuffer, u32be, type Payload } from './bytes.js';

/** HL7 minimal lower layer protocol: <VT> message <FS><CR>. */
export function mllp(message: Payload): Buffer {
  return concat(Buffer.from([0x0b]), message, Buffer.from([0x1c, 0x0d]));
}

function dnsName(name: string): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0);
  return concat(...labels.map((l) => concat(Buffer.from([l.length]), l)), Buffer.from([0]));
}

export interface DnsQueryOptions {
  id: number;
  name: string;
  /** 'A' or 'AAAA'. */
  type?: 'A' | 'AAAA';
}

const QTYPE = { A: 1, AAAA: 28 } as const;

/** A standard query with recursion desired. */
export function dnsQuery(opts: DnsQueryOptions): Buffer {
  const header = Buffer.from([opts.id >> 8, opts.id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return concat(header, dnsName(opts.name), Buffer.from([0, QTYPE[opts.type ?? 'A'], 0, 1]));
}

/** The answer to dnsQuery(opts): one A or AAAA record, named by a pointer to the question. */
export function dnsResponse(opts: DnsQueryOptions & { address: string; ttl?: number }): Buffer {
  const query = dnsQuery(opts);
  const header = Buffer.from(query.subarray(0, 12));
  header.writeUInt16BE(0x8180, 2); // response, recursion desired and available, no error
  header.writeUInt16BE(1, 6);
  const rdata = isIPv6(opts.address) ? ipv6Address(opts.address) : ipv4Address(opts.address);
  const answer = Buffer.alloc(12);
  answer.writeUInt16BE(0xc00c, 0);
  answer.writeUInt16BE(rdata.length === 16 ? QTYPE.AAAA : QTYPE.A, 2);
  answer.writeUInt16BE(1, 4);
  answer.writeUInt32BE(opts.ttl ?? 300, 6);
  answer.writeUInt16BE(rdata.length, 10);
  return concat(header, query.subarray(12), answer, rdata);
}

// ---------------------------------------------------------------------------------------------
// HL7 v2

/** Segments joined by CR, the HL7 v2 segment terminator, with the last one terminated too. */
export function hl7Message(segments: readonly string[]): string {
  return segments.join('\r') + '\r';
}

// ---------------------------------------------------------------------------------------------
// Contec CMS8000 central-station blocks: u16le length (marker + type + body), 0x05, type, body.

export const CMS8000_BLOCK = {
  patient: 0x3e,
  empty: 0x43,
  bed: 0x45,
  telemetry: 0x46,
  sync: 0x47,
  error: 0x49,
} as const;

export function cms8000Block(type: number, body: Payload = Buffer.alloc(0)): Buffer {
  const b = toBuffer(body);
  const header = Buffer.alloc(4);
  header.writeUInt16LE(2 + b.length, 0);
  header[2] = 0x05;
  header[3] = type;
  return concat(header, b);
}

/** Bed block: 00 00 bed FF. */
export function cms8000Bed(bed: number): Buffer {
  return cms8000Block(CMS8000_BLOCK.bed, Buffer.from([0, 0, bed, 0xff]));
}

/** Telemetry block: 00 00 lead 00 and the samples (lead 0x14..0x17). */
export function cms8000Telemetry(lead: number, samples: Payload): Buffer {
  return cms8000Block(CMS8000_BLOCK.telemetry, concat(Buffer.from([0, 0, lead, 0]), samples));
}

export interface Cms8000Date {
  year: number;
  month: number;
  day: number;
}

export interface Cms8000PatientFields {
  department: string;
  bed: number;
  name: string;
  patientNumber: string;
  admitDate: Cms8000Date;
  heightCm: number;
  weight: number;
  birthDate: Cms8000Date;
  bloodType: number;
  doctor: string;
}

/** The fixed-offset fields of a patient block end here. */
export const CMS8000_PATIENT_BODY_LENGTH = 0xad;

/** Patient information block (0x3E): NUL-padded ASCII fields at fixed offsets. */
export function cms8000Patient(p: Cms8000PatientFields): Buffer {
  const body = Buffer.alloc(CMS8000_PATIENT_BODY_LENGTH);
  const text = (value: string, at: number, size: number): void => {
    body.write(value.slice(0, size - 1), at, 'latin1');
  };
  const date = (d: Cms8000Date, at: number): void => {
    text(String(d.year), at, 5);
    text(String(d.month).padStart(2, '0'), at + 5, 3);
    text(String(d.day).padStart(2, '0'), at + 8, 3);
  };
  text(p.department, 0x00, 32);
  body[0x22] = p.bed;
  text(p.name, 0x23, 32);
  text(p.patientNumber, 0x43, 32);
  date(p.admitDate, 0x63);
  body.writeUInt16LE(p.heightCm, 0x74);
  body.writeUInt16LE(p.weight, 0x76);
  date(p.birthDate, 0x7c);
  body[0x8c] = p.bloodType;
  text(p.doctor, 0x8d, 32);
  return cms8000Block(CMS8000_BLOCK.patient, body);
}

// ---------------------------------------------------------------------------------------------
// LPD (RFC 1179)

export const LPD = {
  printJobs: 0x01,
  receiveJob: 0x02,
  queueStateShort: 0x03,
  queueStateLong: 0x04,
  removeJobs: 0x05,
  /** Receive-job subcommands. */
  abortJob: 0x01,
  receiveControlFile: 0x02,
  receiveDataFile: 0x03,
} as const;

/** A daemon command line: code, queue name, optional operands, LF. */
export function lpdCommand(code: number, queue: string, operands: readonly string[] = []): Buffer {
  return concat(Buffer.from([code]), [queue, ...operands].join(' '), '\n');
}

/** A receive-job subcommand line announcing a control or data file of `count` bytes. */
export function lpdFileHeader(code: number, count: number, name: string): Buffer {
  return concat(Buffer.from([code]), `${count} ${name}\n`);
}

/** The file bytes followed by the terminating zero octet. */
export function lpdFile(content: Payload): Buffer {
  return concat(content, Buffer.from([0]));
}

// ---------------------------------------------------------------------------------------------
// XDR (RFC 4506) and ONC RPC v2 (RFC 5531)

/** XDR items; concat() them to build a structure. */
export const xdr = {
  u32: (value: number): Buffer => u32be(value),
  bool: (value: boolean): Buffer => u32be(value ? 1 : 0),
  u64: (value: number | bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(value));
    return b;
  },
  /** Fixed-length opaque: the bytes padded to a multiple of 4. */
  fixed: (bytes: Payload): Buffer => {
    const b = toBuffer(bytes);
    return concat(b, Buffer.alloc((4 - (b.length % 4)) % 4));
  },
  /** Variable-length opaque (and string): length, bytes, padding. */
  opaque: (bytes: Payload): Buffer => {
    const b = toBuffer(bytes);
    return concat(u32be(b.length), xdr.fixed(b));
  },
  string: (text: string): Buffer => xdr.opaque(Buffer.from(text, 'utf8')),
  /** Counted array. */
  array: <T>(items: readonly T[], item: (value: T) => Buffer): Buffer => concat(u32be(items.length), ...items.map(item)),
};

export const RPC_PROGRAM = { PORTMAP: 100000, NFS: 100003, MOUNT: 100005 } as const;

/** AUTH_UNIX (AUTH_SYS) credentials. */
export interface RpcAuthUnix {
  stamp: number;
  machineName: string;
  uid: number;
  gid: number;
  gids?: readonly number[];
}

export interface RpcCallOptions {
  xid: number;
  program: number;
  version: number;
  procedure: number;
  /** AUTH_NONE when absent. */
  auth?: RpcAuthUnix;
}

const AUTH_NONE = concat(xdr.u32(0), xdr.u32(0));

function authUnix(a: RpcAuthUnix): Buffer {
  const body = concat(xdr.u32(a.stamp), xdr.string(a.machineName), xdr.u32(a.uid), xdr.u32(a.gid), xdr.array(a.gids ?? [], xdr.u32));
  return concat(xdr.u32(1), xdr.opaque(body));
}

/** An RPC call message: header, credentials, a null verifier, then the procedure arguments. */
export function rpcCall(opts: RpcCallOptions, args: Payload = Buffer.alloc(0)): Buffer {
  const cred = opts.auth === undefined ? AUTH_NONE : authUnix(opts.auth);
  return concat(xdr.u32(opts.xid), xdr.u32(0), xdr.u32(2), xdr.u32(opts.program), xdr.u32(opts.version), xdr.u32(opts.procedure), cred, AUTH_NONE, args);
}

/** An accepted RPC reply with a null verifier; accept_stat 0 (success) unless given. */
export function rpcReply(opts: { xid: number; acceptStat?: number }, results: Payload = Buffer.alloc(0)): Buffer {
  return concat(xdr.u32(opts.xid), xdr.u32(1), xdr.u32(0), AUTH_NONE, xdr.u32(opts.acceptStat ?? 0), results);
}

/** TCP record marking: the message as one record, in fragments of at most `fragmentSize` bytes. */
export function rpcRecord(message: Payload, fragmentSize = 0x7fffffff): Buffer {
  const m = toBuffer(message);
  const parts: Buffer[] = [];
  for (let at = 0; at < m.length || parts.length === 0; at += fragmentSize) {
    const piece = m.subarray(at, Math.min(at + fragmentSize, m.length));
    const last = at + fragmentSize >= m.length;
    parts.push(u32be((last ? 0x80000000 : 0) | piece.length), piece);
  }
  return concat(...parts);
}

// Portmap v2 (RFC 1833)

export const PORTMAP_GETPORT = 3;
const IPPROTO_NUMBER = { tcp: 6, udp: 17 } as const;

/** GETPORT arguments: the mapping asked for, port 0. */
export function portmapGetportArgs(m: { program: number; version: number; transport: 'tcp' | 'udp' }): Buffer {
  return concat(xdr.u32(m.program), xdr.u32(m.version), xdr.u32(IPPROTO_NUMBER[m.transport]), xdr.u32(0));
}

export function portmapGetportResult(port: number): Buffer {
  return xdr.u32(port);
}

// MOUNT (RFC 1094 appendix A, RFC 1813 section 5)

export const MOUNT_MNT = 1;

export function mountPathArgs(path: string): Buffer {
  return xdr.string(path);
}

/** MOUNT v3 MNT result: status 0, the handle (up to 64 bytes) and the accepted auth flavors. */
export function mountV3MntResult(fileHandle: Payload, authFlavors: readonly number[] = [1]): Buffer {
  return concat(xdr.u32(0), xdr.opaque(fileHandle), xdr.array(authFlavors, xdr.u32));
}

/** MOUNT v1 MNT result: status 0 and the 32-byte NFSv2 handle. */
export function mountV1MntResult(fileHandle: Payload): Buffer {
  const fh = Buffer.alloc(32);
  toBuffer(fileHandle).copy(fh, 0, 0, 32);
  return concat(xdr.u32(0), fh);
}

// NFS v3 (RFC 1813)

export const NFS3_PROC = { NULL: 0, GETATTR: 1, LOOKUP: 3, ACCESS: 4, READ: 6, FSINFO: 19 } as const;

export interface Nfs3Attributes {
  /** 1 regular file, 2 directory. */
  type: 1 | 2;
  mode: number;
  nlink?: number;
  uid?: number;
  gid?: number;
  size: number;
  fileId: number;
  fsid?: number;
  /** Seconds since the epoch, for atime, mtime and ctime. */
  time: number;
}

/** fattr3: 84 bytes. */
export function nfs3Fattr(a: Nfs3Attributes): Buffer {
  const used = Math.ceil(a.size / 4096) * 4096;
  const t = concat(xdr.u32(a.time), xdr.u32(0));
  return concat(
    xdr.u32(a.type),
    xdr.u32(a.mode),
    xdr.u32(a.nlink ?? (a.type === 2 ? 2 : 1)),
    xdr.u32(a.uid ?? 0),
    xdr.u32(a.gid ?? 0),
    xdr.u64(a.size),
    xdr.u64(used),
    xdr.u32(0),
    xdr.u32(0), // rdev
    xdr.u64(a.fsid ?? 0x0801),
    xdr.u64(a.fileId),
    t,
    t,
    t,
  );
}

/** post_op_attr: present or not. */
export function nfs3PostOpAttr(a?: Nfs3Attributes): Buffer {
  return a === undefined ? xdr.bool(false) : concat(xdr.bool(true), nfs3Fattr(a));
}

export const nfs3Args = {
  getattr: (fh: Payload): Buffer => xdr.opaque(fh),
  lookup: (dir: Payload, name: string): Buffer => concat(xdr.opaque(dir), xdr.string(name)),
  read: (fh: Payload, offset: number, count: number): Buffer => concat(xdr.opaque(fh), xdr.u64(offset), xdr.u32(count)),
};

export const nfs3Result = {
  getattr: (a: Nfs3Attributes): Buffer => concat(xdr.u32(0), nfs3Fattr(a)),
  lookup: (fh: Payload, object: Nfs3Attributes, dir: Nfs3Attributes): Buffer => concat(xdr.u32(0), xdr.opaque(fh), nfs3PostOpAttr(object), nfs3PostOpAttr(dir)),
  read: (file: Nfs3Attributes, data: Payload, eof: boolean): Buffer => {
    const d = toBuffer(data);
    return concat(xdr.u32(0), nfs3PostOpAttr(file), xdr.u32(d.length), xdr.bool(eof), xdr.opaque(d));
  },
};

// NFS v4 (RFC 7530): COMPOUND, procedure 1

export const NFS4_PROC_COMPOUND = 1;
export const NFS4_OP = { GETATTR: 9, GETFH: 10, LOOKUP: 15, PUTFH: 22, PUTROOTFH: 24 } as const;

/** One operation of a COMPOUND request: its number and XDR arguments. */
export const nfs4Op = {
  putrootfh: (): Buffer => xdr.u32(NFS4_OP.PUTROOTFH),
  getfh: (): Buffer => xdr.u32(NFS4_OP.GETFH),
  lookup: (name: string): Buffer => concat(xdr.u32(NFS4_OP.LOOKUP), xdr.string(name)),
  /** The attribute numbers asked for, as a bitmap4. */
  getattr: (attributes: readonly number[]): Buffer => concat(xdr.u32(NFS4_OP.GETATTR), nfs4Bitmap(attributes)),
};

export function nfs4Bitmap(attributes: readonly number[]): Buffer {
  const words = Math.max(1, ...attributes.map((a) => (a >> 5) + 1));
  const w = new Array<number>(words).fill(0);
  for (const a of attributes) w[a >> 5] |= 1 << (a & 31);
  return xdr.array(w, xdr.u32);
}

/** One operation of a COMPOUND reply: number, status 0 and the result. */
export const nfs4OpResult = {
  putrootfh: (): Buffer => concat(xdr.u32(NFS4_OP.PUTROOTFH), xdr.u32(0)),
  getfh: (fh: Payload): Buffer => concat(xdr.u32(NFS4_OP.GETFH), xdr.u32(0), xdr.opaque(fh)),
  lookup: (): Buffer => concat(xdr.u32(NFS4_OP.LOOKUP), xdr.u32(0)),
  /** fattr4: the bitmap of the attributes returned and their XDR values in attribute order. */
  getattr: (attributes: readonly number[], values: Payload): Buffer =>
    concat(xdr.u32(NFS4_OP.GETATTR), xdr.u32(0), nfs4Bitmap(attributes), xdr.opaque(values)),
};

export function nfs4Compound(opts: { tag?: string; minorVersion?: number }, ops: readonly Buffer[]): Buffer {
  return concat(xdr.string(opts.tag ?? ''), xdr.u32(opts.minorVersion ?? 0), xdr.u32(ops.length), ...ops);
}

/** A COMPOUND reply whose operations all succeeded. */
export function nfs4CompoundResult(opts: { tag?: string }, results: readonly Buffer[]): Buffer {
  return concat(xdr.u32(0), xdr.string(opts.tag ?? ''), xdr.u32(results.length), ...results);
}

/** NFSv4 attribute numbers (RFC 7530 section 5). */
export const NFS4_ATTR = { TYPE: 1, CHANGE: 3, SIZE: 4, FSID: 8, FILEID: 20 } as const;
