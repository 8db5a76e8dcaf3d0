import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from 'yaml';
import { MAX_SETTINGS_BYTES, readTextFile } from '../lib/read-text-file.js';
import { YAML_LOG_LEVEL, yamlData } from '../lib/yaml-data.js';
import { ruleFileSchema, type RuleFile } from './rule-schema.js';

/** Where a value stands in its file, for error messages and `rules list`. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface LoadedRuleFile {
  file: string;
  content: RuleFile;
  /** Finds the location of a value by its path in the file (e.g. ['rules', 2, 'match']). */
  locate(path: ReadonlyArray<string | number>): SourceLocation;
}

/** Problems found in rule files, each `file:line:column: message`. */
export class RuleLoadError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'RuleLoadError';
  }
}

export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

/** Parses and validates one rule file's text; returns it or the problems with their locations. */
export function parseRuleFile(file: string, text: string): LoadedRuleFile | string[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: YAML_LOG_LEVEL });
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return `${file}:${pos.line}:${pos.col}: ${firstLine(e.message)}`;
    });
  }
  const locate = (path: ReadonlyArray<string | number>): SourceLocation => locateIn(doc, lineCounter, file, path);
  const data = yamlData(doc, lineCounter);
  if (!data.ok) return [`${file}:${data.line}:${data.column}: ${data.message}`];
  const parsed = ruleFileSchema.safeParse(data.data);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      // Problems with a key (unknown, misplaced) are reported where the key stands.
      const unknownKey = issue.code === 'unrecognized_keys' && issue.keys.length > 0;
      if (unknownKey) path.push(issue.keys[0]);
      const aboutKey = unknownKey || (issue.code === 'custom' && (issue.params as { atKey?: boolean } | undefined)?.atKey === true);
      const where = path.length > 0 ? ` (at ${path.join('.')})` : '';
      const loc = aboutKey ? locateKeyIn(doc, lineCounter, file, path) : locate(path);
      return `${formatLocation(loc)}: ${issue.message}${where}`;
    });
  }
  return { file, content: parsed.data, locate };
}

/** Reads every .yaml/.yml file of a directory. Any problem in any file rejects the whole set. */
export async function loadRuleDir(dir: string): Promise<LoadedRuleFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/i.test(n)).sort();
  } catch (err) {
    throw new RuleLoadError([`${dir}: cannot read rules directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  if (names.length === 0) throw new RuleLoadError([`${dir}: no rule files (*.yaml) found`]);
  const loaded: LoadedRuleFile[] = [];
  const problems: string[] = [];
  for (const name of names) {
    const file = join(dir, name);
    let text: string;
    try {
      text = await readTextFile(file, MAX_SETTINGS_BYTES);
    } catch (err) {
      problems.push(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    const result = parseRuleFile(file, text);
    if (Array.isArray(result)) problems.push(...result);
    else loaded.push(result);
  }
  if (problems.length > 0) throw new RuleLoadError(problems);
  return loaded;
}

function locateIn(doc: Document, lineCounter: LineCounter, file: string, path: ReadonlyArray<string | number>): SourceLocation {
  // The deepest node that exists on the path: a missing key is reported where it should be.
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return { file, line: pos.line, column: pos.col };
    }
  }
  return { file, line: 1, column: 1 };
}

/** The position of the key of the last path element, when it is a key of a map. */
function locateKeyIn(doc: Document, lineCounter: LineCounter, file: string, path: ReadonlyArray<string | number>): SourceLocation {
  const key = path[path.length - 1];
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  if (typeof key === 'string' && isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === key);
    if (pair && isNode(pair.key) && pair.key.range) {
      const pos = lineCounter.linePos(pair.key.range[0]);
      return { file, line: pos.line, column: pos.col };
    }
  }
  return locateIn(doc, lineCounter, file, path);
}

function firstLine(message: string): string {
  return message.split('\n')[0];
}
