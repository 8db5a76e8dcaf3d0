/**
 * Real servers for the network outputs' tests, started on loopback with their own temporary
 * configuration and port (never a system service): redis-server and rsyslogd from Debian, and a
 * throw-away certificate authority made with openssl for TLS.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';

export function requireCommand(name: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${name} is needed for this test (Debian: apt-get install redis-server rsyslog rsyslog-openssl openssl)`);
  }
}

/** A TCP port free on loopback now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns something other than undefined. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** redis-server with its data kept across a stop and a start (append-only file in its directory). */
export class RedisServer {
  private child: ChildProcess | null = null;

  constructor(
    readonly dir: string,
    readonly port: number,
    readonly password?: string,
  ) {}

  /** With a password, clients must AUTH as the default user. */
  static async start(dir: string, port?: number, password?: string): Promise<RedisServer> {
    requireCommand('redis-server');
    const server = new RedisServer(dir, port ?? (await freePort()), password);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    const auth = this.password === undefined ? [] : ['--requirepass', this.password];
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir, ...auth], { stdio: 'ignore' });
    await waitForPort(this.port);
  }

  async stop(): Promise<void> {
    if (this.child !== null) await stopChild(this.child);
    this.child = null;
  }
}

export interface SyslogLine {
  msgid: string;
  severity: number;
  facility: number;
  app: string;
  msg: string;
}

export interface RsyslogOptions {
  /** TLS on the TCP input with this CA and server certificate; clients must present a certificate the CA signed. */
  tls?: TestCa;
}

/** rsyslogd listening on TCP (octet-counted framing, or TLS) and UDP, writing MSGID, severity, facility, APP-NAME and MSG per line. */
export class Rsyslog {
  private child: ChildProcess | null = null;
  readonly out: string;

  private constructor(
    readonly dir: string,
    readonly tcpPort: number,
    readonly udpPort: number,
  ) {
    this.out = join(dir, 'received.log');
  }

  static async start(dir: string, options: RsyslogOptions = {}): Promise<Rsyslog> {
    requireCommand('rsyslogd');
    const tls = options.tls;
    if (tls !== undefined && !hasOpensslDriver()) throw new Error("rsyslog's OpenSSL driver (lmnsd_ossl) is needed for the TLS tests: apt-get install rsyslog-openssl");
    const server = new Rsyslog(dir, await freePort(), await freePort());
    const conf = [
      `global(workDirectory="${dir}" maxMessageSize="4m"${
        tls ? ` defaultNetstreamDriver="ossl" defaultNetstreamDriverCAFile="${tls.ca}" defaultNetstreamDriverCertFile="${tls.serverCert}" defaultNetstreamDriverKeyFile="${tls.serverKey}"` : ''
      })`,
      tls ? 'module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")' : 'module(load="imtcp")',
      `input(type="imtcp" port="${server.tcpPort}" address="127.0.0.1")`,
      'module(load="imudp")',
      `input(type="imudp" port="${server.udpPort}" address="127.0.0.1")`,
      'template(name="fields" type="list") { property(name="msgid") constant(value="\\t") property(name="syslogseverity") constant(value="\\t") property(name="syslogfacility") constant(value="\\t") property(name="app-name") constant(value="\\t") property(name="msg") constant(value="\\n") }',
      `action(type="omfile" file="${server.out}" template="fields")`,
    ].join('\n');
    writeFileSync(join(dir, 'rsyslog.conf'), conf + '\n');
    await server.restart();
    return server;
  }

  /** Starts it again after stop(), on the same ports, appending to the same file. */
  async restart(): Promise<void> {
    this.child = spawn('rsyslogd', ['-n', '-f', join(this.dir, 'rsyslog.conf'), '-i', join(this.dir, 'rsyslogd.pid')], { stdio: 'ignore' });
    await waitForPort(this.tcpPort);
  }

  lines(): SyslogLine[] {
    if (!existsSync(this.out)) return [];
    return readFileSync(this.out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [msgid, severity, facility, app, ...msg] = line.split('\t');
        return { msgid, severity: Number(severity), facility: Number(facility), app, msg: msg.join('\t') };
      });
  }

  /** The lines received once there are `count` of them. */
  waitForLines(count: number, timeoutMs = 10_000): Promise<SyslogLine[]> {
    return eventually(() => {
      const lines = this.lines();
      return lines.length >= count ? lines : undefined;
    }, `${count} syslog lines in ${this.out}`, timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.child !== null) await stopChild(this.child);
    this.child = null;
  }
}

function hasOpensslDriver(): boolean {
  try {
    execFileSync('sh', ['-c', 'ls /usr/lib/*/rsyslog/lmnsd_ossl.so /usr/lib/rsyslog/lmnsd_ossl.so 2>/dev/null | grep -q .'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface TestCa {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate, made with openssl (EC P-256, one day). */
export function makeTestCa(dir: string): TestCa {
  requireCommand('openssl');
  const p = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '1', '-subj', '/CN=wardwatch test CA');
  const leaf = (name: string, cn: string, ext: string) => {
    ssl('req', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`);
    writeFileSync(p(`${name}.ext`), ext + '\n');
    ssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p(`${name}.pem`), '-days', '1', '-extfile', p(`${name}.ext`));
  };
  leaf('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  leaf('client', 'wardwatch sensor', 'extendedKeyUsage=clientAuth');
  return { ca: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'), clientCert: p('client.pem'), clientKey: p('client.key') };
}
