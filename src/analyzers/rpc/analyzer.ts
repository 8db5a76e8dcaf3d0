/**
 * ONC RPC v2 (RFC 5531) over UDP datagrams and TCP record marking. Every call and reply becomes
 * an `rpc.call` / `rpc.reply`; replies are matched to calls by xid, and the per-program decoders
 * (portmap/rpcbind, MOUNT, NFS) add their own events.
 *
 * Recognition: an RPC message opens with a rigid header (msg_type 0/1, rpcvers 2, a program
 * number, auth bodies that fit the message, a small accept_stat...; see header.ts for what a
 * program not decoded here must also show). The first bytes of either direction are checked
 * against it as soon as they arrive, so other protocols are rejected within a dozen bytes.
 * Limits the RFCs set and a peer need not keep (400-byte auth bodies, wire flavors, versions and
 * procedures, path lengths) are counted as anomalies and decoding goes on. The verdict becomes 'match' on the first well-formed call, or on a
 * reply to a call seen in this flow; replies alone keep it 'probing' (their rpc.reply events,
 * with program -1, are still reported).
 *
 * TCP: records are reassembled across segments and fragments, but only the first
 * `maxRecordBytes` of a record are kept; the rest is skipped by count (headers and the arguments
 * decoded here sit in the first few hundred bytes). A capture gap inside a fragment is skipped
 * by count too (the next record mark is still where it was announced) and the record's intact
 * prefix is decoded; a gap that swallows a record mark, or a record whose header is impossible,
 * drops the record and hunts byte by byte for the mark of a single-fragment record with a
 * plausible header (and, when in view, a plausible record after it). A flow picked up mid-stream
 * starts out hunting in both directions.
 *
 * One direction only (asymmetric routing, a one-way SPAN): calls alone still give rpc.call and
 * the program events (portmap.call, mount.call with its path, nfs.call) and the 'match' verdict;
 * answers (mappings, expectations, MNT handles) need the replies, and nfs.session is inferred
 * from the calls (see nfs.ts). Replies alone give rpc.reply with program -1 and nothing more,
 * since results cannot be read without their call; the verdict stays 'probing'.
 *
 * Evidence: in the `none` mode AUTH_UNIX details, export paths, file handles, export lists and
 * universal addresses are left out; program, procedure and status names stay, as they say what
 * the event is.
 */
import type {
  Analyzer,
  AnalyzerContext,
  AnalyzerFactory,
  Direction,
  EvidenceMode,
  Expectation,
  Verdict,
} from '../analyzer.js';
import type { AppEvent } from '../events.js';
import type { RpcAuth } from './events.js';
import { rpcProgram } from './programs.js';
import {
  AUTH_SYS,
  CALL,
  MAX_ACCEPT_STAT,
  MAX_AUTH_BYTES,
  MAX_AUTH_STAT,
  MAX_PROBE_BYTES,
  MAX_WIRE_FLAVOR,
  MSG_ACCEPTED,
  MSG_DENIED,
  probeHeader,
  REPLY,
  RPC_VERSION,
} from './header.js';
import { LAST_FRAGMENT, RecordMarking, type RecordOwner } from './record-marking.js';
import { XdrReader, readU32, xdrPad } from './xdr.js';

/** One call as the program decoders see it. */
export interface RpcCallInfo {
  readonly xid: number;
  /** Direction the call travelled in. */
  readonly dir: Direction;
  readonly program: number;
  readonly version: number;
  readonly procedure: number;
}

/** What the analyzer offers the program decoders of its flow. */
export interface RpcSink {
  readonly evidence: EvidenceMode;
  readonly transport: 'tcp' | 'udp';
  emit(event: AppEvent): void;
  expect(expectation: Expectation): void;
  /** Whether any byte (or gap) has been seen travelling in `dir`. */
  heard(dir: Direction): boolean;
  /** Counts an anomaly of the program's own, as its descriptor declares it (`mount.unknown_version`). */
  programAnomaly(name: string): void;
}

