/** Text helpers of the report page: HTML escaping, times, numbers. */
import { readableUtc } from '../../lib/time-text.js';
import { eveSeconds } from './model.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Seconds since the epoch as `2025-01-30 10:00:00Z`. */
export function shortTime(sec: number): string {
  if (!Number.isFinite(sec) || sec <= 0) return 'unknown';
  return readableUtc(sec);
}

/** An EVE timestamp as `2025-01-30 10:00:00Z`, or with its fraction (`.123456`) when `precise`. */
export function eveTime(ts: string | null, precise = false): string {
  if (ts === null || ts === '') return 'unknown';
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?/.exec(ts);
  if (m === null) return shortTime(eveSeconds(ts));
  return `${m[1]} ${m[2]}${precise && m[3] !== undefined ? m[3] : ''}Z`;
}

/** 1234567 as 1,234,567. */
export function count(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function bytes(n: number): string {
  if (n < 1024) return `${count(n)} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${count(n)} bytes (${v.toFixed(1)} ${units[u]})`;
}

export function plural(n: number, one: string, many = one + 's'): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}
