/**
 * The fixed head of an ONC RPC v2 message (RFC 5531) and the cheap test of whether bytes can
 * begin one, which recognition, the first glance and resynchronisation all use.
 *
 * What an attacker's own client and server need not honour is not required here: a call to a
 * program decoded here (portmap, MOUNT, NFS) is plausible with any version, procedure and auth
 * flavor, and with credentials and verifiers of any size that fits the message (RFC 5531's
 * 400-byte limit is for the analyzer to count, not to enforce). Calls to other programs, and
 * replies, which name no program, must also have a small version and procedure, a wire flavor
 * and auth bodies of at most 400 bytes: with nothing else to go on, that is what tells RPC from
 * other bytes (a reply's verifier may be of any size when the message's end is known).
 */
import { rpcProgram } from './programs.js';
import { readU32, xdrPad } from './xdr.js';

export const CALL = 0;
export const REPLY = 1;
export const MSG_ACCEPTED = 0;
export const MSG_DENIED = 1;
export const RPC_VERSION = 2;
export const AUTH_NONE = 0;
export const AUTH_SYS = 1;
/** RFC 5531: opaque_auth bodies are at most 400 bytes. */
export const MAX_AUTH_BYTES = 400;
/** AUTH_SYS body without machine name or groups: stamp, name length, uid, gid, group count. */
export const MIN_AUTH_SYS_BYTES = 20;
/** Flavors seen on the wire: NONE, SYS, SHORT, DH, KERB4, RSA, RPCSEC_GSS, TLS. */
export const MAX_WIRE_FLAVOR = 7;
/** A denied reply (xid, msg_type, reply_stat, reject_stat, auth_stat) is the shortest message. */
export const MIN_MESSAGE_BYTES = 20;
export const MAX_AUTH_STAT = 20;
export const MAX_ACCEPT_STAT = 5;

/** Bytes of header that settle `probeHeader` for every message it does not need to see whole. */
export const MAX_PROBE_BYTES = 24 + 2 * (8 + MAX_AUTH_BYTES);
export type Probe = 'yes' | 'no' | 'more';
export const PROBE_NO = -1;
export const PROBE_MORE = -2;

/**
 * Checks an opaque_auth at `at`: the offset after it, PROBE_NO, or PROBE_MORE. `strict` asks
 * for a wire flavor and a body within RFC 5531's limit; either way the body must fit before
 * `messageEnd`.
 */
export function probeAuth(b: Uint8Array, at: number, end: number, messageEnd: number, strict: boolean): number {
  if (end - at < 8) return PROBE_MORE;
  const flavor = readU32(b, at);
  const length = readU32(b, at + 4);
  const next = at + 8 + xdrPad(length);
  if (next > messageEnd) return PROBE_NO;
  if (!strict) return next;
  if (flavor > MAX_WIRE_FLAVOR || length > MAX_AUTH_BYTES) return PROBE_NO;
  if (flavor === AUTH_SYS) {
    if (length < MIN_AUTH_SYS_BYTES) return PROBE_NO;
    if (end - at >= 16 && xdrPad(readU32(b, at + 12)) + MIN_AUTH_SYS_BYTES > length) return PROBE_NO;
  }
  return next;
}

/**
 * Whether `b[start, end)` can begin an RPC message that ends at or before `messageEnd` (when the
 * caller knows where it ends). Decides on as few bytes as it can: 'more' means the bytes so far
 * fit but do not yet settle it; no message needs more than MAX_PROBE_BYTES to settle.
 */
export function probeHeader(b: Uint8Array, start: number, end: number, messageEnd = Infinity): Probe {
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
    const strict = rpcProgram(program) === undefined;
    if (avail < 20) return 'more';
    if (strict && readU32(b, start + 16) > 0xffff) return 'no';
    if (avail < 24) return 'more';
    if (strict && readU32(b, start + 20) > 0xffff) return 'no';
    const cred = probeAuth(b, start + 24, end, messageEnd, strict);
    if (cred === PROBE_NO) return 'no';
    // A decoded program's credentials may be longer than the bytes in view: the header so far
    // (rpcvers 2, a known program, a body that fits) is enough.
    if (cred === PROBE_MORE) return strict ? 'more' : 'yes';
    const verf = probeAuth(b, cred, end, messageEnd, strict);
    if (verf === PROBE_NO) return 'no';
    if (verf === PROBE_MORE) return strict ? 'more' : 'yes';
    return 'yes';
  }
  if (type === REPLY) {
    if (avail < 12) return 'more';
    const replyStat = readU32(b, start + 8);
    if (replyStat === MSG_ACCEPTED) {
      // Where the message ends is known (a datagram, a whole record), a verifier of any size must fit it.
      const stat = probeAuth(b, start + 12, end, messageEnd, messageEnd === Infinity);
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

/** Whether the whole message `buf[0, length)` is plausible RPC. */
export function probeComplete(buf: Uint8Array, length: number): Probe {
  const probe = probeHeader(buf, 0, length, length);
  return probe === 'more' ? 'no' : probe;
}