/** Decodes one RPC program's arguments and results; one instance per flow. */
export interface RpcProgramDecoder {
  procedureName(version: number, procedure: number): string;
  /**
   * Reads the call's arguments (possibly a truncated prefix: check `args.ok`), emits its events,
   * and returns what `reply` will need.
   */
  call(call: RpcCallInfo, args: XdrReader): unknown;
  /** Reads the results of an accepted, successful reply to `call`. */
  reply(call: RpcCallInfo, state: unknown, results: XdrReader, dir: Direction): void;
  /** The flow is over. */
  end?(): void;
}

export interface RpcAnalyzerOptions {
  /** Bytes of one TCP record kept for decoding; the rest is skipped by count. Default 1 MiB. */
  readonly maxRecordBytes?: number;
  /** Calls remembered per flow awaiting their reply (oldest dropped first). Default 1024. */
  readonly maxPendingCalls?: number;
}

export interface RpcStats {
  calls: number;
  replies: number;
  /** Replies whose call was not seen (or was dropped from the table). */
  unmatchedReplies: number;
  /** Calls dropped from the outstanding-call table to keep it bounded. */
  evictedCalls: number;
  /** Records or datagrams that were not well-formed RPC, or were cut too short to decode. */
  malformed: number;
  /** TCP records longer than `maxRecordBytes`. */
  oversizedRecords: number;
  /** TCP bytes passed over by count: beyond the record cap, or lost in gaps. */
  skippedBytes: number;
  /** TCP bytes scanned while hunting for a record mark. */
  huntedBytes: number;
  gaps: number;
  /** Times the record stream was found again after a gap, an impossible header, or a mid-stream pickup. */
  resyncs: number;
  /** Calls and replies whose credentials or verifier exceed RFC 5531's 400 bytes (decoded all the same). */
  oversizedAuth: number;
  /** Calls whose credential flavor is none of those RPC stacks send (decoded all the same). */
  unknownAuthFlavors: number;
}

/** The run-wide names of the anomalies among the analyzer's counters (see the RPC descriptor). */
const ANOMALY_NAMES = {
  malformed: 'rpc.malformed',
  oversizedRecords: 'rpc.oversized_record',
  unmatchedReplies: 'rpc.unmatched_reply',
  evictedCalls: 'rpc.evicted_call',
  resyncs: 'rpc.resync',
  oversizedAuth: 'rpc.oversized_auth',
  unknownAuthFlavors: 'rpc.unknown_auth_flavor',
} as const;

/** AUTH_UNIX supplementary groups listed in an event; the rest are counted in the list's place. */
const MAX_LISTED_GIDS = 64;
/** Longest AUTH_UNIX machine name reported, in characters (RFC 5531 allows 255 bytes). */
const MAX_REPORTED_MACHINE_NAME = 1024;

export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;
export const DEFAULT_MAX_PENDING_CALLS = 1024;

const OTHER_DIR_KEY = 0x1_0000_0000;


const AUTH_FLAVORS = ['none', 'unix', 'short', 'des', 'flavor-4', 'flavor-5', 'gss', 'tls'];
const ACCEPT_STATUS = ['success', 'prog_unavail', 'prog_mismatch', 'proc_unavail', 'garbage_args', 'system_err'];
const AUTH_STAT = [
  'auth_ok', 'auth_badcred', 'auth_rejectedcred', 'auth_badverf', 'auth_rejectedverf', 'auth_tooweak',
  'auth_invalidresp', 'auth_failed', 'auth_kerb_generic', 'auth_timeexpire', 'auth_tkt_file', 'auth_decode',
  'auth_net_addr', 'rpcsec_gss_credproblem', 'rpcsec_gss_ctxproblem',
];

