/**
 * Captures for the stress sections, and one way to replay them: a fragment flood (IPv4 or IPv6
 * first fragments that never complete, a MOUNT call to the indicator carried in IPv4 fragments
 * at its end), a SYN flood (every SYN a new half-open flow) and RPC-dense NFS (many NFSv3 calls
 * and replies on internal TCP and UDP flows, one MOUNT to the indicator in the middle).
 */
import { writeFileSync } from 'node:fs';
import { LINKTYPE_ETHERNET } from '../../src/decode/link-types.js';
import {
  ethernet,
  fragmentHeader,
  fragmentIPv4,
  hopByHop,
  IPPROTO,
  ipv4,
  ipv6,
  MOUNT_MNT,
  mountPathArgs,
  NFS3_PROC,
  nfs3Args,
  nfs3Result,
  PcapWriter,
  RPC_PROGRAM,
  rpcCall,
  rpcRecord,
  rpcReply,
  udp,
} from '../craft/index.js';
import { launcherNodeFlags } from '../launcher-flags.js';
import { measure } from './measure.js';
import { ipv4Number, PcapStream, TCP_FLAG, type Path } from './pcap-stream.js';

const START_SEC = 1738231200;
const MACS = { src: '02:00:0a:14:1e:29', dst: '00:1b:54:0a:14:01' };
/** The MOUNT call every stress capture carries: a hospital host mounting the indicator's export. */
const MOUNT_CLIENT = '10.20.30.41';
const INDICATOR = '202.114.4.119';
const MOUNTD_PORT = 20048;

