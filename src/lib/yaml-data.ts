import { visit, type Document, type LineCounter } from 'yaml';

/**
 * For parseDocument: the YAML library's warnings (a map used as a key, which becomes its text) are
 * Node process warnings, printed on stderr beside the located error the schema gives the same key.
 */
export const YAML_LOG_LEVEL = 'error';

export type YamlData = { ok: true; data: unknown } | { ok: false; message: string; line: number; column: number };

/**
 * A parsed YAML document's data. A document can parse and still have no data: an alias to an
 * anchor that is not set before it, or aliases that expand past the library's limit (a "billion
 * laughs" file), make the conversion throw; that becomes a problem at the alias that caused it.
 */
export function yamlData(doc: Document, lineCounter: LineCounter): YamlData {
  try {
    return { ok: true, data: doc.toJS() ?? {} };
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    let unresolved: number | undefined;
    let first: number | undefined;
    visit(doc, {
      Alias(_key, node) {
        const at = node.range?.[0] ?? 0;
        first ??= at;
        if (node.resolve(doc) === undefined) {
          unresolved = at;
          return visit.BREAK;
        }
        return undefined;
      },
    });
    const pos = lineCounter.linePos(unresolved ?? first ?? 0);
    return { ok: false, message: err.message, line: pos.line, column: pos.col };
  }
}
