/**
 * The conversations of the benchmark capture. A flow is an iterator: each `next()` writes exactly
 * one packet, so a scheduler can interleave many flows as a mirror port sees them.
 */
import type { Prng } from '../craft/index.js';
import {
  cms8000Session,
  dnsExchange,
  hl7Exchange,
  httpRequest,
  httpResponse,
  LPD_ACK,
  lpdJob,
  MOUNTD_PORT,
  nfsMountCalls,
  slice,
  syslogLine,
} from './payloads.js';
import { ipv4Number, TCP_FLAG, type Path, type PcapStream } from './pcap-stream.js';

export type Flow = Generator<void, void, void>;

/** What every flow builder needs: the writer, the seeded generator and the payload pools. */
export interface FlowContext {
  out: PcapStream;
  rng: Prng;
  /** Random bytes: TLS, SMB and DICOM bodies. */
  random: Buffer;
  /** Printable text: HTTP bodies, syslog lines, print jobs. */
  text: Buffer;
  serial: number;
}

const MSS = 1460;
const WINDOW = 502; // scaled by the window scale option of the SYN
const SYN_OPTIONS = Buffer.from([2, 4, MSS >> 8, MSS & 0xff, 1, 3, 3, 7, 1, 1, 4, 2]); // MSS, WS 7, SACK permitted
const ROUTER_MAC = Buffer.from([0x00, 0x1b, 0x54, 0x0a, 0x14, 0x01]);

export const SERVERS = {
  dns: '10.1.0.53',
  syslog: '10.1.0.60',
  hl7Engine: '10.1.5.20',
  fileServer: '10.1.9.5',
  pacs: '10.1.7.30',
  backdoor: '202.114.4.119',
} as const;

function isInside(ip: number): boolean {
  return ip >>> 24 === 10 || ip >>> 16 === 0xc0a8;
}

function macOf(ip: number): Buffer {
  if (!isInside(ip)) return ROUTER_MAC;
  return Buffer.from([0x02, 0x00, ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff]);
}

function insideClient(rng: Prng): number {
  return rng.next() < 0.8 ? ipv4Number(`10.20.${rng.int(0, 63)}.${rng.int(1, 250)}`) : ipv4Number(`192.168.10.${rng.int(2, 250)}`);
}

/** A public unicast address outside the indicator block 202.114.4.0/24. */
function outsideHost(rng: Prng): number {
  for (;;) {
    const a = rng.int(1, 223);
    const b = rng.int(0, 255);
    if (a === 10 || a === 127 || a === 0 || (a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168)) continue;
    const c = rng.int(0, 255);
    if (a === 202 && b === 114 && c === 4) continue;
    return ((a << 24) | (b << 16) | (c << 8) | rng.int(1, 254)) >>> 0;
  }
}

function vlanFor(rng: Prng): number {
  return rng.next() < 0.3 ? rng.pick([10, 20, 30, 110]) : 0;
}

function ephemeralPort(rng: Prng): number {
  return rng.int(32768, 60999);
}

/** Both directions between two hosts. */
function paths(rng: Prng, client: number, server: number, vlan: number): { c2s: Path; s2c: Path } {
  const clientMac = macOf(client);
  const serverMac = macOf(server);
  return {
    c2s: { srcMac: clientMac, dstMac: serverMac, vlan, srcIp: client, dstIp: server, ttl: rng.next() < 0.7 ? 64 : 128, ipId: rng.int(0, 0xffff) },
    s2c: { srcMac: serverMac, dstMac: clientMac, vlan, srcIp: server, dstIp: client, ttl: isInside(server) ? 64 : rng.int(40, 60), ipId: rng.int(0, 0xffff) },
  };
}

/** Bytes one side sends: data[offset, offset + length), wrapping inside `data` when longer. */
export interface Message {
  fromClient: boolean;
  data: Buffer;
  offset: number;
  length: number;
}

function message(fromClient: boolean, data: Buffer): Message {
  return { fromClient, data, offset: 0, length: data.length };
}

function bulk(ctx: FlowContext, fromClient: boolean, length: number): Message {
  return { fromClient, data: ctx.random, offset: ctx.rng.int(0, ctx.random.length - MSS - 1), length };
}