export interface StressRun {
  /** Median wall time, start-up included. */
  seconds: number;
  /** Median of the replay's own timer (reading and analysis), or null when not printed. */
  innerSeconds: number | null;
  peakRssMiB: number | null;
  runs: number[];
  alerts: Record<string, number>;
  /** The run's last EVE stats record. */
  stats: Record<string, unknown> | null;
  /** The last run's text summary (stderr), line by line. */
  summary: string[];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Replays `file` `runs` times with the CLI and the default rules. */
export async function replayRuns(cli: string, file: string, runs: number, extraArgs: string[] = []): Promise<StressRun> {
  const walls: number[] = [];
  const inners: number[] = [];
  let peak: number | null = null;
  let alerts: Record<string, number> = {};
  let stats: Record<string, unknown> | null = null;
  let summary: string[] = [];
  for (let i = 0; i < runs; i++) {
    const lines: string[] = [];
    const counts: Record<string, number> = {};
    const run = await measure(process.execPath, [...launcherNodeFlags(), cli, 'replay', file, '--format', 'json', '--log-level', 'warn', ...extraArgs], {
      timeoutSeconds: 900,
      onLine: (line) => {
        if (line.includes('"event_type":"alert"')) {
          const sid = String((JSON.parse(line) as { alert: { signature_id: number } }).alert.signature_id);
          counts[sid] = (counts[sid] ?? 0) + 1;
        } else if (line.includes('"event_type":"stats"')) {
          stats = (JSON.parse(line) as { stats: Record<string, unknown> }).stats;
        }
      },
      onStderrLine: (line) => {
        lines.push(line);
        const m = /^traffic .* in ([0-9.]+) s/.exec(line);
        if (m) inners.push(Number(m[1]));
      },
    });
    if (run.exitCode !== 0) throw new Error(`replay of ${file} ${run.timedOut ? 'was stopped' : `exited with ${run.exitCode}`}: ${run.stderrTail}`);
    walls.push(run.seconds);
    if (run.peakRssMiB !== null) peak = Math.max(peak ?? 0, run.peakRssMiB);
    alerts = counts;
    summary = lines;
  }
  return { seconds: median(walls), innerSeconds: inners.length === runs ? median(inners) : null, peakRssMiB: peak, runs: walls, alerts, stats, summary };
}

/** A number from the stats record by its dotted path, or null. */
export function statAt(stats: Record<string, unknown> | null, path: string): number | null {
  let at: unknown = stats;
  for (const key of path.split('.')) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
  return typeof at === 'number' ? at : null;
}

/** The MOUNT MNT call from MOUNT_CLIENT to the indicator, as IPv4 fragments of 32 payload bytes. */
function mountInFragments(): Buffer[] {
  const call = rpcCall({ xid: 0x4d4e5401, program: RPC_PROGRAM.MOUNT, version: 3, procedure: MOUNT_MNT, auth: { stamp: 1, machineName: 'cms8000', uid: 0, gid: 0 } }, mountPathArgs('/pm'));
  const packet = ipv4({ src: MOUNT_CLIENT, dst: INDICATOR, id: 0x4d4e, protocol: IPPROTO.UDP }, udp({ sport: 1021, dport: MOUNTD_PORT }, call));
  return fragmentIPv4(packet, 32).map((f) => Buffer.from(ethernet(MACS, f)));
}

/**
 * `count` first fragments of their own datagrams (a new id, and for IPv4 a new source every
 * 65 536, so none ever completes), 100 000 a second; the MOUNT call's fragments go out among the
 * last 3 000, the final one after the flood. Returns the file's size.
 */
export function writeFragmentFlood(file: string, count: number, family: 'ipv4' | 'ipv6'): number {
  const v6 = Buffer.from(ethernet(MACS, ipv6({ src: 'fd00:10:20:30::41', dst: 'ff02::16', protocol: IPPROTO.ICMPV6, extensions: [hopByHop(), fragmentHeader({ id: 0, more: true })] }, Buffer.alloc(16, 0x8f))));
  const v4 = Buffer.from(ethernet(MACS, ipv4({ src: '10.21.0.0', dst: '10.1.5.30', id: 0, mf: true, protocol: IPPROTO.UDP }, Buffer.alloc(24, 0x55))));
  // The IPv6 fragment header's id: after Ethernet, the fixed header and the 8-byte hop-by-hop header.
  const v6IdAt = 14 + 40 + 8 + 4;
  const mount = mountInFragments();
  const mountAt = new Map(mount.map((f, k) => [count - 3000 + Math.floor((3000 * k) / (mount.length - 1)), f]));
  const writer = new PcapWriter({ linkType: LINKTYPE_ETHERNET });
  const time = (i: number) => ({ sec: START_SEC + Math.floor(i / 100_000), nsec: (i % 100_000) * 10_000 });
  for (let i = 0; i <= count; i++) {
    const m = mountAt.get(i);
    if (m !== undefined) writer.add({ ...time(i), data: m });
    if (i === count) break;
    if (family === 'ipv6') {
      v6.writeUInt32BE(i >>> 0, v6IdAt);
    } else {
      v4.writeUInt16BE(i & 0xffff, 14 + 4);
      v4.writeUInt16BE(i >>> 16, 14 + 14); // the source's low half
      v4.writeUInt16BE(0, 14 + 10);
      v4.writeUInt16BE(ipChecksum(v4, 14), 14 + 10);
    }
    // A copy: the writer keeps the bytes it is given.
    writer.add({ ...time(i), data: Buffer.from(family === 'ipv6' ? v6 : v4) });
  }
  const bytes = writer.toBuffer();
  writeFileSync(file, bytes);
  return bytes.length;
}

function ipChecksum(b: Buffer, ip: number): number {
  let sum = 0;
  for (let i = ip; i < ip + 20; i += 2) sum += (b[i] << 8) | b[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function path(src: string, dst: string): Path {
  return { srcMac: Buffer.from('020000000001', 'hex'), dstMac: Buffer.from('001b540a1401', 'hex'), vlan: 0, srcIp: ipv4Number(src), dstIp: ipv4Number(dst), ttl: 64, ipId: 1 };
}

/** `count` SYNs, each from a new hospital address and port to an outside server, 20 000 a second. */
export function writeSynFlood(file: string, count: number): { packets: number; fileBytes: number } {
  const out = new PcapStream(file);
  out.sec = START_SEC;
  const p = path('10.0.0.1', '198.51.100.10');
  for (let i = 0; i < count; i++) {
    p.srcIp = (0x0a000000 | (i >>> 6)) >>> 0;
    out.tcp(p, 1024 + (i & 63), 443, 0x1000 + i, 0, TCP_FLAG.SYN, 64240, null, null);
    out.advance(50_000);
  }
  out.close();
  return { packets: out.packets, fileBytes: out.fileBytes };
}

/**
 * NFSv3 GETATTR calls and replies on 32 internal TCP connections (record marked, one call per
 * segment) and 8 UDP flows, until `sizeBytes`; the MOUNT call to the indicator over UDP halfway.
 */
export function writeRpcDense(file: string, sizeBytes: number): { packets: number; fileBytes: number; calls: number } {
  const out = new PcapStream(file);
  out.sec = START_SEC;
  const server = '10.2.0.1';
  const fh = Buffer.alloc(32, 0x11);
  const attrs = { type: 1 as const, mode: 0o644, size: 4096, fileId: 77, time: START_SEC };
  const reply = nfs3Result.getattr(attrs);
  const args = nfs3Args.getattr(fh);
  type Conn = { c: Path; s: Path; port: number; cseq: number; sseq: number };
  const tcp: Conn[] = [];
  for (let k = 0; k < 32; k++) {
    const conn = { c: path(`10.1.0.${10 + k}`, server), s: path(server, `10.1.0.${10 + k}`), port: 700 + k, cseq: 1000, sseq: 5000 };
    out.tcp(conn.c, conn.port, 2049, conn.cseq++, 0, TCP_FLAG.SYN, 64240, null, null);
    out.tcp(conn.s, 2049, conn.port, conn.sseq++, conn.cseq, TCP_FLAG.SYN | TCP_FLAG.ACK, 64240, null, null);
    out.tcp(conn.c, conn.port, 2049, conn.cseq, conn.sseq, TCP_FLAG.ACK, 64240, null, null);
    tcp.push(conn);
  }
  const udpFlows = Array.from({ length: 8 }, (_, k) => ({ c: path(`10.1.1.${10 + k}`, server), s: path(server, `10.1.1.${10 + k}`), port: 800 + k }));
  let calls = 0;
  let mounted = false;
  while (out.fileBytes < sizeBytes) {
    const xid = 0x10000 + calls;
    const call = rpcCall({ xid, program: RPC_PROGRAM.NFS, version: 3, procedure: NFS3_PROC.GETATTR }, args);
    const answer = rpcReply({ xid }, reply);
    if (calls % 5 === 4) {
      const u = udpFlows[(calls / 5) & 7];
      out.udp(u.c, u.port, 2049, call);
      out.advance(20_000);
      out.udp(u.s, 2049, u.port, answer);
    } else {
      const t = tcp[calls & 31];
      const rc = rpcRecord(call);
      const rr = rpcRecord(answer);
      out.tcp(t.c, t.port, 2049, t.cseq, t.sseq, TCP_FLAG.PSH | TCP_FLAG.ACK, 64240, null, rc);
      t.cseq += rc.length;
      out.advance(20_000);
      out.tcp(t.s, 2049, t.port, t.sseq, t.cseq, TCP_FLAG.PSH | TCP_FLAG.ACK, 64240, null, rr);
      t.sseq += rr.length;
    }
    out.advance(20_000);
    calls++;
    if (!mounted && out.fileBytes >= sizeBytes / 2) {
      mounted = true;
      const m = path(MOUNT_CLIENT, INDICATOR);
      out.udp(m, 1021, MOUNTD_PORT, rpcCall({ xid: 0x4d4e5402, program: RPC_PROGRAM.MOUNT, version: 3, procedure: MOUNT_MNT }, mountPathArgs('/pm')));
    }
  }
  out.close();
  return { packets: out.packets, fileBytes: out.fileBytes, calls };
}