const PROGRAM_NAMES = new Map<number, string>([
  [100000, 'portmap'], [100001, 'rstatd'], [100002, 'rusersd'], [100003, 'nfs'], [100004, 'ypserv'],
  [100005, 'mount'], [100007, 'ypbind'], [100009, 'yppasswdd'], [100011, 'rquotad'], [100021, 'nlockmgr'],
  [100024, 'status'], [100227, 'nfs_acl'],
]);
const NLM_PROCS = [
  'NULL', 'TEST', 'LOCK', 'CANCEL', 'UNLOCK', 'GRANTED', 'TEST_MSG', 'LOCK_MSG', 'CANCEL_MSG', 'UNLOCK_MSG',
  'GRANTED_MSG', 'TEST_RES', 'LOCK_RES', 'CANCEL_RES', 'UNLOCK_RES', 'GRANTED_RES', '', '', '', '', 'SHARE',
  'UNSHARE', 'NM_LOCK', 'FREE_ALL',
];
const NSM_PROCS = ['NULL', 'STAT', 'MON', 'UNMON', 'UNMON_ALL', 'SIMU_CRASH', 'NOTIFY'];

export function rpcProgramName(program: number): string {
  return PROGRAM_NAMES.get(program) ?? String(program);
}

interface PendingCall {
  readonly info: RpcCallInfo;
  readonly state: unknown;
}

/** Shared empty stand-ins, never written to: an analyzer swaps in its own map on first use. */
const NO_PENDING_CALLS: Map<number, PendingCall> = new Map();
const NO_DECODERS: Map<number, RpcProgramDecoder | null> = new Map();

export class RpcAnalyzer implements Analyzer, RpcSink, RecordOwner {
  verdict: Verdict = 'probing';
  readonly stats: RpcStats = {
    calls: 0, replies: 0, unmatchedReplies: 0, evictedCalls: 0, malformed: 0, oversizedRecords: 0,
    skippedBytes: 0, huntedBytes: 0, gaps: 0, resyncs: 0, oversizedAuth: 0, unknownAuthFlavors: 0,
  };

  private readonly maxPendingCalls: number;
  private readonly records: RecordMarking | null;
  private readonly heardDir = [false, false];
  // Made on first use: most flows this analyzer sees turn out not to be RPC at all.
  private pending: Map<number, PendingCall> = NO_PENDING_CALLS;
  private decoders: Map<number, RpcProgramDecoder | null> = NO_DECODERS;
  private xdr: XdrReader | null = null;
  private authXdr: XdrReader | null = null;
  private ended = false;

  constructor(
    private readonly ctx: AnalyzerContext,
    options: RpcAnalyzerOptions = {},
  ) {
    const maxRecordBytes = Math.max(MAX_PROBE_BYTES, options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES);
    this.maxPendingCalls = Math.max(1, options.maxPendingCalls ?? DEFAULT_MAX_PENDING_CALLS);
    this.records = ctx.flow.transport === 'tcp' ? new RecordMarking(this, maxRecordBytes, ctx.flow.midstream === true) : null;
  }

  get evidence(): EvidenceMode {
    return this.ctx.evidence;
  }

  get transport(): 'tcp' | 'udp' {
    return this.ctx.flow.transport;
  }

  /** Bytes held for reassembly and resynchronisation, both directions together. */
  get bufferedBytes(): number {
    return this.records?.bufferedBytes ?? 0;
  }

  /** Calls awaiting their reply. */
  get pendingCalls(): number {
    return this.pending.size;
  }

  heard(dir: Direction): boolean {
    return this.heardDir[dir];
  }

  emit(event: AppEvent): void {
    this.ctx.emit(event);
  }

  expect(expectation: Expectation): void {
    this.ctx.expect(expectation);
  }

  programAnomaly(name: string): void {
    this.ctx.anomaly(name);
  }

  /**
   * Bytes that cannot be an RPC message. While probing, that only says the flow is not RPC: it is
   * let go, and no anomaly counted (a first segment of one byte, say, cannot be ruled out at a
   * glance, yet is no malformed RPC). Once the flow is known to be RPC, it is a malformed message.
   * True when the flow was let go.
   */
  malformed(): boolean {
    if (this.verdict !== 'probing') {
      this.anomaly('malformed');
      return false;
    }
    this.verdict = 'reject';
    return true;
  }

  /** Counts an anomaly in the analyzer's own stats and in the run's (as `rpc.<name>`). */
  anomaly(counter: keyof typeof ANOMALY_NAMES): void {
    this.stats[counter]++;
    this.ctx.anomaly(ANOMALY_NAMES[counter]);
  }

