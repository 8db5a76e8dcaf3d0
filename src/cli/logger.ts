import { createRequire } from 'node:module';
import { pino, type Logger, type Level } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

/**
 * Operational logs go to stderr, never into the alert stream: JSON lines for machines, a readable
 * rendering when stderr is a terminal.
 */
export function createLogger(level: Level | 'silent' = 'info'): Logger {
  if (process.stderr.isTTY) {
    // Loaded only for a terminal: it costs start-up time every other run would pay for nothing.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    return pino({ level }, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' }));
  }
  return pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }));
}
