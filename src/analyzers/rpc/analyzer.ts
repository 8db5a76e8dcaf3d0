/**
 * ONC RPC v2 (RFC 5531) over UDP datagrams and TCP record marking. Every call and reply becomes
 * an `rpc.call` / `rpc.reply`; replies are matched to calls by xid, and the per-program decoders
 * (portmap/rpcbind, MOUNT, NFS) add their own events.
 *
 * Recognition: an RPC message opens with a rigid header (msg_type 0/1, rpcvers 2, a known auth
 * flavor with a body of at most 400 bytes, a small accept_stat...). The first bytes of either
 * direction are checked against it as soon as they arrive, so other protocols are rejected
 * within a dozen bytes. The verdict becomes 'match' on the first well-formed call, or on a
 * reply to a call seen in this flow; replies alone keep it 'probing' (their rpc.reply events,
 * with program -1, are still reported).
 *
 * TCP: records are reassembled across segments and fragments, but only the first
 * `maxRecordBytes` of a record are kept; the rest is skipped by count (headers and the arguments
 * decoded here sit in the first few hundred bytes). A capture gap inside a fragment is skipped
 * by count too (the next record mark is still where it was announced) and the record's intact
 * prefix is decoded; a gap that swallows a record mark, or a record whose header is impossible,
 * drops the record and hunts byte by byte for the mark of a single-fragment record with a
 * plausible header (and, when in view, a plausible record after it).
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
  /** Times the record stream was found again after a gap or an impossible header. */
  resyncs: number;
}

/** The run-wide names of the anomalies among the analyzer's counters (see the RPC descriptor). */
const ANOMALY_NAMES = {
  malformed: 'rpc.malformed',
  oversizedRecords: 'rpc.oversized_record',
  unmatchedReplies: 'rpc.unmatched_reply',
  evictedCalls: 'rpc.evicted_call',
  resyncs: 'rpc.resync',
} as const;

export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;
export const DEFAULT_MAX_PENDING_CALLS = 1024;

const CALL = 0;
const REPLY = 1;
const MSG_ACCEPTED = 0;
const MSG_DENIED = 1;
const RPC_VERSION = 2;
const AUTH_NONE = 0;
const AUTH_SYS = 1;
/** RFC 5531: opaque_auth bodies are at most 400 bytes. */
const MAX_AUTH_BYTES = 400;
/** AUTH_SYS body without machine name or groups: stamp, name length, uid, gid, group count. */
const MIN_AUTH_SYS_BYTES = 20;
/** Flavors seen on the wire: NONE, SYS, SHORT, DH, KERB4, RSA, RPCSEC_GSS, TLS. */
const MAX_WIRE_FLAVOR = 7;
/** A denied reply (xid, msg_type, reply_stat, reject_stat, auth_stat) is the shortest message. */
const MIN_MESSAGE_BYTES = 20;
const LAST_FRAGMENT = 0x80000000;
/** Largest header `probeHeader` looks at: call header, two maximal auth blocks. */
const MAX_PROBE_BYTES = 24 + 2 * (8 + MAX_AUTH_BYTES);
const HUNT_WINDOW = 2048;
/** While nothing has matched yet, give up hunting for a record mark after this many bytes. */
const MAX_PROBING_HUNT = 64 * 1024;
const INITIAL_RECORD_CAPACITY = 512;
/** Record buffers grown past this are released once their record is done. */
const KEEP_RECORD_CAPACITY = 64 * 1024;
const OTHER_DIR_KEY = 0x1_0000_0000;
const NO_BYTES = new Uint8Array(0);

const AUTH_FLAVORS = ['none', 'unix', 'short', 'des', 'flavor-4', 'flavor-5', 'gss', 'tls'];
const ACCEPT_STATUS = ['success', 'prog_unavail', 'prog_mismatch', 'proc_unavail', 'garbage_args', 'system_err'];
const AUTH_STAT = [
  'auth_ok', 'auth_badcred', 'auth_rejectedcred', 'auth_badverf', 'auth_rejectedverf', 'auth_tooweak',
  'auth_invalidresp', 'auth_failed', 'auth_kerb_generic', 'auth_timeexpire', 'auth_tkt_file', 'auth_decode',
  'auth_net_addr', 'rpcsec_gss_credproblem', 'rpcsec_gss_ctxproblem',
];
const MAX_AUTH_STAT = 20;
const MAX_ACCEPT_STAT = 5;

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