  data(dir: Direction, bytes: Uint8Array): void {
    if (this.verdict === 'reject' || this.ended) return;
    if (bytes.length > 0) this.heardDir[dir] = true;
    if (this.records) this.records.data(dir, bytes);
    else this.datagram(dir, bytes);
  }

  gap(dir: Direction, length: number): void {
    if (this.verdict === 'reject' || this.ended || !this.records || !(length > 0)) return;
    this.heardDir[dir] = true;
    this.records.gap(dir, length);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.verdict === 'reject') return;
    this.records?.end();
    for (const decoder of this.decoders.values()) decoder?.end?.();
  }

  // --- UDP ---------------------------------------------------------------------------------

  private datagram(dir: Direction, bytes: Uint8Array): void {
    if (probeHeader(bytes, 0, bytes.length, bytes.length) !== 'yes') {
      this.malformed();
      return;
    }
    this.decodeMessage(dir, bytes, bytes.length);
  }

  // --- Messages ------------------------------------------------------------------------------

  decodeMessage(dir: Direction, buf: Uint8Array, length: number): void {
    const r = (this.xdr ??= new XdrReader()).reset(buf, 0, length);
    const xid = r.u32();
    const type = r.u32();
    if (type === CALL) this.decodeCall(dir, r, xid);
    else if (type === REPLY) this.decodeReply(dir, r, xid);
    else this.malformed();
  }

  private decodeCall(dir: Direction, r: XdrReader, xid: number): void {
    const rpcVersion = r.u32();
    const program = r.u32();
    const version = r.u32();
    const procedure = r.u32();
    // Credentials and verifier are read to whatever length they declare within the message:
    // RFC 5531's 400-byte limit is counted, not enforced (a backdoor's server need not enforce it).
    const credFlavor = r.u32();
    const cred = r.opaque();
    r.u32(); // verifier flavor
    const verifier = r.u32();
    r.skip(xdrPad(verifier));
    if (!r.ok || rpcVersion !== RPC_VERSION) {
      this.malformed();
      return;
    }
    if (cred.length > MAX_AUTH_BYTES || verifier > MAX_AUTH_BYTES) this.anomaly('oversizedAuth');
    if (credFlavor > MAX_WIRE_FLAVOR) this.anomaly('unknownAuthFlavors');
    this.stats.calls++;
    if (this.verdict === 'probing') this.verdict = 'match';

    const info: RpcCallInfo = { xid, dir, program, version, procedure };
    const decoder = this.decoderFor(program);
    this.emit({
      type: 'rpc.call',
      proto: 'rpc',
      dir,
      xid,
      program,
      programName: rpcProgramName(program),
      version,
      procedure,
      procedureName: decoder ? decoder.procedureName(version, procedure) : genericProcedureName(program, procedure),
      auth: this.auth(credFlavor, cred),
    });
    // A clipped record's arguments may stop short: decoders check the reader themselves.
    const state = decoder ? decoder.call(info, r) : undefined;
    this.remember(info, state);
  }

  private decodeReply(dir: Direction, r: XdrReader, xid: number): void {
    const replyStat = r.u32();
    let status: string;
    let denial: string | undefined;
    let success = false;
    if (replyStat === MSG_ACCEPTED) {
      r.u32(); // verifier flavor
      const verifier = r.u32();
      r.skip(xdrPad(verifier));
      if (r.ok && verifier > MAX_AUTH_BYTES) this.anomaly('oversizedAuth');
      const accept = r.u32();
      status = ACCEPT_STATUS[accept] ?? `accept-${accept}`;
      success = accept === 0;
    } else if (replyStat === MSG_DENIED) {
      status = 'denied';
      const rejectStat = r.u32();
      if (rejectStat === 0) denial = 'rpc_mismatch';
      else {
        const authStat = r.u32();
        denial = AUTH_STAT[authStat] ?? `auth-${authStat}`;
      }
    } else {
      this.malformed();
      return;
    }
    if (!r.ok) {
      this.malformed();
      return;
    }
    this.stats.replies++;
    const key = dir === 1 ? xid : xid + OTHER_DIR_KEY; // the call travelled the other way
    const call = this.pending.get(key);
    if (call) {
      this.pending.delete(key);
      if (this.verdict === 'probing') this.verdict = 'match';
    } else {
      this.anomaly('unmatchedReplies');
    }
    this.emit({
      type: 'rpc.reply',
      proto: 'rpc',
      dir,
      xid,
      program: call ? call.info.program : -1,
      version: call ? call.info.version : -1,
      procedure: call ? call.info.procedure : -1,
      status,
      ...(denial !== undefined && { denial }),
    });
    if (call && success) this.decoderFor(call.info.program)?.reply(call.info, call.state, r, dir);
  }

  private remember(info: RpcCallInfo, state: unknown): void {
    const key = info.dir === 0 ? info.xid : info.xid + OTHER_DIR_KEY;
    // A retransmission replaces the original and counts as the newest.
    if (!this.pending.delete(key) && this.pending.size >= this.maxPendingCalls) {
      const oldest = this.pending.keys().next().value as number;
      this.pending.delete(oldest);
      this.anomaly('evictedCalls');
    }
    if (this.pending === NO_PENDING_CALLS) this.pending = new Map();
    this.pending.set(key, { info, state });
  }

  private auth(flavor: number, body: Uint8Array): RpcAuth {
    const name = AUTH_FLAVORS[flavor] ?? `flavor-${flavor}`;
    if (flavor !== AUTH_SYS || this.ctx.evidence === 'none') return { flavor: name };
    // Read to the body's own lengths, not RFC 5531's (255-byte name, 16 groups): the
    // credentials of a server that enforces neither are still worth naming.
    const a = (this.authXdr ??= new XdrReader()).reset(body);
    const stamp = a.u32();
    const machineName = a.string();
    const uid = a.u32();
    const gid = a.u32();
    const groups = a.count();
    const gids: number[] = [];
    for (let i = 0; i < groups && i < MAX_LISTED_GIDS; i++) gids.push(a.u32());
    if (!a.ok) return { flavor: name };
    return { flavor: name, stamp, machineName: machineName.slice(0, MAX_REPORTED_MACHINE_NAME), uid, gid, gids };
  }

  private decoderFor(program: number): RpcProgramDecoder | null {
    let decoder = this.decoders.get(program);
    if (decoder === undefined) {
      decoder = rpcProgram(program)?.create(this) ?? null;
      if (this.decoders === NO_DECODERS) this.decoders = new Map();
      this.decoders.set(program, decoder);
    }
    return decoder;
  }

}

