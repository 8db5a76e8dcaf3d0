/**
 * The Redis output, with the modes of Suricata's EVE Redis output: `list` (LPUSH, the default;
 * `lpush` is the same), `rpush`, `channel` (PUBLISH; `publish` is the same) and `stream` (XADD
 * with an approximate MAXLEN, the record in the field `eve`; `xadd` is the same). Redis answers
 * every command, so a record counts as sent only once Redis has it. The client (node-redis) is
 * loaded only when a Redis output is configured.
 */
import { createRequire } from 'node:module';
import { z } from 'zod';
import { checkSpool, deliveryOptions, endpointOf, NetworkOutput, shown, specFromUrl, type Transport } from './delivery.js';
import type { Output, OutputContext, OutputWriter } from './output.js';
import type { Envelope } from './spool.js';

const MODES = { list: 'lpush', lpush: 'lpush', rpush: 'rpush', channel: 'publish', publish: 'publish', stream: 'xadd', xadd: 'xadd' } as const;

const schema = z.strictObject({
  type: z.literal('redis'),
  /** redis://[USER:PASSWORD@]HOST:PORT/KEY: the list, channel or stream is KEY (default wardwatch). */
  url: z.string().superRefine((text, ctx) => {
    try {
      redisEndpoint(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  }),
  mode: z.enum(Object.keys(MODES) as [keyof typeof MODES, ...(keyof typeof MODES)[]]).default('list'),
  /** Stream mode: entries kept (MAXLEN ~). */
  stream_maxlen: z.coerce.number().int().min(1).default(100_000),
  /** Database number (SELECT). */
  db: z.coerce.number().int().min(0).optional(),
  ...deliveryOptions,
});

type RedisSpec = z.infer<typeof schema>;

interface RedisEndpoint {
  host: string;
  port: number;
  key: string;
  username?: string;
  password?: string;
}

function redisEndpoint(text: string): RedisEndpoint {
  if (!text.startsWith('redis://')) throw new Error(`'${shown(text)}': the scheme must be redis`);
  const { url, host, port } = endpointOf(text, 6379);
  if (url.search !== '') throw new Error(`'${shown(text)}': a Redis URL in an entry is redis://HOST:PORT/KEY (options go in the entry)`);
  const key = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    host,
    port,
    key: key === '' ? 'wardwatch' : key,
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
  };
}

function nameOf(spec: RedisSpec): string {
  const { host, port, key } = redisEndpoint(spec.url);
  return `redis://${host.includes(':') ? `[${host}]` : host}:${port}/${key}`;
}

type RedisClient = {
  connect(): Promise<unknown>;
  destroy(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
  lPush(key: string, values: string[]): Promise<number>;
  rPush(key: string, values: string[]): Promise<number>;
  publish(channel: string, message: string): Promise<number>;
  xAdd(key: string, id: string, message: Record<string, string>, options: object): Promise<string>;
};

class RedisOutput extends NetworkOutput {
  private readonly endpoint: RedisEndpoint;
  private readonly command: (typeof MODES)[keyof typeof MODES];

  constructor(private readonly spec: RedisSpec, context: OutputContext) {
    super(nameOf(spec), spec, context);
    this.endpoint = redisEndpoint(spec.url);
    this.command = MODES[spec.mode];
  }

  protected newTransport(): Transport {
    return new RedisTransport(this.endpoint, this.spec, this.command);
  }
}

class RedisTransport implements Transport {
  private client: RedisClient | null = null;
  private lost: (err: Error) => void = () => undefined;
  private destroyed = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly endpoint: RedisEndpoint,
    private readonly spec: RedisSpec,
    private readonly command: (typeof MODES)[keyof typeof MODES],
  ) {}

  async connect(): Promise<void> {
    // Required, not imported: the bundled command runs from a code-cached script, which has no
    // dynamic import.
    const { createClient } = createRequire(import.meta.url)('redis') as typeof import('redis');
    if (this.destroyed) throw new Error('closed');
    const client = createClient({
      // The signal reaches the socket itself: the client's destroy() cannot end a connect still
      // pending, which would hold a stopped sensor until the connect timeout.
      socket: { host: this.endpoint.host, port: this.endpoint.port, connectTimeout: 10_000, reconnectStrategy: false, signal: this.abort.signal } as object,
      username: this.endpoint.username,
      password: this.endpoint.password,
      database: this.spec.db,
      // Commands fail at once while disconnected: the output's own queue and spool keep them.
      disableOfflineQueue: true,
    }) as unknown as RedisClient;
    this.client = client;
    client.on('error', (err: Error) => this.lost(err));
    await client.connect();
  }

  async send(batch: readonly Envelope[]): Promise<void> {
    const client = this.client;
    if (client === null) throw Object.assign(new Error('not connected'), { code: 'ENOTCONN' });
    const key = this.endpoint.key;
    switch (this.command) {
      case 'lpush':
        await client.lPush(key, batch.map((e) => e.json));
        return;
      case 'rpush':
        await client.rPush(key, batch.map((e) => e.json));
        return;
      case 'publish':
        // Pipelined: node-redis writes them in order without waiting for each answer.
        await Promise.all(batch.map((e) => client.publish(key, e.json)));
        return;
      case 'xadd': {
        const trim = { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: this.spec.stream_maxlen } };
        await Promise.all(batch.map((e) => client.xAdd(key, '*', { eve: e.json }, trim)));
        return;
      }
    }
  }

  onLost(listener: (err: Error) => void): void {
    this.lost = listener;
  }

  destroy(): void {
    this.destroyed = true;
    this.abort.abort();
    try {
      this.client?.destroy();
    } catch {
      // Not connected.
    }
    this.client = null;
  }
}

function fromUrl(text: string): z.input<typeof schema> {
  return specFromUrl('redis', text, redisEndpoint) as z.input<typeof schema>;
}

function check(spec: RedisSpec): void {
  checkSpool(nameOf(spec), spec);
}

function open(spec: RedisSpec, context: OutputContext): Output {
  return new RedisOutput(spec, context).start();
}

export const redisWriter: OutputWriter<typeof schema> = { spec: schema, schemes: ['redis'], fromUrl, check, open };