type Probe = 'yes' | 'no' | 'more';
const PROBE_NO = -1;
const PROBE_MORE = -2;

/** Checks an opaque_auth at `at`: the offset after it, PROBE_NO, or PROBE_MORE. */
function probeAuth(b: Uint8Array, at: number, end: number): number {
  if (end - at < 8) return PROBE_MORE;
  const flavor = readU32(b, at);
  const length = readU32(b, at + 4);
  if (flavor > MAX_WIRE_FLAVOR || length > MAX_AUTH_BYTES) return PROBE_NO;
  if (flavor === AUTH_SYS) {
    if (length < MIN_AUTH_SYS_BYTES) return PROBE_NO;
    if (end - at >= 16 && xdrPad(readU32(b, at + 12)) + MIN_AUTH_SYS_BYTES > length) return PROBE_NO;
  }
  return at + 8 + xdrPad(length);
}

/**
 * Whether `b[start, end)` can begin an RPC message. Decides on as few bytes as it can: 'more'
 * means the bytes so far fit but do not yet settle it.
 */
export function probeHeader(b: Uint8Array, start: number, end: number): Probe {
  const avail = end - start;
  if (avail < 8) return 'more';
  const type = readU32(b, start + 4);
  if (type === CALL) {
    if (avail < 12) return 'more';
    if (readU32(b, start + 8) !== RPC_VERSION) return 'no';
    if (avail < 16) return 'more';
    const program = readU32(b, start + 12);
    // 0x60000000 and above is reserved; no program is numbered 0.
    if (program === 0 || program >= 0x60000000) return 'no';
    if (avail < 20) return 'more';
    if (readU32(b, start + 16) > 0xffff) return 'no';
    if (avail < 24) return 'more';
    if (readU32(b, start + 20) > 0xffff) return 'no';
    const verf = probeAuth(b, start + 24, end);
    if (verf < 0) return verf === PROBE_NO ? 'no' : 'more';
    const args = probeAuth(b, verf, end);
    if (args < 0) return args === PROBE_NO ? 'no' : 'more';
    return 'yes';
  }
  if (type === REPLY) {
    if (avail < 12) return 'more';
    const replyStat = readU32(b, start + 8);
    if (replyStat === MSG_ACCEPTED) {
      const stat = probeAuth(b, start + 12, end);
      if (stat < 0) return stat === PROBE_NO ? 'no' : 'more';
      if (end - stat < 4) return 'more';
      return readU32(b, stat) <= MAX_ACCEPT_STAT ? 'yes' : 'no';
    }
    if (replyStat === MSG_DENIED) {
      if (avail < 16) return 'more';
      const rejectStat = readU32(b, start + 12);
      if (rejectStat === 0) {
        if (avail < 24) return 'more';
        const low = readU32(b, start + 16);
        const high = readU32(b, start + 20);
        return low <= high && high <= 0xffff ? 'yes' : 'no';
      }
      if (rejectStat === 1) {
        if (avail < 20) return 'more';
        const stat = readU32(b, start + 16);
        return stat >= 1 && stat <= MAX_AUTH_STAT ? 'yes' : 'no';
      }
    }
    return 'no';
  }
  return 'no';
}

interface PendingCall {
  readonly info: RpcCallInfo;
  readonly state: unknown;
}

/** Shared empty stand-ins, never written to: an analyzer swaps in its own map on first use. */
const NO_PENDING_CALLS: Map<number, PendingCall> = new Map();
const NO_DECODERS: Map<number, RpcProgramDecoder | null> = new Map();

/** TCP record-marking state of one direction. */
class RecordStream {
  /** Record mark bytes collected so far (0-3) and their value. */
  markHave = 0;
  mark = 0;
  /** Inside a fragment body, with this many bytes of it still to come. */
  inFragment = false;
  fragLeft = 0;
  fragLast = false;
  fragments = 0;
  /** The first `stored` bytes of the record so far (at most the record cap); allocated on first use. */
  buf = NO_BYTES;
  stored = 0;
  /** No more bytes of this record will be kept (cap reached, gap inside it, or flow over). */
  clipped = false;
  /** Its header has been found plausible. */
  judged = false;
  decoded = false;
  hunting = false;
  huntBuf: Uint8Array | null = null;
  huntHave = 0;
  huntedSinceSync = 0;

