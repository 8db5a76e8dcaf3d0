/**
 * The file of a file output, for a sensor that runs for months: reopened at its path when log
 * rotation has renamed it (SIGHUP), and, with a rotation interval, switched by the output itself
 * to a new name each period (`eve-%Y%m%d-%H%M.json` every `1h`) for hosts without logrotate.
 */
import type { Writable } from 'node:stream';
import { openOutputFile } from './output.js';

/** `30s`, `15m`, `1h`, `1d` or a number of seconds, as milliseconds; throws for anything else. */
export function parseInterval(text: string | number): number {
  const match = typeof text === 'number' ? [String(text), String(text), 's'] : /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(text);
  const seconds = match === null ? NaN : Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's'];
  if (!(seconds >= 1)) throw new Error(`'${text}' is not an interval: a number of seconds of at least 1, or like 30s, 15m, 1h, 1d`);
  return seconds * 1000;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The path for the moment `ms` (local time, as strftime): %Y %m %d %H %M %S, %s (epoch seconds), %%. */
export function formatPath(pattern: string, ms: number): string {
  const t = new Date(ms);
  return pattern.replace(/%([YmdHMSs%])/g, (_, c: string) => {
    switch (c) {
      case 'Y':
        return pad(t.getFullYear(), 4);
      case 'm':
        return pad(t.getMonth() + 1);
      case 'd':
        return pad(t.getDate());
      case 'H':
        return pad(t.getHours());
      case 'M':
        return pad(t.getMinutes());
      case 'S':
        return pad(t.getSeconds());
      case 's':
        return String(Math.floor(ms / 1000));
      default:
        return '%';
    }
  });
}

/** Whether a path names a new file for each period (has a conversion other than %%). */
export function isPattern(path: string): boolean {
  return /%[YmdHMSs]/.test(path.replace(/%%/g, ''));
}

export interface OutputFileSettings {
  /** Created mode 0600 (records may hold patient data). */
  private: boolean;
  /** Appended to when it exists, rather than truncated. */
  append: boolean;
  /** A new file every this many milliseconds (periods start at multiples of it since the epoch), or null. */
  rotateIntervalMs: number | null;
}

export class OutputFile {
  /** The path written now. */
  path: string;
  /** When the current period ends (Infinity without rotation). */
  private periodEndMs: number;

  constructor(
    private readonly pattern: string,
    private readonly options: OutputFileSettings,
    nowMs: number = Date.now(),
  ) {
    this.periodEndMs = this.periodEnd(nowMs);
    this.path = this.pathAt(nowMs);
  }

  /** Opens the current file; throws the system's error. */
  open(): Writable {
    return openOutputFile(this.path, { private: this.options.private, append: this.options.append });
  }

  /** After log rotation renamed it: the same path opened again (a new file), appended to. */
  reopen(): Writable {
    return openOutputFile(this.path, { private: this.options.private, append: true });
  }

  /** The next period's file once the current period is over; null while it lasts. Throws the system's error. */
  rotateIfDue(nowMs: number): Writable | null {
    if (nowMs < this.periodEndMs) return null;
    this.periodEndMs = this.periodEnd(nowMs);
    this.path = this.pathAt(nowMs);
    return openOutputFile(this.path, { private: this.options.private, append: true });
  }

  private periodEnd(nowMs: number): number {
    const every = this.options.rotateIntervalMs;
    return every === null ? Infinity : (Math.floor(nowMs / every) + 1) * every;
  }

  /** Named after the period's start, so that every record of a period lands in one file. */
  private pathAt(nowMs: number): string {
    const every = this.options.rotateIntervalMs;
    return every === null ? this.pattern : formatPath(this.pattern, Math.floor(nowMs / every) * every);
  }
}
