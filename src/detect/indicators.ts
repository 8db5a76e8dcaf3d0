/**
 * Indicator lists: files of IP addresses and CIDR blocks known to be bad (command-and-control,
 * backdoor endpoints), loaded into one AddressSet for the rule engine.
 *
 * Formats, by file extension:
 * - .txt / .list: one address or CIDR per line, optional description after whitespace, `#`
 *   comments (whole line or trailing), blank lines.
 * - .csv: `indicator,description,source` (RFC 4180 quoting; a header row is recognised, and then
 *   its column names choose the columns).
 * - .json: a STIX 2.1 bundle; indicator objects whose pattern compares ipv4-addr:value or
 *   ipv6-addr:value (= or ISSUBSET, address or CIDR), alone or joined by OR.
 *
 * Bad content never throws: a bad line costs one message naming file and line and is skipped, an
 * unreadable or unparsable file costs one message naming the file.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { MAX_LIST_BYTES, readTextFile } from '../lib/read-text-file.js';
import { AddressSet, AddressSetBuilder } from './address-set.js';

export interface Indicator {
  /** The address or CIDR in canonical form (host bits cleared, /32 and /128 dropped). */
  readonly value: string;
  readonly description: string;
  /** Who reported it: the CSV source column, the STIX identity or reference, else the file name. */
  readonly source: string;
  readonly file: string;
  /** 1-based line of the entry; for a STIX bundle, the index of the object in `objects`. */
  readonly line: number;
  /** A single host (/32 or /128) rather than a block. */
  readonly exact: boolean;
}

export interface IndicatorFileCount {
  file: string;
  /** Addresses and blocks added to the set. */
  loaded: number;
  /** Lines, records or STIX objects not used: malformed, revoked, other types or patterns. */
  skipped: number;
}

export interface IndicatorLoad {
  set: AddressSet<Indicator>;
  files: IndicatorFileCount[];
  problems: string[];
  /** The one-line reason of each file that could not be read at all. */
  unreadable: Map<string, string>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export type IndicatorFormat = 'text' | 'csv' | 'stix';

/** At most this many messages per file; the rest are counted in one closing message. */
export const MAX_PROBLEMS_PER_FILE = 50;

const EXTENSIONS: Record<string, IndicatorFormat> = {
  '.txt': 'text',
  '.list': 'text',
  '.csv': 'csv',
  '.json': 'stix',
};

/** The format a file name implies, or null for names a directory scan ignores. */
export function indicatorFormatOf(path: string): IndicatorFormat | null {
  return EXTENSIONS[extname(path).toLowerCase()] ?? null;
}

/** Loads the lists at `paths`; `what` names them in messages about a file that cannot be read. */
export async function loadIndicatorFiles(paths: readonly string[], what = 'indicator file'): Promise<IndicatorLoad> {
  const loader = new IndicatorLoader();
  for (const path of paths) {
    let text: string;
    try {
      text = await readTextFile(path, MAX_LIST_BYTES);
    } catch (err) {
      loader.unreadable(path, err, what);
      continue;
    }
    loader.addText(path, text);
  }
  return loader.finish();
}

/** The .txt, .list, .csv and .json files directly in dir, in name order, or why dir cannot be read. */
export async function listIndicatorFiles(dir: string): Promise<{ paths: string[]; error: unknown }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    return { paths: [], error };
  }
  const paths: string[] = [];
  for (const name of listedNames(names)) {
    const path = join(dir, name);
    try {
      if ((await stat(path)).isFile()) paths.push(path);
    } catch {
      paths.push(path); // reported as unreadable by the load
    }
  }
  return { paths, error: null };
}

/** Every indicator list directly in dir, in name order. */
export async function loadIndicatorDir(dir: string): Promise<IndicatorLoad> {
  const { paths, error } = await listIndicatorFiles(dir);
  if (error !== null) return unreadableDir(dir, error);
  return loadIndicatorFiles(paths);
}

function listedNames(names: string[]): string[] {
  return names.filter((n) => indicatorFormatOf(n) !== null).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function unreadableDir(dir: string, err: unknown): IndicatorLoad {
  return {
    set: new AddressSetBuilder<Indicator>().build(),
    files: [],
    problems: [`${dir}: cannot read indicator directory: ${errorText(err)}`],
    unreadable: new Map(),
  };
}

function errorText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string') return e.code;
  return oneLine(String(e?.message ?? err));
}

/** Quotes text for a one-line message: control characters escaped, long text cut. */
function shown(text: string): string {
  const cut = text.length > 80 ? text.slice(0, 80) + '…' : text;
  return JSON.stringify(cut);
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').slice(0, 200);
}

