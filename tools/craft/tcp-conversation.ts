/**
 * Builds a TCP conversation with consistent sequence and acknowledgement numbers: handshake,
 * data in either direction (split at the MSS, acknowledged by the peer), FIN or RST.
 */
import { isIPv6, toBuffer, type Layer, type Payload } from './bytes.js';
import type { Clock } from './clock.js';
import { ipv4, ipv6 } from './ip.js';
import { ethernet } from './link.js';
import type { CaptureRecord } from './pcap-writer.js';
import { tcp, tcpOption } from './transport.js';

export interface TcpEndpoint {
  ip: string;
  port: number;
  /** Defaults to a locally administered MAC made from the address. */
  mac?: string;
}

export type Side = 'client' | 'server';

export interface TcpConversationOptions {
  client: TcpEndpoint;
  server: TcpEndpoint;
  clock: Clock;
  clientIsn?: number;
  serverIsn?: number;
  /** Microseconds between one packet and the next. */
  gapMicros?: number;
  /** Largest payload per segment. */
  mss?: number;
  window?: number;
  /** Puts each IP packet in a link layer; Ethernet between the endpoints' MACs unless given. */
  link?: (packet: Layer, from: Side) => Uint8Array;
}

/** A locally administered MAC derived from the last 4 bytes of an address. */
export function macFor(ip: string): string {
  const tail = isIPv6(ip) ? ip.replace(/.*:/, '').padStart(4, '0') : '';
  const bytes = isIPv6(ip)
    ? [0, 0, parseInt(tail.slice(0, 2), 16) || 0, parseInt(tail.slice(2, 4), 16) || 0]
    : ip.split('.').map(Number);
  return ['02', '00', ...bytes.map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export class TcpConversation {
  readonly records: CaptureRecord[] = [];
  private readonly next: Record<Side, number>;
  private readonly ipId: Record<Side, number> = { client: 0x4a10, server: 0x1c20 };
  private readonly gap: number;
  private readonly mss: number;
  private readonly link: (packet: Layer, from: Side) => Uint8Array;

  constructor(private readonly opts: TcpConversationOptions) {
    this.next = { client: opts.clientIsn ?? 0x3a1f0000, server: opts.serverIsn ?? 0x7c2e0000 };
    this.gap = opts.gapMicros ?? 150;
    this.mss = opts.mss ?? 1460;
    this.link =
      opts.link ??
      ((packet, from) => {
        const [a, b] = from === 'client' ? [opts.client, opts.server] : [opts.server, opts.client];
        return ethernet({ src: a.mac ?? macFor(a.ip), dst: b.mac ?? macFor(b.ip) }, packet);
      });
  }

  /** SYN, SYN-ACK, ACK. */
  handshake(): this {
    const synOptions = [tcpOption.mss(this.mss), tcpOption.sackPermitted(), tcpOption.nop(), tcpOption.windowScale(7)];
    this.emit('client', 'S', undefined, synOptions);
    this.advance('client', 1);
    this.emit('server', 'SA', undefined, synOptions);
    this.advance('server', 1);
    return this.emit('client', 'A');
  }

  /** Data from one side in MSS-sized segments, then a pure ACK from the peer unless `ack` is false. */
  send(from: Side, payload: Payload, options: { ack?: boolean } = {}): this {
    const data = toBuffer(payload);
    for (let at = 0; at < data.length; at += this.mss) {
      const piece = data.subarray(at, Math.min(at + this.mss, data.length));
      this.emit(from, 'PA', piece);
      this.advance(from, piece.length);
    }
    if (options.ack ?? true) this.emit(peer(from), 'A');
    return this;
  }

  /** FIN from `from`, FIN from the peer, last ACK. */
  close(from: Side = 'client'): this {
    this.emit(from, 'FA');
    this.advance(from, 1);
    this.emit(peer(from), 'FA');
    this.advance(peer(from), 1);
    return this.emit(from, 'A');
  }

  reset(from: Side): this {
    return this.emit(from, 'RA');
  }

  /** One segment with the side's current numbers and any flags, for unusual conversations. */
  segment(from: Side, flags: string, payload?: Payload): this {
    const data = payload === undefined ? undefined : toBuffer(payload);
    this.emit(from, flags, data);
    this.advance(from, (data?.length ?? 0) + (/[SF]/i.test(flags) ? 1 : 0));
    return this;
  }

  private advance(side: Side, bytes: number): void {
    this.next[side] = (this.next[side] + bytes) >>> 0;
  }

  private emit(from: Side, flags: string, payload?: Buffer, options?: Uint8Array[]): this {
    const [a, b] = from === 'client' ? [this.opts.client, this.opts.server] : [this.opts.server, this.opts.client];
    const segment = tcp(
      {
        sport: a.port,
        dport: b.port,
        seq: this.next[from],
        ack: /a/i.test(flags) ? this.next[peer(from)] : 0,
        flags,
        // A SYN's window is not scaled; later ones are, by the window scale option (7) sent in it.
        window: /s/i.test(flags) ? 64240 : (this.opts.window ?? 502),
        options,
      },
      payload,
    );
    const packet = isIPv6(a.ip)
      ? ipv6({ src: a.ip, dst: b.ip, hopLimit: 64 }, segment)
      : ipv4({ src: a.ip, dst: b.ip, id: this.ipId[from]++, ttl: 64, df: true }, segment);
    const t = this.opts.clock.advance(this.gap);
    this.records.push({ sec: t.sec, nsec: t.nsec, data: this.link(packet, from) });
    return this;
  }
}

function peer(side: Side): Side {
  return side === 'client' ? 'server' : 'client';
}
