/**
 * Byte-level ONC RPC fixtures for the RPC analyzer tests: a small XDR writer written from RFC 4506
 * (independent of the analyzer's reader), message builders from RFC 5531, and a harness that
 * collects what an analyzer reports.
 */
import type { AnalyzerContext, Direction, EvidenceMode, Expectation } from '../../src/analyzers/analyzer.js';
import type { AppEvent } from '../../src/analyzers/events.js';
import { RpcAnalyzer, type RpcAnalyzerOptions } from '../../src/analyzers/rpc/analyzer.js';

export class XdrWriter {
  private readonly out: number[] = [];

  u32(v: number): this {
    this.out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    return this;
  }

  u64(v: number): this {
    return this.u32(Math.floor(v / 2 ** 32)).u32(v % 2 ** 32);
  }

  bool(v: boolean): this {
    return this.u32(v ? 1 : 0);
  }

  /** Fixed-length opaque: the bytes, zero-padded to a multiple of 4. */
  fixed(bytes: Uint8Array | readonly number[]): this {
    for (const b of bytes) this.out.push(b);
    while (this.out.length % 4 !== 0) this.out.push(0);
    return this;
  }

  opaque(bytes: Uint8Array | readonly number[]): this {
    return this.u32(bytes.length).fixed(bytes);
  }

  string(s: string): this {
    return this.opaque(new TextEncoder().encode(s));
  }

  raw(bytes: Uint8Array): this {
    for (const b of bytes) this.out.push(b);
    return this;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export const xdr = () => new XdrWriter();

export const PORTMAP = 100000;
export const NFS = 100003;
export const MOUNT = 100005;

export interface Cred {
  readonly flavor: number;
  readonly body: Uint8Array;
}

export const AUTH_NONE: Cred = { flavor: 0, body: new Uint8Array(0) };

export function authUnix(a: { stamp: number; machine: string; uid: number; gid: number; gids: number[] }): Cred {
  const w = xdr().u32(a.stamp).string(a.machine).u32(a.uid).u32(a.gid).u32(a.gids.length);
  for (const g of a.gids) w.u32(g);
  return { flavor: 1, body: w.bytes() };
}

export interface CallSpec {
  readonly xid: number;
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  readonly cred?: Cred;
  readonly args?: Uint8Array;
}

export function call(c: CallSpec): Uint8Array {
  const cred = c.cred ?? AUTH_NONE;
  return xdr()
    .u32(c.xid).u32(0).u32(2).u32(c.prog).u32(c.vers).u32(c.proc)
    .u32(cred.flavor).opaque(cred.body)
    .u32(0).opaque([])
    .raw(c.args ?? new Uint8Array(0))
    .bytes();
}

/** An accepted reply; accept_stat 0 (SUCCESS) unless given. */
export function reply(xid: number, results: Uint8Array = new Uint8Array(0), acceptStat = 0): Uint8Array {
  const w = xdr().u32(xid).u32(1).u32(0).u32(0).opaque([]).u32(acceptStat);
  if (acceptStat === 2) w.u32(2).u32(3); // PROG_MISMATCH: low, high
  return w.raw(results).bytes();
}

export function deniedAuth(xid: number, authStat: number): Uint8Array {
  return xdr().u32(xid).u32(1).u32(1).u32(1).u32(authStat).bytes();
}

export function deniedVersion(xid: number): Uint8Array {
  return xdr().u32(xid).u32(1).u32(1).u32(0).u32(2).u32(2).bytes();
}

/** TCP record marking; `fragmentSizes` cuts leading fragments off the message, the last takes the rest. */
export function record(msg: Uint8Array, fragmentSizes: number[] = []): Uint8Array {
  const out: number[] = [];
  const fragment = (from: number, to: number, last: boolean) => {
    const mark = ((last ? 0x80000000 : 0) | (to - from)) >>> 0;
    out.push(mark >>> 24, (mark >>> 16) & 0xff, (mark >>> 8) & 0xff, mark & 0xff);
    for (let i = from; i < to; i++) out.push(msg[i]);
  };
  let at = 0;
  for (const size of fragmentSizes) {
    if (msg.length - at <= size) break;
    fragment(at, at + size, false);
    at += size;
  }
  fragment(at, msg.length, true);
  return Uint8Array.from(out);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const ascii = (s: string) => new TextEncoder().encode(s);

export interface Harness {
  readonly analyzer: RpcAnalyzer;
  readonly events: AppEvent[];
  readonly expectations: Expectation[];
  /** Anomalies counted, by their run-wide name, in order. */
  readonly anomalies: string[];
  of<T extends AppEvent['type']>(type: T): Extract<AppEvent, { type: T }>[];
}

export function harness(
  transport: 'tcp' | 'udp',
  opts: { evidence?: EvidenceMode; serverPort?: number; options?: RpcAnalyzerOptions; midstream?: boolean } = {},
): Harness {
  const events: AppEvent[] = [];
  const expectations: Expectation[] = [];
  const anomalies: string[] = [];
  const ctx: AnalyzerContext = {
    flow: { transport, clientPort: 800, serverPort: opts.serverPort ?? 111, midstream: opts.midstream ?? false },
    evidence: opts.evidence ?? 'redacted',
    emit: (e) => events.push(e),
    expect: (x) => expectations.push(x),
    anomaly: (name) => anomalies.push(name),
  };
  const analyzer = new RpcAnalyzer(ctx, opts.options);
  return {
    analyzer,
    events,
    expectations,
    anomalies,
    of: <T extends AppEvent['type']>(type: T) => events.filter((e) => e.type === type) as Extract<AppEvent, { type: T }>[],
  };
}

/** Feeds a TCP direction in pieces of the given sizes (the last piece takes the rest). */
export function feedSplit(h: Harness, dir: Direction, bytes: Uint8Array, sizes: number[]): void {
  let at = 0;
  for (const n of sizes) {
    if (at >= bytes.length) break;
    h.analyzer.data(dir, bytes.subarray(at, Math.min(bytes.length, at + n)));
    at += n;
  }
  if (at < bytes.length) h.analyzer.data(dir, bytes.subarray(at));
}

// --- Program arguments and results ---------------------------------------------------------

export const pmapMapping = (prog: number, vers: number, prot: number, port = 0) =>
  xdr().u32(prog).u32(vers).u32(prot).u32(port).bytes();

export const rpcbArgs = (prog: number, vers: number, netid: string, addr = '', owner = '') =>
  xdr().u32(prog).u32(vers).string(netid).string(addr).string(owner).bytes();

export const u32 = (v: number) => xdr().u32(v).bytes();
export const str = (s: string) => xdr().string(s).bytes();

export function handle(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
