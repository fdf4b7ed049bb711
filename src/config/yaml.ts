/**
 * YAML / JSON front end (pure): parses the text with the `yaml` package, keeping the source position of
 * every key and value (its CST ranges through a LineCounter), so schema and semantic problems can be
 * reported as FILE:LINE:COL. JSON is read by the same parser (JSON is YAML 1.2).
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { FrontEndResult } from './lvscf.js';
import type { ConfigDiagnostic, SourcePos } from './model.js';

/** A front end result that also knows where each key (not only each value) was written. */
export interface YamlResult extends FrontEndResult {
  keyPositions: Map<string, SourcePos>;
}

/** Parses YAML or JSON text into the native document. Never throws. */
export function parseYaml(text: string, file: string): YamlResult {
  const lineCounter = new LineCounter();
  const positions = new Map<string, SourcePos>();
  const keyPositions = new Map<string, SourcePos>();
  const diagnostics: ConfigDiagnostic[] = [];
  const at = (offset: number): SourcePos => {
    const lp = lineCounter.linePos(Math.max(0, Math.min(offset, text.length)));
    return { file, line: lp.line, col: lp.col };
  };
  let doc: Record<string, unknown> = {};
  try {
    const parsed = parseDocument(text, {
      lineCounter,
      uniqueKeys: true,
      prettyErrors: false,
      merge: false,
      logLevel: 'error',
    });
    for (const e of [...parsed.errors, ...parsed.warnings]) {
      const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
      diagnostics.push({
        ...at(e.pos[0]),
        severity: parsed.errors.includes(e as never) ? 'error' : 'warning',
        message: msg,
      });
    }
    const walk = (node: unknown, path: string) => {
      if (isMap(node)) {
        for (const item of node.items) {
          if (!isPair(item)) continue;
          const keyNode = item.key as Node | null;
          if (!isScalar(item.key) && item.key !== null) {
            diagnostics.push({
              ...at(keyNode?.range?.[0] ?? 0),
              severity: 'error',
              message: 'a key must be a plain word, not a list or mapping',
            });
            continue;
          }
          const key = isScalar(item.key) ? String(item.key.value) : '';
          const p = path ? `${path}.${key}` : key;
          if (keyNode?.range) keyPositions.set(p, at(keyNode.range[0]));
          const valueNode = item.value as Node | null;
          const r = valueNode?.range ?? keyNode?.range;
          if (r) positions.set(p, at(r[0]));
          walk(item.value, p);
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, i) => {
          const p = path ? `${path}.${i}` : String(i);
          const r = (item as Node | null)?.range;
          if (r) {
            positions.set(p, at(r[0]));
            keyPositions.set(p, at(r[0]));
          }
          walk(item, p);
        });
      }
    };
    walk(parsed.contents, '');
    {
      // Also after errors (a duplicate key, say), so the schema still checks what could be read.
      let js: unknown = null;
      try {
        js = parsed.toJS({ maxAliasCount: 100 });
      } catch (e) {
        if (parsed.errors.length === 0) throw e;
      }
      if (js === null || js === undefined) doc = {};
      else if (typeof js !== 'object' || Array.isArray(js)) {
        diagnostics.push({
          file,
          line: 1,
          col: 1,
          severity: 'error',
          message: 'the document must be a mapping of keys',
        });
      } else doc = js as Record<string, unknown>;
    }
  } catch (e) {
    diagnostics.push({
      file,
      line: 1,
      col: 1,
      severity: 'error',
      message: `cannot read YAML: ${(e as Error).message}`,
    });
  }
  return { doc, positions, keyPositions, keyNames: new Map(), diagnostics };
}
