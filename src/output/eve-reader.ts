/**
 * Reads EVE JSON lines back, as written by replay or a live sensor. A line that is not JSON, is
 * not a record of a type wardwatch writes, or was cut off at the end of the file is skipped and
 * counted; the first such line is named so the reader can look at it.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
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
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number++;
    if (line.trim() === '') continue;
    const why = problemOf(line);
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