/** A TCP connection's sequence numbers and the packets of each step. */
class TcpConnection {
  private clientSeq: number;
  private serverSeq: number;

  constructor(
    private readonly out: PcapStream,
    private readonly c2s: Path,
    private readonly s2c: Path,
    private readonly clientPort: number,
    private readonly serverPort: number,
    rng: Prng,
  ) {
    this.clientSeq = rng.int(0, 0xffffffff);
    this.serverSeq = rng.int(0, 0xffffffff);
  }

  syn(): void {
    this.out.tcp(this.c2s, this.clientPort, this.serverPort, this.clientSeq, 0, TCP_FLAG.SYN, 64240, SYN_OPTIONS, null);
    this.clientSeq = (this.clientSeq + 1) >>> 0;
  }

  synAck(): void {
    this.out.tcp(this.s2c, this.serverPort, this.clientPort, this.serverSeq, this.clientSeq, TCP_FLAG.SYN | TCP_FLAG.ACK, 65160, SYN_OPTIONS, null);
    this.serverSeq = (this.serverSeq + 1) >>> 0;
  }

  ack(fromClient: boolean): void {
    this.segment(fromClient, TCP_FLAG.ACK, null, 0, 0);
  }

  reset(fromClient: boolean): void {
    this.segment(fromClient, TCP_FLAG.RST | TCP_FLAG.ACK, null, 0, 0);
  }

  fin(fromClient: boolean): void {
    this.segment(fromClient, TCP_FLAG.FIN | TCP_FLAG.ACK, null, 0, 0);
    if (fromClient) this.clientSeq = (this.clientSeq + 1) >>> 0;
    else this.serverSeq = (this.serverSeq + 1) >>> 0;
  }

  data(fromClient: boolean, payload: Buffer, from: number, to: number, push: boolean): void {
    this.segment(fromClient, TCP_FLAG.ACK | (push ? TCP_FLAG.PSH : 0), payload, from, to);
    if (fromClient) this.clientSeq = (this.clientSeq + to - from) >>> 0;
    else this.serverSeq = (this.serverSeq + to - from) >>> 0;
  }

  private segment(fromClient: boolean, flags: number, payload: Buffer | null, from: number, to: number): void {
    if (fromClient) this.out.tcp(this.c2s, this.clientPort, this.serverPort, this.clientSeq, this.serverSeq, flags, WINDOW, null, payload, from, to);
    else this.out.tcp(this.s2c, this.serverPort, this.clientPort, this.serverSeq, this.clientSeq, flags, WINDOW, null, payload, from, to);
  }
}

/** Handshake, the messages in MSS-sized segments (the peer ACKs every second one and the last), FIN both ways. */
function* tcpSession(ctx: FlowContext, client: number, server: number, serverPort: number, messages: Message[], clientPort = ephemeralPort(ctx.rng), vlan = vlanFor(ctx.rng)): Flow {
  const { c2s, s2c } = paths(ctx.rng, client, server, vlan);
  const tcp = new TcpConnection(ctx.out, c2s, s2c, clientPort, serverPort, ctx.rng);
  tcp.syn();
  yield;
  tcp.synAck();
  yield;
  tcp.ack(true);
  yield;
  for (const m of messages) {
    let sinceAck = 0;
    for (let sent = 0; sent < m.length; ) {
      const n = Math.min(MSS, m.length - sent);
      let from = m.offset + sent;
      if (from + n > m.data.length) from %= m.data.length - MSS;
      sent += n;
      tcp.data(m.fromClient, m.data, from, from + n, sent === m.length);
      yield;
      if (++sinceAck === 2 || sent === m.length) {
        tcp.ack(!m.fromClient);
        yield;
        sinceAck = 0;
      }
    }
  }
  tcp.fin(true);
  yield;
  tcp.fin(false);
  yield;
  tcp.ack(true);
}

