/**
 * The sample hospital network of the detection scenarios, and the timing of its conversations
 * as a capture on the hospital's mirror port sees them: the client's packets at once, the
 * server's answers one round trip later.
 */
import {
  Clock,
  ethernet,
  ipv4,
  macFor,
  TcpConversation,
  udp,
  type CaptureRecord,
  type Layer,
  type Payload,
  type Side,
} from '../craft/index.js';

/** Hosts of the scenarios. Inside: 10/8 and 192.168/16. Outside: the indicators and documentation ranges. */
export const SITE = {
  monitor: '10.20.30.40', // Contec CMS8000 in ICU 3, bed 12
  monitorBed14: '10.20.30.42',
  monitorBed15: '10.20.30.43',
  monitorBed16: '10.20.30.44',
  central: '10.20.30.10', // the hospital's own central monitoring station
  hl7Engine: '10.1.5.20', // the interface engine
  filer: '10.1.9.5',
  printer: '10.1.40.21',
  workstation: '192.168.10.25',
  backdoor: '202.114.4.119', // the backdoor's NFS and data address
  backdoorHl7: '202.114.4.120', // the monitor's default HL7 server
  backdoorBlock: '202.114.4.77', // inside 202.114.4.0/24, not itself listed
  outsideBlock: '202.114.5.10', // just outside 202.114.4.0/24
  externalHl7: '198.51.100.23',
  externalMount: '203.0.113.50',
  externalNfs4: '203.0.113.61',
  webServer: '198.51.100.80',
  external517: '198.51.100.99',
  externalCms: '198.51.100.140', // takes CMS8000 streams on TCP 6000
  attacker: '203.0.113.77', // reaches the monitors from outside
  portal: '10.1.7.80', // the hospital's patient portal, open to the internet
} as const;

/** Round-trip times seen from the hospital's mirror port, in microseconds. */
export const RTT = {
  lan: 350,
  internet: 38_000,
  /** To 202.114.4.0/24 (CERNET, Wuhan). */
  china: 232_000,
} as const;

/** Outside hosts are reached through the hospital's edge router. */
const ROUTER_MAC = '00:1b:54:0a:14:01';

function isInside(ip: string): boolean {
  return /^(10|192\.168)\./.test(ip);
}

export function macOf(ip: string): string {
  return isInside(ip) ? macFor(ip) : ROUTER_MAC;
}

/** A clock at the given time of 2025-01-30 (UTC), the day of the scenarios. */
export function clockAt(hours: number, minutes: number, seconds = 0): Clock {
  return new Clock(Date.UTC(2025, 0, 30, hours, minutes, seconds) / 1000);
}

export interface Endpoint {
  ip: string;
  port: number;
}

/** A host's gap between two packets it sends back to back, and between an answer and its reply. */
const BACK_TO_BACK = 25;
const TURNAROUND = 70;

/**
 * Places frames on the capture's time line. A server frame that answers the client comes one
 * round trip after the client's last frame; anything else follows closely, after any pause
 * (think time, timers) the caller asks for.
 */
export class Timeline {
  readonly records: CaptureRecord[] = [];
  private last: Side | null = null;

  constructor(readonly clock: Clock) {}

  add(from: Side, frame: Uint8Array, rttMicros: number, pauseMicros = 0): void {
    const answer = this.last !== null && this.last !== from;
    const delay = pauseMicros + (answer ? (from === 'server' ? rttMicros : TURNAROUND) : BACK_TO_BACK);
    this.last = from;
    this.records.push({ ...this.clock.advance(delay), data: frame });
  }

  /** Nothing on the wire for a while; the next frame answers nothing. */
  idle(micros: number): this {
    this.clock.advance(micros);
    this.last = null;
    return this;
  }
}

/** An IPv4 packet in Ethernet between the two hosts' MACs. */
export function frame(src: string, dst: string, packet: Layer): Uint8Array {
  return ethernet({ src: macOf(src), dst: macOf(dst) }, packet);
}

export interface TcpSessionOptions {
  client: Endpoint;
  server: Endpoint;
  rtt: number;
  clientIsn: number;
  serverIsn: number;
  mss?: number;
}

/**
 * A TCP conversation placed on a time line: the crafting library's TcpConversation builds the
 * segments with consistent numbers, this times them as a capture inside the hospital sees them.
 */
export class TcpSession {
  private readonly conv: TcpConversation;
  private readonly sides: Side[] = [];
  private taken = 0;
  private pauseNext = 0;

  constructor(
    private readonly timeline: Timeline,
    private readonly opts: TcpSessionOptions,
  ) {
    this.conv = new TcpConversation({
      client: opts.client,
      server: opts.server,
      clock: new Clock(0),
      gapMicros: 0,
      clientIsn: opts.clientIsn,
      serverIsn: opts.serverIsn,
      mss: opts.mss,
      link: (packet, from) => {
        this.sides.push(from);
        const [a, b] = from === 'client' ? [opts.client, opts.server] : [opts.server, opts.client];
        return frame(a.ip, b.ip, packet);
      },
    });
  }

  handshake(): this {
    this.conv.handshake();
    return this.place();
  }

  /** Data in MSS-sized segments, then the peer's ACK unless `ack` is false. */
  send(from: Side, payload: Payload, options: { ack?: boolean } = {}): this {
    this.conv.send(from, payload, options);
    return this.place();
  }

  segment(from: Side, flags: string, payload?: Payload): this {
    this.conv.segment(from, flags, payload);
    return this.place();
  }

  close(from: Side = 'client'): this {
    this.conv.close(from);
    return this.place();
  }

  /** Idle time before the next frame (application think time, timers). */
  pause(micros: number): this {
    this.pauseNext += micros;
    return this;
  }

  /**
   * Runs `talk` on the conversation and returns its frames without placing them, for the
   * caller to put on the time line in another order (see `place`).
   */
  unplaced(talk: (conv: TcpConversation) => void): Array<{ from: Side; frame: Uint8Array }> {
    talk(this.conv);
    const out: Array<{ from: Side; frame: Uint8Array }> = [];
    for (; this.taken < this.conv.records.length; this.taken++) out.push({ from: this.sides[this.taken], frame: this.conv.records[this.taken].data });
    return out;
  }

  /** Puts a frame built elsewhere (a retransmission, a reordered segment) on the time line. */
  placeFrame(from: Side, data: Uint8Array): this {
    this.timeline.add(from, data, this.opts.rtt, this.pauseNext);
    this.pauseNext = 0;
    return this;
  }

  private place(): this {
    for (; this.taken < this.conv.records.length; this.taken++) this.placeFrame(this.sides[this.taken], this.conv.records[this.taken].data);
    return this;
  }
}

/** UDP datagrams between two endpoints on a time line (RPC over UDP). */
export class UdpExchange {
  private readonly ipId: Record<Side, number>;

  constructor(
    private readonly timeline: Timeline,
    private readonly opts: { client: Endpoint; server: Endpoint; rtt: number; clientIpId: number; serverIpId: number },
  ) {
    this.ipId = { client: opts.clientIpId, server: opts.serverIpId };
  }

  send(from: Side, payload: Payload, pauseMicros = 0): this {
    const [a, b] = from === 'client' ? [this.opts.client, this.opts.server] : [this.opts.server, this.opts.client];
    const packet = ipv4({ src: a.ip, dst: b.ip, id: this.ipId[from]++ & 0xffff, ttl: 64, df: true }, udp({ sport: a.port, dport: b.port }, payload));
    this.timeline.add(from, frame(a.ip, b.ip, packet), this.opts.rtt, pauseMicros);
    return this;
  }
}
