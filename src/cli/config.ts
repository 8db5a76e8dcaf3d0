import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';

/**
 * The configuration file (`--config FILE`, YAML). Every key is optional; command-line options
 * win over the file, and the file wins over the defaults.
 */
const configSchema = z.strictObject({
  rules: z.string().optional(),
  home_net: z.array(z.string()).optional(),
  indicators: z.array(z.string()).optional(),
  evidence: z.enum(['redacted', 'full', 'none']).optional(),
  eve: z.string().optional(),
  flows: z.boolean().optional(),
  format: z.enum(['text', 'json']).optional(),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  flow: z
    .strictObject({
      max_flows: z.number().int().min(1).optional(),
      timeouts: z
        .strictObject({
          tcp_new: z.number().min(0).optional(),
          tcp_established: z.number().min(0).optional(),
          tcp_closed: z.number().min(0).optional(),
          udp_new: z.number().min(0).optional(),
          udp_established: z.number().min(0).optional(),
          other_new: z.number().min(0).optional(),
          other_established: z.number().min(0).optional(),
        })
        .optional(),
    })
    .optional(),
  stream: z
    .strictObject({
      depth: z.number().int().min(0).optional(),
      memcap: z.number().int().min(0).optional(),
      max_buffered_per_stream: z.number().int().min(0).optional(),
      max_segments_per_stream: z.number().int().min(1).optional(),
    })
    .optional(),
  dedup: z.strictObject({ enabled: z.boolean().optional(), window_ms: z.number().min(0).optional() }).optional(),
  defrag: z
    .strictObject({
      timeout: z.number().min(0).optional(),
      max_datagrams: z.number().int().min(1).optional(),
      max_bytes: z.number().int().min(0).optional(),
    })
    .optional(),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read config: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parse(text) ?? {};
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = configSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${path}: ${issue.path.join('.') || 'config'}: ${issue.message}`);
  }
  return parsed.data;
}