/** Collects files into one set, counting per file and keeping the messages. */
class IndicatorLoader {
  private readonly builder = new AddressSetBuilder<Indicator>();
  private readonly files: IndicatorFileCount[] = [];
  private readonly problems: string[] = [];
  private current: IndicatorFileCount = { file: '', loaded: 0, skipped: 0 };
  private problemsInFile = 0;

  private readonly unreadableFiles = new Map<string, string>();

  unreadable(path: string, err: unknown, what = 'indicator file'): void {
    const message = `${path}: cannot read ${what}: ${errorText(err)}`;
    this.files.push({ file: path, loaded: 0, skipped: 0 });
    this.problems.push(message);
    this.unreadableFiles.set(path, message);
  }

  addText(path: string, text: string, format: IndicatorFormat = indicatorFormatOf(path) ?? 'text'): void {
    this.current = { file: path, loaded: 0, skipped: 0 };
    this.problemsInFile = 0;
    this.files.push(this.current);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (format === 'csv') this.readCsv(path, text);
    else if (format === 'stix') this.readStix(path, text);
    else this.readText(path, text);
    const over = this.problemsInFile - MAX_PROBLEMS_PER_FILE;
    if (over > 0) this.problems.push(`${path}: ${over} more problems not shown`);
  }

  finish(): IndicatorLoad {
    return { set: this.builder.build(), files: this.files, problems: this.problems, unreadable: this.unreadableFiles };
  }

  private problem(message: string): void {
    this.problemsInFile++;
    if (this.problemsInFile <= MAX_PROBLEMS_PER_FILE) this.problems.push(message);
  }

  private skip(message: string | null): void {
    this.current.skipped++;
    if (message !== null) this.problem(message);
  }

  /** Adds one address or block; false (and nothing added) when the text is not one. */
  private add(text: string, description: string, source: string, file: string, line: number): boolean {
    // value and exact come from the parsed text, so they are filled in once it is added.
    const indicator: Mutable<Indicator> = { value: '', description, source, file, line, exact: false };
    const canonical = this.builder.add(text, indicator);
    if (canonical === null) return false;
    indicator.value = canonical;
    indicator.exact = canonical.indexOf('/') < 0;
    this.current.loaded++;
    return true;
  }

  private readText(file: string, text: string): void {
    const source = basename(file);
    const length = text.length;
    let pos = 0;
    let line = 0;
    let hash = -1; // next '#' at or after pos, or length when there is none
    while (pos < length) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0) eol = length;
      line++;
      if (hash < pos) {
        hash = text.indexOf('#', pos);
        if (hash < 0) hash = length;
      }
      let end = hash < eol ? hash : eol;
      let start = pos;
      pos = eol + 1;
      while (start < end && isSpace(text.charCodeAt(start))) start++;
      while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
      if (start === end) continue;
      let tokenEnd = start;
      while (tokenEnd < end && !isSpace(text.charCodeAt(tokenEnd))) tokenEnd++;
      const token = text.slice(start, tokenEnd);
      let descStart = tokenEnd;
      while (descStart < end && isSpace(text.charCodeAt(descStart))) descStart++;
      const description = descStart < end ? text.slice(descStart, end) : '';
      if (!this.add(token, description, source, file, line)) {
        this.skip(`${file}:${line}: not an IP address or CIDR: ${shown(token)}`);
      }
    }
  }

  private readCsv(file: string, text: string): void {
    const fallbackSource = basename(file);
    let columns = { indicator: 0, description: 1, source: 2 };
    let first = true;
    for (const record of csvRecords(text)) {
      if (record.error !== null) {
        this.skip(`${file}:${record.line}: ${record.error}`);
        continue;
      }
      const fields = record.fields;
      if (first) {
        first = false;
        const names = fields.map((f) => f.trim().toLowerCase());
        if (names.includes('indicator')) {
          columns = {
            indicator: names.indexOf('indicator'),
            description: names.indexOf('description'),
            source: names.indexOf('source'),
          };
          continue;
        }
      }
      const indicator = (fields[columns.indicator] ?? '').trim();
      if (indicator === '') {
        this.skip(`${file}:${record.line}: no indicator in the record`);
        continue;
      }
      const description = columns.description >= 0 ? singleLine(fields[columns.description] ?? '') : '';
      const source = (columns.source >= 0 ? (fields[columns.source] ?? '').trim() : '') || fallbackSource;
      if (!this.add(indicator, description, source, file, record.line)) {
        this.skip(`${file}:${record.line}: not an IP address or CIDR: ${shown(indicator)}`);
      }
    }
  }

  private readStix(file: string, text: string): void {
    let bundle: unknown;
    try {
      bundle = JSON.parse(text);
    } catch (err) {
      this.problem(`${file}: not valid JSON: ${errorText(err)}`);
      return;
    }
    const objects = isRecord(bundle) && bundle.type === 'bundle' ? bundle.objects : undefined;
    if (!Array.isArray(objects)) {
      this.problem(`${file}: not a STIX bundle (expected {"type":"bundle","objects":[...]})`);
      return;
    }
    const identities = new Map<string, string>();
    for (const o of objects) {
      if (isRecord(o) && o.type === 'identity' && typeof o.id === 'string' && typeof o.name === 'string') {
        identities.set(o.id, o.name);
      }
    }
    const fallbackSource = basename(file);
    const now = Date.now();
    let expired = 0;
    for (let i = 0; i < objects.length; i++) {
      const o: unknown = objects[i];
      const where = `${file}: objects[${i}]`;
      if (!isRecord(o)) {
        this.skip(`${where}: not an object`);
        continue;
      }
      if (o.type !== 'indicator') {
        this.skip(null);
        continue;
      }
      const label = typeof o.id === 'string' ? `${where} (${o.id})` : where;
      if (o.revoked === true || (o.pattern_type !== undefined && o.pattern_type !== 'stix')) {
        this.skip(null);
        continue;
      }
      // An indicator past its valid_until is no longer asserted by its producer (STIX 2.1, 4.3).
      if (typeof o.valid_until === 'string' && Date.parse(o.valid_until) <= now) {
        expired++;
        this.skip(null);
        continue;
      }
      if (typeof o.pattern !== 'string') {
        this.skip(`${label}: indicator without a pattern`);
        continue;
      }
      const parsed = parseStixPattern(o.pattern);
      if (parsed.kind === 'other') {
        this.skip(null);
        continue;
      }
      if (parsed.kind === 'unsupported') {
        this.skip(`${label}: unsupported IP pattern: ${shown(o.pattern)}`);
        continue;
      }
      const description = singleLine([o.name, o.description].filter((s) => typeof s === 'string' && s !== '').join(': '));
      const source = stixSource(o, identities) ?? fallbackSource;
      for (const c of parsed.comparisons) {
        if (!versionMatches(c.objectType, c.value) || !this.add(c.value, description, source, file, i)) {
          this.skip(`${label}: not an ${c.objectType} address or CIDR: ${shown(c.value)}`);
        }
      }
    }
    if (expired > 0) this.problem(`${file}: ${expired} indicator${expired === 1 ? '' : 's'} past valid_until skipped`);
  }
}