/** A SYN answered by a reset: a closed port. */
function* refused(ctx: FlowContext): Flow {
  const client = insideClient(ctx.rng);
  const server = ctx.rng.next() < 0.5 ? outsideHost(ctx.rng) : ipv4Number(`10.1.${ctx.rng.int(0, 20)}.${ctx.rng.int(2, 250)}`);
  const { c2s, s2c } = paths(ctx.rng, client, server, vlanFor(ctx.rng));
  const tcp = new TcpConnection(ctx.out, c2s, s2c, ephemeralPort(ctx.rng), ctx.rng.pick([22, 3389, 8443, 5900]), ctx.rng);
  tcp.syn();
  yield;
  tcp.reset(false);
}

function* udpExchange(ctx: FlowContext, client: number, server: number, clientPort: number, serverPort: number, datagrams: Array<{ fromClient: boolean; data: Buffer }>, vlan = vlanFor(ctx.rng)): Flow {
  const { c2s, s2c } = paths(ctx.rng, client, server, vlan);
  for (let i = 0; i < datagrams.length; i++) {
    const d = datagrams[i];
    if (d.fromClient) ctx.out.udp(c2s, clientPort, serverPort, d.data);
    else ctx.out.udp(s2c, serverPort, clientPort, d.data);
    if (i < datagrams.length - 1) yield;
  }
}

// ---------------------------------------------------------------------------------------------
// Short flows

function https(ctx: FlowContext): Flow {
  const r = ctx.rng;
  const messages: Message[] = [];
  for (let i = r.int(1, 3); i > 0; i--) messages.push(bulk(ctx, true, r.int(300, 900)), bulk(ctx, false, r.int(1_000, 30_000)));
  return tcpSession(ctx, insideClient(r), outsideHost(r), 443, messages);
}

function intranetHttp(ctx: FlowContext): Flow {
  const r = ctx.rng;
  const server = ipv4Number(`10.1.2.${r.int(10, 20)}`);
  const messages: Message[] = [];
  for (let i = r.int(1, 2); i > 0; i--) {
    const post = r.next() < 0.2;
    messages.push(message(true, httpRequest('ehr.hospital.local', `/api/v2/${r.pick(['orders', 'results', 'beds', 'devices'])}/${r.int(1, 99999)}`, post ? slice(ctx.text, r, r.int(100, 2_000)) : undefined)));
    messages.push(message(false, httpResponse(slice(ctx.text, r, r.int(200, 8_000)))));
  }
  return tcpSession(ctx, insideClient(r), server, r.pick([80, 8080]), messages);
}

function dns(ctx: FlowContext): Flow {
  const r = ctx.rng;
  const datagrams: Array<{ fromClient: boolean; data: Buffer }> = [];
  for (let i = r.int(1, 2); i > 0; i--) {
    const { query, answer } = dnsExchange(r);
    datagrams.push({ fromClient: true, data: query }, { fromClient: false, data: answer });
  }
  return udpExchange(ctx, insideClient(r), ipv4Number(SERVERS.dns), ephemeralPort(r), 53, datagrams);
}

function syslog(ctx: FlowContext): Flow {
  const r = ctx.rng;
  const client = insideClient(r);
  const host = `dev${client & 0xffff}`;
  const datagrams = Array.from({ length: r.int(1, 10) }, () => ({ fromClient: true, data: syslogLine(r, host, ctx.text) }));
  return udpExchange(ctx, client, ipv4Number(SERVERS.syslog), 514, 514, datagrams);
}

function smb(ctx: FlowContext): Flow {
  const r = ctx.rng;
  const messages: Message[] = [];
  for (let i = r.int(2, 6); i > 0; i--) messages.push(bulk(ctx, true, r.int(70, 400)), bulk(ctx, false, r.int(100, 4_000)));
  return tcpSession(ctx, insideClient(r), ipv4Number(SERVERS.fileServer), 445, messages);
}

function hl7(ctx: FlowContext): Flow {
  const r = ctx.rng;
  const messages: Message[] = [];
  for (let i = r.int(1, 4); i > 0; i--) {
    const { message: m, ack } = hl7Exchange(r, ctx.serial++);
    messages.push(message(true, m), message(false, ack));
  }
  return tcpSession(ctx, ipv4Number(`10.1.6.${r.int(10, 40)}`), ipv4Number(SERVERS.hl7Engine), 2575, messages);
}

