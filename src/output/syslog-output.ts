/**
 * The syslog output: each EVE record as one RFC 5424 message (APP-NAME `wardwatch`, MSGID the
 * event type, the EVE JSON as MSG, severity from the alert's), over TCP or TLS with RFC 6587
 * octet counting (`LEN SP MSG`, RFC 5425 for TLS), or over UDP one message per datagram
 * (RFC 5426). A message longer than is safe in a datagram is not cut: it is counted, and the
 * record stays whole in the run's other outputs.
 */
import { createSocket, type Socket as DatagramSocket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { z } from 'zod';
import { MAX_SETTINGS_BYTES } from '../lib/read-text-file.js';
import { checkSpool, deliveryOptions, endpointOf, NetworkOutput, shown, specFromUrl, type Transport } from './delivery.js';
import type { Output, OutputContext, OutputWriter } from './output.js';
import type { Envelope } from './spool.js';

const TRANSPORTS = { 'syslog+tcp:': 'tcp', 'syslog+tls:': 'tls', 'syslog+udp:': 'udp' } as const;
type SyslogTransport = (typeof TRANSPORTS)[keyof typeof TRANSPORTS];
const DEFAULT_PORT: Record<SyslogTransport, number> = { tcp: 514, tls: 6514, udp: 514 };

/** RFC 5424 facility codes by name. */
const FACILITIES = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
} as const;

const schema = z.strictObject({
  type: z.literal('syslog'),
  /** syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT or syslog+udp://HOST:PORT. */
  url: z.string().superRefine((text, ctx) => {
    try {
      syslogEndpoint(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  }),
  facility: z.enum(Object.keys(FACILITIES) as [keyof typeof FACILITIES, ...(keyof typeof FACILITIES)[]]).default('local5'),
  /** UDP: the longest message sent in one datagram, in bytes. */
  max_message: z.coerce.number().int().min(480).max(65507).default(2048),
  /** TLS: CA certificates (PEM) that the server's certificate must chain to; default: Node's. */
  ca: z.string().min(1).optional(),
  /** TLS: client certificate and its key (PEM), for servers that ask for one. */
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  /** TLS: the name the server's certificate must carry; default: the URL's host. */
  servername: z.string().min(1).optional(),
  ...deliveryOptions,
});

type SyslogSpec = z.infer<typeof schema>;

function syslogEndpoint(text: string): { transport: SyslogTransport; host: string; port: number } {
  const scheme = /^[^:]*:/.exec(text)?.[0] ?? '';
  const transport = TRANSPORTS[scheme as keyof typeof TRANSPORTS];
  if (transport === undefined) throw new Error(`'${shown(text)}': the scheme must be syslog+tcp, syslog+tls or syslog+udp`);
  const { url, host, port } = endpointOf(text, DEFAULT_PORT[transport]);
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '') throw new Error(`'${shown(text)}': a syslog URL is ${scheme}//HOST:PORT (options go in the entry)`);
  return { transport, host, port };
}

/** Syslog severity: an alert's 1 (high) is critical, 2 error, 3 warning; other records informational. */
export function syslogSeverity(e: Envelope): number {
  if (e.severity === null) return 6;
  return Math.min(4, e.severity + 1);
}

/** HOSTNAME as RFC 5424 allows it: printable US-ASCII, at most 255 characters, `-` when unknown. */
const HOST = hostname().replace(/[^\x21-\x7e]/g, '').slice(0, 255) || '-';

/** One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`. */
export function syslogMessage(e: Envelope, facility: number, host: string = HOST, pid: number = process.pid): string {
  const msgid = e.kind.replace(/[^\x21-\x7e]/g, '').slice(0, 32) || '-';
  return `<${facility * 8 + syslogSeverity(e)}>1 ${new Date(e.timeMs).toISOString()} ${host} wardwatch ${pid} ${msgid} - ${e.json}`;
}

/** RFC 6587 octet counting: the message's length in bytes, a space, the message. */
export function octetCounted(message: string): string {
  return `${Buffer.byteLength(message)} ${message}`;
}

class SyslogOutput extends NetworkOutput {
  private readonly endpoint: { transport: SyslogTransport; host: string; port: number };
  private readonly facility: number;
  private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string };
  private oversizeReportedAt = 0;

  constructor(private readonly spec: SyslogSpec, context: OutputContext) {
    super(nameOf(spec), spec, context);
    const endpoint = syslogEndpoint(spec.url);
    this.endpoint = endpoint;
    this.facility = FACILITIES[spec.facility];
    this.tls = {
      ca: spec.ca === undefined ? undefined : readFileSync(spec.ca),
      cert: spec.cert === undefined ? undefined : readFileSync(spec.cert),
      key: spec.key === undefined ? undefined : readFileSync(spec.key),
      servername: spec.servername ?? (isIP(endpoint.host) === 0 ? endpoint.host : undefined),
    };
    this.health.oversize = 0;
  }

  protected override accepts(e: Envelope): boolean {
    if (this.endpoint.transport !== 'udp') return true;
    const bytes = Buffer.byteLength(syslogMessage(e, this.facility));
    if (bytes <= this.spec.max_message) return true;
    this.health.oversize!++;
    const now = Date.now();
    if (e.kind === 'alert' || now - this.oversizeReportedAt >= 60_000) {
      this.oversizeReportedAt = now;
      this.log.warn(
        { output: this.name, kind: e.kind, bytes, maxMessage: this.spec.max_message, oversize: this.health.oversize },
        `${e.kind} record longer than a datagram may safely be: not sent over UDP (not cut); it is whole in the other outputs`,
      );
    }
    return false;
  }

  protected newTransport(): Transport {
    const { transport, host, port } = this.endpoint;
    const frame = (e: Envelope) => syslogMessage(e, this.facility);
    return transport === 'udp' ? new DatagramTransport(host, port, frame) : new StreamTransport(host, port, transport === 'tls' ? this.tls : null, frame);
  }
}