/** Descriptions may span lines in CSV and JSON; alerts print them on one. */
function singleLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 11 || c === 12;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stixSource(o: Record<string, unknown>, identities: Map<string, string>): string | null {
  const ref = typeof o.created_by_ref === 'string' ? o.created_by_ref : null;
  if (ref !== null && identities.has(ref)) return identities.get(ref)!;
  if (Array.isArray(o.external_references)) {
    for (const r of o.external_references) {
      if (isRecord(r) && typeof r.source_name === 'string' && r.source_name !== '') return r.source_name;
    }
  }
  return ref;
}

function versionMatches(objectType: 'ipv4-addr' | 'ipv6-addr', value: string): boolean {
  return (value.indexOf(':') >= 0) === (objectType === 'ipv6-addr');
}

// ---------------------------------------------------------------------------------------------
// CSV

interface CsvRecord {
  /** Line where the record starts. */
  line: number;
  fields: string[];
  error: string | null;
}

/**
 * RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks. Blank lines and
 * lines starting with `#` are skipped. A record with text after a closing quote is returned with
 * an error; an unterminated quote is an error at the line where it opened, and reading goes on at
 * the next line.
 */
export function* csvRecords(text: string): Generator<CsvRecord> {
  const length = text.length;
  let pos = 0;
  let line = 1;
  records: while (pos < length) {
    const startLine = line;
    const c0 = text.charCodeAt(pos);
    if (c0 === 10 || (c0 === 13 && text.charCodeAt(pos + 1) === 10)) {
      pos += c0 === 10 ? 1 : 2;
      line++;
      continue;
    }
    if (c0 === 35) {
      const eol = text.indexOf('\n', pos);
      pos = eol < 0 ? length : eol + 1;
      line++;
      continue;
    }
    const fields: string[] = [];
    let error: string | null = null;
    // One record: fields until an unquoted line break or the end.
    while (true) {
      // Leading spaces before an opening quote are tolerated.
      let p = pos;
      while (p < length && (text.charCodeAt(p) === 32 || text.charCodeAt(p) === 9)) p++;
      if (p < length && text.charCodeAt(p) === 34) {
        let value = '';
        let from = p + 1;
        let closed = false;
        let q = from;
        while (q < length) {
          const c = text.charCodeAt(q);
          if (c === 34) {
            if (text.charCodeAt(q + 1) === 34) {
              value += text.slice(from, q + 1);
              q += 2;
              from = q;
              continue;
            }
            value += text.slice(from, q);
            closed = true;
            q++;
            break;
          }
          if (c === 10) line++;
          q++;
        }
        if (!closed) {
          // One stray quote must not swallow the rest of the file: the record is lost, the next line is read.
          yield { line: startLine, fields, error: 'unterminated quoted field' };
          const eol = text.indexOf('\n', pos);
          if (eol < 0) return;
          pos = eol + 1;
          line = startLine + 1;
          continue records;
        }
        // After the closing quote: spaces, then a comma, a line break or the end.
        while (q < length && (text.charCodeAt(q) === 32 || text.charCodeAt(q) === 9)) q++;
        fields.push(value);
        const c = q < length ? text.charCodeAt(q) : -1;
        if (c === 44) {
          pos = q + 1;
          continue;
        }
        if (c === -1 || c === 10 || (c === 13 && text.charCodeAt(q + 1) === 10) || c === 13) {
          pos = q;
          break;
        }
        error ??= 'text after a closing quote';
        // Resynchronise at the next line break.
        const eol = text.indexOf('\n', q);
        pos = eol < 0 ? length : eol;
        break;
      }
      let q = pos;
      while (q < length) {
        const c = text.charCodeAt(q);
        if (c === 44 || c === 10 || c === 13) break;
        q++;
      }
      fields.push(text.slice(pos, q));
      if (q < length && text.charCodeAt(q) === 44) {
        pos = q + 1;
        continue;
      }
      pos = q;
      break;
    }
    // Consume the line break ending the record.
    if (text.charCodeAt(pos) === 13) pos++;
    if (text.charCodeAt(pos) === 10) {
      pos++;
      line++;
    }
    yield { line: startLine, fields, error };
  }
}