function lpd(ctx: FlowContext): Flow {
  const r = ctx.rng;
  const client = insideClient(r);
  const lines = lpdJob(r, ctx.text, ctx.serial++, `ws${client & 0xffff}`);
  const messages = lines.flatMap((line) => [message(true, line), message(false, LPD_ACK)]);
  return tcpSession(ctx, client, ipv4Number(`10.1.40.${r.int(21, 30)}`), 515, messages, r.int(721, 731));
}

/** Short flows by how often one starts. */
export const SHORT_FLOWS: ReadonlyArray<{ kind: string; weight: number; start: (ctx: FlowContext) => Flow }> = [
  { kind: 'https', weight: 28, start: https },
  { kind: 'intranet-http', weight: 15, start: intranetHttp },
  { kind: 'dns', weight: 22, start: dns },
  { kind: 'syslog', weight: 8, start: syslog },
  { kind: 'smb', weight: 8, start: smb },
  { kind: 'hl7-internal', weight: 6, start: hl7 },
  { kind: 'lpd-internal', weight: 3, start: lpd },
  { kind: 'refused', weight: 4, start: refused },
];

// ---------------------------------------------------------------------------------------------
// Long flows with bulk data

function download(ctx: FlowContext): Flow {
  const r = ctx.rng;
  return tcpSession(ctx, insideClient(r), outsideHost(r), 443, [bulk(ctx, true, r.int(400, 800)), bulk(ctx, false, r.int(2 << 20, 40 << 20))]);
}

function pacsStore(ctx: FlowContext): Flow {
  const r = ctx.rng;
  return tcpSession(ctx, ipv4Number(`10.1.7.${r.int(40, 60)}`), ipv4Number(SERVERS.pacs), 104, [bulk(ctx, true, r.int(2 << 20, 20 << 20)), bulk(ctx, false, r.int(50, 200))]);
}

function fileRead(ctx: FlowContext): Flow {
  const r = ctx.rng;
  return tcpSession(ctx, insideClient(r), ipv4Number(SERVERS.fileServer), 445, [bulk(ctx, true, r.int(100, 300)), bulk(ctx, false, r.int(1 << 20, 20 << 20))]);
}

export const BULK_FLOWS: ReadonlyArray<{ kind: string; weight: number; start: (ctx: FlowContext) => Flow }> = [
  { kind: 'download', weight: 5, start: download },
  { kind: 'pacs-store', weight: 2, start: pacsStore },
  { kind: 'file-read', weight: 3, start: fileRead },
];

// ---------------------------------------------------------------------------------------------
// Planted alert-worthy flows

/** A CMS8000 monitor streaming its central-station blocks to the backdoor address on TCP 515. */
export function cms8000ToIndicator(ctx: FlowContext, k: number): { flow: Flow; client: string; server: string } {
  const client = `10.20.30.${40 + k}`;
  const messages = cms8000Session(10 + k, 6).map((m) => message(m.fromMonitor, m.data));
  return { flow: tcpSession(ctx, ipv4Number(client), ipv4Number(SERVERS.backdoor), 515, messages, 40312 + k, k % 2 === 0 ? 30 : 0), client, server: `${SERVERS.backdoor}:515` };
}

/** busybox mount of 202.114.4.119:/pm over UDP: portmap GETPORT, then MNT from a reserved port. */
export function* nfsMountOfIndicator(ctx: FlowContext, k: number): Flow {
  const client = ipv4Number(`10.20.30.${80 + k}`);
  const server = ipv4Number(SERVERS.backdoor);
  const rpc = nfsMountCalls((0x4e1f0000 + k * 0x100) >>> 0, '/pm');
  yield* udpExchange(ctx, client, server, 45871 + k, 111, [{ fromClient: true, data: rpc.getport }, { fromClient: false, data: rpc.getportReply }], 0);
  yield;
  yield* udpExchange(ctx, client, server, 1021 - k, MOUNTD_PORT, [{ fromClient: true, data: rpc.mnt }, { fromClient: false, data: rpc.mntReply }], 0);
}

export function nfsMountEndpoints(k: number): { client: string; server: string } {
  return { client: `10.20.30.${80 + k}`, server: `${SERVERS.backdoor}:111,${MOUNTD_PORT}` };
}
