import { pino, type Logger, type Level } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * Operational logs go to stderr, never into the alert stream: JSON lines for machines, a readable
 * rendering when stderr is a terminal.
 */
export function createLogger(level: Level | 'silent' = 'info'): Logger {
  if (process.stderr.isTTY) {
    return pino({ level }, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' }));
  }
  return pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }));
}