/**
 * A datagram is one message; a TCP stream opens with a record mark and a message header. A TCP
 * flow picked up mid-stream may open anywhere (the tail of a long READ reply, say): the record
 * marks are hunted for instead (see record-marking.ts), so it is never ruled out at a glance.
 */
function mayStartRpc(bytes: Uint8Array, transport: 'tcp' | 'udp', midstream = false): boolean {
  if (transport === 'udp') return probeHeader(bytes, 0, bytes.length, bytes.length) === 'yes';
  if (midstream) return true;
  if (bytes.length < 4) return true;
  const mark = readU32(bytes, 0);
  const length = mark & ~LAST_FRAGMENT;
  if (length === 0) return false; // an empty opening fragment
  const messageEnd = mark >= LAST_FRAGMENT ? 4 + length : Infinity;
  return probeHeader(bytes, 4, Math.min(bytes.length, 4 + length), messageEnd) !== 'no';
}

function genericProcedureName(program: number, procedure: number): string {
  const table = program === 100021 ? NLM_PROCS : program === 100024 ? NSM_PROCS : undefined;
  return table?.[procedure] || String(procedure);
}

export const rpcAnalyzer: AnalyzerFactory = {
  proto: 'rpc',
  transports: ['tcp', 'udp'],
  events: ['rpc.call', 'rpc.reply', 'portmap.call', 'portmap.mapping', 'mount.call', 'mount.reply', 'nfs.call', 'nfs.session'],
  expects: true,
  mayAccept: mayStartRpc,
  create: (ctx) => new RpcAnalyzer(ctx),
};
