/**
 * Reads EVE JSON lines back, as written by replay or a live sensor. A line that is not JSON, is
 * not a record of a type wardwatch writes, or was cut off at the end of the file is skipped and
 * counted; the first such line is named so the reader can look at it.
 */
import { createReadStream } from 'node:fs';
import type { EveRecord } from './eve.js';

/** The event types wardwatch writes. */
export const EVE_EVENT_TYPES: ReadonlySet<string> = new Set(['alert', 'flow', 'stats', 'inventory', 'run']);

export interface EveFileResult {
  path: string;
  /** Records handed on. */
  records: number;
  /** Lines skipped, and the first of them with why. */
  skipped: number;
  firstBad: { line: number; why: string } | null;
}

/** Hands every good record of the file to `onRecord` in order; rejects only when the file cannot be read. */
export async function readEveFile(path: string, onRecord: (record: EveRecord) => void): Promise<EveFileResult> {
  const result: EveFileResult = { path, records: 0, skipped: 0, firstBad: null };
  let number = 0;
  for await (const line of linesOf(path)) {
    number++;
    if (line !== null && line.trim() === '') continue;
    const why = line === null ? `longer than ${MAX_LINE_BYTES / (1024 * 1024)} MiB: not a record` : problemOf(line);
    if (typeof why === 'string') {
      result.skipped++;
      result.firstBad ??= { line: number, why };
      continue;
    }
    result.records++;
    onRecord(why);
  }
  return result;
}

/**
 * Far more than any record wardwatch writes (full evidence keeps a few MiB at most). A file that
 * is not EVE at all (a capture, /dev/zero) can run for gigabytes without a newline: such a line is
 * skipped as it streams by instead of being gathered past what a string can hold.
 */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
const NEWLINE = 0x0a;

/** The file's lines, without their newline; null for a line longer than MAX_LINE_BYTES. */
async function* linesOf(path: string): AsyncGenerator<string | null> {
  let parts: Buffer[] = [];
  let length = 0;
  let tooLong = false;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let from = 0;
    for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, from)) {
      if (tooLong || length + at - from > MAX_LINE_BYTES) yield null;
      else yield Buffer.concat([...parts, chunk.subarray(from, at)]).toString('utf8');
      parts = [];
      length = 0;
      tooLong = false;
      from = at + 1;
    }
    if (from === chunk.length || tooLong) continue;
    length += chunk.length - from;
    if (length > MAX_LINE_BYTES) {
      tooLong = true;
      parts = [];
    } else {
      parts.push(chunk.subarray(from));
    }
  }
  if (tooLong) yield null;
  else if (length > 0) yield Buffer.concat(parts).toString('utf8');
}

/** The record, or why the line is not one. */
function problemOf(line: string): EveRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    // A cut last line is the usual case: a sensor stopped mid-write.
    return 'not JSON (cut off or damaged)';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const type = (value as EveRecord).event_type;
  if (typeof type !== 'string') return 'no event_type';
  if (!EVE_EVENT_TYPES.has(type)) return `unknown record type '${type.slice(0, 40)}'`;
  return value as EveRecord;
}

/** One line for a file with skipped lines. */
export function skippedWarning(r: EveFileResult): string {
  return `${r.path}: skipped ${r.skipped} bad line${r.skipped === 1 ? '' : 's'}, the first at line ${r.firstBad!.line}: ${r.firstBad!.why}`;
}