// ---------------------------------------------------------------------------------------------
// STIX patterns

interface IpComparison {
  objectType: 'ipv4-addr' | 'ipv6-addr';
  value: string;
}

type StixPatternResult =
  | { kind: 'ip'; comparisons: IpComparison[] }
  /** An IP pattern this loader cannot turn into a list (AND, qualifiers, other operators). */
  | { kind: 'unsupported' }
  /** No ipv4-addr / ipv6-addr in it: not for this set. */
  | { kind: 'other' };

/**
 * Accepts `[ip:value = 'x']`, comparisons joined by OR inside one bracket, and bracketed
 * observations joined by OR; `ISSUBSET` is taken like `=` since a CIDR value means the block either way.
 */
export function parseStixPattern(pattern: string): StixPatternResult {
  if (!/ipv[46]-addr/.test(pattern)) return { kind: 'other' };
  const tokens = tokenizePattern(pattern);
  if (tokens === null) return { kind: 'unsupported' };
  const comparisons: IpComparison[] = [];
  let k = 0;
  const next = (): string | undefined => tokens[k++];
  while (true) {
    if (next() !== '[') return { kind: 'unsupported' };
    while (true) {
      const path = next();
      const op = next();
      const literal = next();
      if (path !== 'ipv4-addr:value' && path !== 'ipv6-addr:value') return { kind: 'unsupported' };
      if (op !== '=' && op?.toUpperCase() !== 'ISSUBSET') return { kind: 'unsupported' };
      if (literal === undefined || !literal.startsWith("'")) return { kind: 'unsupported' };
      comparisons.push({ objectType: path === 'ipv4-addr:value' ? 'ipv4-addr' : 'ipv6-addr', value: literal.slice(1) });
      const after = next();
      if (after === ']') break;
      if (after?.toUpperCase() !== 'OR') return { kind: 'unsupported' };
    }
    const after = next();
    if (after === undefined) break;
    if (after.toUpperCase() !== 'OR') return { kind: 'unsupported' };
  }
  return { kind: 'ip', comparisons };
}

/** Brackets, words and operators; a string literal becomes `'` followed by its unescaped text. */
function tokenizePattern(pattern: string): string[] | null {
  const tokens: string[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '[' || c === ']' || c === '(' || c === ')') {
      tokens.push(c);
      i++;
    } else if (c === "'") {
      let value = '';
      i++;
      while (true) {
        if (i >= pattern.length) return null;
        const d = pattern[i];
        if (d === '\\' && i + 1 < pattern.length) {
          value += pattern[i + 1];
          i += 2;
        } else if (d === "'") {
          i++;
          break;
        } else {
          value += d;
          i++;
        }
      }
      tokens.push("'" + value);
    } else if (c === '=' || c === '!' || c === '<' || c === '>') {
      let op = c;
      i++;
      if (pattern[i] === '=') {
        op += '=';
        i++;
      }
      tokens.push(op);
    } else {
      let j = i;
      while (j < pattern.length && !" \t\r\n[]()'=!<>".includes(pattern[j])) j++;
      tokens.push(pattern.slice(i, j));
      i = j;
    }
  }
  return tokens;
}