  resetRecord(): void {
    this.fragments = 0;
    this.clipped = false;
    this.judged = false;
    this.decoded = false;
    this.releaseBytes();
  }

  releaseBytes(): void {
    this.stored = 0;
    if (this.buf.length > KEEP_RECORD_CAPACITY) this.buf = NO_BYTES;
  }

  startHunting(): void {
    this.resetRecord();
    this.markHave = 0;
    this.inFragment = false;
    this.fragLeft = 0;
    this.hunting = true;
    this.huntHave = 0;
    this.huntedSinceSync = 0;
    this.huntBuf ??= new Uint8Array(HUNT_WINDOW);
  }

  get buffered(): number {
    return this.stored + this.huntHave + this.markHave;
  }
}

export class RpcAnalyzer implements Analyzer, RpcSink {
  verdict: Verdict = 'probing';
  readonly stats: RpcStats = {
    calls: 0, replies: 0, unmatchedReplies: 0, evictedCalls: 0, malformed: 0, oversizedRecords: 0,
    skippedBytes: 0, huntedBytes: 0, gaps: 0, resyncs: 0,
  };

  private readonly maxRecordBytes: number;
  private readonly maxPendingCalls: number;
  private readonly streams: [RecordStream, RecordStream] | null;
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
    this.maxRecordBytes = Math.max(MAX_PROBE_BYTES, options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES);
    this.maxPendingCalls = Math.max(1, options.maxPendingCalls ?? DEFAULT_MAX_PENDING_CALLS);
    this.streams = ctx.flow.transport === 'tcp' ? [new RecordStream(), new RecordStream()] : null;
  }

  get evidence(): EvidenceMode {
    return this.ctx.evidence;
  }

  get transport(): 'tcp' | 'udp' {
    return this.ctx.flow.transport;
  }

  /** Bytes held for reassembly and resynchronisation, both directions together. */
  get bufferedBytes(): number {
    return this.streams ? this.streams[0].buffered + this.streams[1].buffered : 0;
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

  /** Counts an anomaly in the analyzer's own stats and in the run's (as `rpc.<name>`). */
  private anomaly(counter: keyof typeof ANOMALY_NAMES): void {
    this.stats[counter]++;
    this.ctx.anomaly(ANOMALY_NAMES[counter]);
  }

  data(dir: Direction, bytes: Uint8Array): void {
    if (this.verdict === 'reject' || this.ended) return;
    if (bytes.length > 0) this.heardDir[dir] = true;
    if (this.streams) this.consume(this.streams[dir], dir, bytes, 0);
    else this.datagram(dir, bytes);
  }

  gap(dir: Direction, length: number): void {
    if (this.verdict === 'reject' || this.ended || !this.streams || !(length > 0)) return;
    this.heardDir[dir] = true;
    this.stats.gaps++;
    const s = this.streams[dir];
    this.stats.skippedBytes += length;
    if (s.hunting) {
      s.huntHave = 0; // the window's bytes no longer join up with what follows
      return;
    }
    if (s.inFragment && length <= s.fragLeft) {
      // The hole is inside the current fragment: the next mark is still where it was announced.
      s.fragLeft -= length;
      this.clip(s, dir);
      if (s.fragLeft === 0) this.endFragment(s, dir);
      return;
    }
    s.startHunting();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.verdict === 'reject') return;
    if (this.streams) {
      for (const dir of [0, 1] as const) {
        const s = this.streams[dir];
        if (!s.hunting && s.stored > 0 && !s.decoded) this.clip(s, dir);
      }
    }
    for (const decoder of this.decoders.values()) decoder?.end?.();
  }

  // --- UDP ---------------------------------------------------------------------------------

  private datagram(dir: Direction, bytes: Uint8Array): void {
    if (probeHeader(bytes, 0, bytes.length) !== 'yes') {
      this.anomaly('malformed');
      if (this.verdict === 'probing') this.verdict = 'reject';
      return;
    }
    this.decodeMessage(dir, bytes, bytes.length);
  }

  // --- TCP record marking --------------------------------------------------------------------

  private consume(s: RecordStream, dir: Direction, bytes: Uint8Array, from: number): void {
    const n = bytes.length;
    let i = from;
    while (i < n && this.verdict !== 'reject') {
      if (s.hunting) {
        i = this.hunt(s, dir, bytes, i);
        continue;
      }
      if (!s.inFragment) {
        while (s.markHave < 4 && i < n) {
          s.mark = ((s.mark << 8) | bytes[i++]) >>> 0;
          s.markHave++;
        }
        if (s.markHave < 4) break;
        s.markHave = 0;
        this.startFragment(s, dir, s.mark);
        continue;
      }
      const take = Math.min(s.fragLeft, n - i);
      const overflow = this.append(s, bytes, i, take);
      i += take;
      s.fragLeft -= take;
      if (!s.judged) {
        const probe = probeHeader(s.buf, 0, s.stored);
        if (probe === 'yes') s.judged = true;
        else if (probe === 'no') {
          this.anomaly('malformed');
          if (this.verdict === 'probing') {
            this.verdict = 'reject';
            return;
          }
          // Lost sync: hunt for the next record, starting over this one's bytes.
          const replay = s.buf.slice(0, s.stored);
          s.startHunting();
          this.consume(s, dir, replay, 0);
          continue;
        }
      }
      if (overflow) {
        this.anomaly('oversizedRecords');
        this.clip(s, dir);
      }
      if (s.fragLeft === 0) this.endFragment(s, dir);
    }
  }

  private startFragment(s: RecordStream, dir: Direction, mark: number): void {
    const length = mark & ~LAST_FRAGMENT;
    if (this.verdict === 'probing' && s.fragments === 0 && length === 0) {
      // An empty opening fragment carries nothing; zero-filled streams would loop on it forever.
      this.verdict = 'reject';
      return;
    }
    s.fragments++;
    s.fragLeft = length;
    s.fragLast = mark >= LAST_FRAGMENT;
    s.inFragment = true;
    if (length === 0) this.endFragment(s, dir);
  }

  private endFragment(s: RecordStream, dir: Direction): void {
    s.inFragment = false;
    if (!s.fragLast) return;
    if (!s.decoded) {
      if (s.judged || probeComplete(s.buf, s.stored) === 'yes') this.decodeMessage(dir, s.buf, s.stored);
      else {
        this.anomaly('malformed');
        if (this.verdict === 'probing') this.verdict = 'reject';
      }
    }
    s.resetRecord();
  }

  /** Keeps what fits of `count` record bytes under the cap; true when some had to be skipped. */
  private append(s: RecordStream, bytes: Uint8Array, at: number, count: number): boolean {
    if (s.clipped) {
      this.stats.skippedBytes += count;
      return false;
    }
    const keep = Math.min(count, this.maxRecordBytes - s.stored);
    if (s.stored + keep > s.buf.length) {
      let capacity = Math.max(s.buf.length, INITIAL_RECORD_CAPACITY);
      while (capacity < s.stored + keep) capacity *= 2;
      const bigger = new Uint8Array(Math.min(capacity, this.maxRecordBytes));
      bigger.set(s.buf.subarray(0, s.stored));
      s.buf = bigger;
    }
    s.buf.set(bytes.subarray(at, at + keep), s.stored);
    s.stored += keep;
    this.stats.skippedBytes += count - keep;
    return keep < count;
  }

  /**
   * No more of the current record will be kept (cap reached, gap inside it, flow over): decodes
   * the prefix that arrived intact and lets its bytes go.
   */
  private clip(s: RecordStream, dir: Direction): void {
    s.clipped = true;
    if (!s.decoded) {
      s.decoded = true;
      if (probeHeader(s.buf, 0, s.stored) === 'yes') this.decodeMessage(dir, s.buf, s.stored);
      else this.anomaly('malformed');
    }
    s.releaseBytes();
  }

  private hunt(s: RecordStream, dir: Direction, bytes: Uint8Array, from: number): number {
    const window = s.huntBuf as Uint8Array;
    const take = Math.min(HUNT_WINDOW - s.huntHave, bytes.length - from);
    window.set(bytes.subarray(from, from + take), s.huntHave);
    s.huntHave += take;
    s.huntedSinceSync += take;
    this.stats.huntedBytes += take;
    let p = 0;
    for (; p + 4 <= s.huntHave; p++) {
      const found = probeMarkAt(window, p, s.huntHave);
      if (found === 'more') break;
      if (found === 'yes') {
        const resumed = window.slice(p, s.huntHave);
        s.hunting = false;
        s.huntHave = 0;
        this.anomaly('resyncs');
        this.consume(s, dir, resumed, 0);
        return from + take;
      }
    }
    window.copyWithin(0, p, s.huntHave);
    s.huntHave -= p;
    if (this.verdict === 'probing' && s.huntedSinceSync > MAX_PROBING_HUNT) this.verdict = 'reject';
    return from + take;
  }

  // --- Messages ------------------------------------------------------------------------------

  private decodeMessage(dir: Direction, buf: Uint8Array, length: number): void {
    const r = (this.xdr ??= new XdrReader()).reset(buf, 0, length);
    const xid = r.u32();
    const type = r.u32();
    if (type === CALL) this.decodeCall(dir, r, xid);
    else if (type === REPLY) this.decodeReply(dir, r, xid);
    else this.anomaly('malformed');
  }

  private decodeCall(dir: Direction, r: XdrReader, xid: number): void {
    const rpcVersion = r.u32();
    const program = r.u32();
    const version = r.u32();
    const procedure = r.u32();
    const credFlavor = r.u32();
    const cred = r.opaque(MAX_AUTH_BYTES);
    r.u32(); // verifier flavor
    r.skipOpaque(MAX_AUTH_BYTES);
    if (!r.ok || rpcVersion !== RPC_VERSION) {
      this.anomaly('malformed');
      return;
    }
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
      r.skipOpaque(MAX_AUTH_BYTES);
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
      this.anomaly('malformed');
      return;
    }
    if (!r.ok) {
      this.anomaly('malformed');
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
    const a = (this.authXdr ??= new XdrReader()).reset(body);
    const stamp = a.u32();
    const machineName = a.string(255);
    const uid = a.u32();
    const gid = a.u32();
    const groups = a.count(16);
    const gids: number[] = [];
    for (let i = 0; i < groups; i++) gids.push(a.u32());
    if (!a.ok) return { flavor: name };
    return { flavor: name, stamp, machineName, uid, gid, gids };
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

function probeComplete(buf: Uint8Array, length: number): Probe {
  const probe = probeHeader(buf, 0, length);
  return probe === 'more' ? 'no' : probe;
}

/**
 * Whether a resync can start at `p`: a record mark announcing a whole single-fragment record
 * (what RPC stacks send) whose header is plausible, and, when the next record's start is in view
 * too, one that looks like a record as well. A lone header check is not enough: the tail of a
 * call header (program, version, procedure 1, then zeros) reads as a mark and a reply.
 */
function probeMarkAt(b: Uint8Array, p: number, end: number): Probe {
  const mark = readU32(b, p);
  if (mark < LAST_FRAGMENT) return 'no';
  const length = mark - LAST_FRAGMENT;
  if (length < MIN_MESSAGE_BYTES) return 'no';
  const fragmentEnd = p + 4 + length;
  const probe = probeHeader(b, p + 4, Math.min(end, fragmentEnd));
  if (probe === 'more') return fragmentEnd <= end ? 'no' : 'more';
  if (probe === 'no' || fragmentEnd + 4 > end) return probe;
  const next = readU32(b, fragmentEnd) & ~LAST_FRAGMENT;
  if (next < MIN_MESSAGE_BYTES) return 'no';
  return probeHeader(b, fragmentEnd + 4, Math.min(end, fragmentEnd + 4 + next)) === 'no' ? 'no' : 'yes';
}

/** A datagram is one message; a TCP stream opens with a record mark and a message header. */
function mayStartRpc(bytes: Uint8Array, transport: 'tcp' | 'udp'): boolean {
  if (transport === 'udp') return probeHeader(bytes, 0, bytes.length) === 'yes';
  if (bytes.length < 4) return true;
  const length = readU32(bytes, 0) & ~LAST_FRAGMENT;
  if (length === 0) return false; // an empty opening fragment
  return probeHeader(bytes, 4, Math.min(bytes.length, 4 + length)) !== 'no';
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