const CONNECT_TIMEOUT_MS = 10_000;

class StreamTransport implements Transport {
  private socket: Socket | null = null;
  private lost: (err: Error) => void = () => undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string } | null,
    private readonly frame: (e: Envelope) => string,
  ) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket =
        this.tls === null ? netConnect({ host: this.host, port: this.port }) : tlsConnect({ host: this.host, port: this.port, ...this.tls });
      this.socket = socket;
      socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(Object.assign(new Error('connection timed out'), { code: 'ETIMEDOUT' })));
      socket.once('error', reject);
      socket.once(this.tls === null ? 'connect' : 'secureConnect', () => {
        socket.setTimeout(0);
        socket.off('error', reject);
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
        const lost = (err?: Error) => this.lost(err ?? Object.assign(new Error('connection closed by the server'), { code: 'ECONNRESET' }));
        socket.on('error', lost);
        socket.on('end', () => lost());
        socket.on('close', () => lost());
        // A syslog server sends nothing; reading keeps the socket's end and errors coming.
        socket.resume();
        resolve();
      });
    });
  }

  send(batch: readonly Envelope[]): Promise<void> {
    const socket = this.socket;
    if (socket === null || socket.destroyed || !socket.writable) return Promise.reject(Object.assign(new Error('not connected'), { code: 'ENOTCONN' }));
    const data = batch.map((e) => octetCounted(this.frame(e))).join('');
    return new Promise((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  onLost(listener: (err: Error) => void): void {
    this.lost = listener;
  }

  destroy(): void {
    this.socket?.destroy();
    this.socket = null;
  }
}

class DatagramTransport implements Transport {
  private socket: DatagramSocket | null = null;
  private lost: (err: Error) => void = () => undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly frame: (e: Envelope) => string,
  ) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = createSocket(isIP(this.host) === 6 ? 'udp6' : 'udp4');
      this.socket = socket;
      socket.once('error', reject);
      socket.connect(this.port, this.host, () => {
        socket.off('error', reject);
        socket.on('error', (err) => this.lost(err));
        resolve();
      });
    });
  }

  /** A datagram's send completes when it has left; an ICMP "port unreachable" fails a later one. */
  async send(batch: readonly Envelope[]): Promise<void> {
    const socket = this.socket;
    if (socket === null) throw Object.assign(new Error('not connected'), { code: 'ENOTCONN' });
    await Promise.all(batch.map((e) => new Promise<void>((resolve, reject) => socket.send(this.frame(e), (err) => (err ? reject(err) : resolve())))));
  }

  onLost(listener: (err: Error) => void): void {
    this.lost = listener;
  }

  destroy(): void {
    try {
      this.socket?.close();
    } catch {
      // Already closed.
    }
    this.socket = null;
  }
}

function fromUrl(text: string): z.input<typeof schema> {
  return specFromUrl('syslog', text, syslogEndpoint) as z.input<typeof schema>;
}

function check(spec: SyslogSpec): void {
  for (const key of ['ca', 'cert', 'key'] as const) {
    const path = spec[key];
    if (path === undefined) continue;
    try {
      // Read again when the output opens: a pipe would be empty then, and a device may never end.
      const info = statSync(path);
      if (!info.isFile()) throw new Error('not a regular file');
      if (info.size > MAX_SETTINGS_BYTES) throw new Error(`larger than ${MAX_SETTINGS_BYTES / (1024 * 1024)} MiB`);
      readFileSync(path);
    } catch (err) {
      throw new Error(`${key} file ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if ((spec.cert === undefined) !== (spec.key === undefined)) throw new Error('a client certificate needs both cert and key');
  const endpoint = syslogEndpoint(spec.url);
  if (endpoint.transport !== 'tls' && (spec.ca ?? spec.cert ?? spec.servername) !== undefined) throw new Error(`ca, cert, key and servername are for syslog+tls, not syslog+${endpoint.transport}`);
  checkSpool(nameOf(spec), spec);
}

function nameOf(spec: SyslogSpec): string {
  const { transport, host, port } = syslogEndpoint(spec.url);
  return `syslog+${transport}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function open(spec: SyslogSpec, context: OutputContext): Output {
  return new SyslogOutput(spec, context).start();
}

export const syslogWriter: OutputWriter<typeof schema> = { spec: schema, schemes: ['syslog+tcp', 'syslog+tls', 'syslog+udp'], fromUrl, check, open };
