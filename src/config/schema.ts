/**
 * The native document schema (YAML/JSON) as convict schemas, derived from the key table (keys.ts): one
 * leaf per key with its documentation, format and default. The lvs.cf front end produces the same
 * document, so validation and defaults are shared by every format.
 *
 * Arrays of objects (virtual_servers, real_servers, failover_services) are validated item by item with
 * their own schema, since convict does not look inside arrays.
 */
import convict from 'convict';
import { FORMATS, type Format, valueProblem } from './formats.js';
import { type DocumentOf, type KeyDef, SCOPES, type Scope } from './keys.js';

/** A schema leaf: what convict reads of a key (keys.ts holds the rest). */
export interface Leaf {
  doc: string;
  /** A named format, the words of an enumeration, or a check that throws (a key that still reads old values). */
  format: string | readonly unknown[] | ((v: unknown) => void);
  default: unknown;
  nullable?: boolean;
}
/** A level of a convict schema: leaves and nested levels by key. */
export type SchemaNode = { [key: string]: SchemaNode | Leaf };

/** True when a schema node is a leaf (has `doc` and `format`). */
export function isLeaf(node: SchemaNode | Leaf): node is Leaf {
  return typeof (node as Leaf).doc === 'string' && 'format' in node && 'default' in node;
}

let formatsAdded = false;
/** Registers the named formats of formats.ts with convict (idempotent). */
export function addFormats(): void {
  if (formatsAdded) return;
  formatsAdded = true;
  for (const [name, def] of Object.entries(FORMATS))
    convict.addFormat({
      name,
      validate: (v: unknown) => {
        const problem = def.check(v);
        if (problem !== undefined) throw new Error(problem);
      },
    });
}

/**
 * A key's format with the key's own check, that also accepts the values the key still reads (its
 * `readAs`, replaced after validation).
 */
function checkOfKey(key: KeyDef): (v: unknown) => void {
  const old = key.readAs?.map((r) => r.value) ?? [];
  const own = key.check as ((v: unknown) => string | undefined) | undefined;
  return (v) => {
    const problem = old.includes(v) ? undefined : (valueProblem(key.format, v) ?? own?.(v));
    if (problem !== undefined) throw new Error(problem);
  };
}

/** The convict schema of one scope, nested by document path, in table order. */
function schemaOf(scope: Scope): SchemaNode {
  const root: SchemaNode = {};
  for (const key of SCOPES[scope].keys) {
    const parts = key.path.split('.');
    let node = root;
    for (const p of parts.slice(0, -1)) {
      node[p] ??= {};
      node = node[p] as SchemaNode;
    }
    node[parts[parts.length - 1]!] = {
      doc: key.doc,
      format: key.readAs || key.check ? checkOfKey(key) : (key.format as Format),
      default: key.default,
      ...(key.default === null ? { nullable: true } : {}),
    };
  }
  return root;
}

/** The top-level document schema. */
export const documentSchema: SchemaNode = schemaOf('global');
/** The virtual server schema (items of virtual_servers). */
export const virtualServerSchema: SchemaNode = schemaOf('virtual');
/** The real server schema (items of virtual_servers[].real_servers). */
export const realServerSchema: SchemaNode = schemaOf('server');
/** The failover-service schema (items of failover_services): parsed and reported, not run. */
export const failoverSchema: SchemaNode = schemaOf('failover');

/** One schema problem: a document path (`virtual_servers.0.port`) and what is wrong. */
export interface SchemaIssue {
  path: string;
  message: string;
  /** A value read but worth changing (an old value or name); absent = an error. */
  severity?: 'warning';
  /** True when the path names a key the schema does not know (position at the key, not the value). */
  unknownKey?: boolean;
  /** About the key as written, not its value (position at the key). */
  atKey?: boolean;
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** Levenshtein distance (for did-you-mean suggestions). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate to `word` (distance ≤ max(2, len/3)), for "did you mean 'x'?". */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Copies `value` keeping only what fits the schema's structure: unknown keys and non-mappings where a
 * mapping is expected become issues. Leaves are copied as they are (convict checks them).
 */
function sanitize(value: Record<string, unknown>, schema: SchemaNode, prefix: string, issues: SchemaIssue[]) {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const path = prefix + key;
    const node = FORBIDDEN.has(key) ? undefined : Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (node === undefined) {
      const s = suggest(key, Object.keys(schema));
      const where = prefix ? ` in ${prefix.slice(0, -1)}` : '';
      issues.push({
        path,
        unknownKey: true,
        message: `unknown key '${key}'${where}${s ? `; did you mean '${s}'?` : ''}`,
      });
      continue;
    }
    const v = value[key];
    if (isLeaf(node)) {
      if (v !== undefined) out[key] = v;
    } else if (v === null || v === undefined) {
      // an empty section: defaults
    } else if (!isPlainObject(v)) {
      issues.push({ path, message: `${path}: must be a mapping of keys` });
    } else {
      out[key] = sanitize(v, node, `${path}.`, issues);
    }
  }
  return out;
}

const leafCache = new WeakMap<SchemaNode, [string, Leaf][]>();
/** Every leaf of a schema with its dotted path (memoized per schema object). */
function leafPaths(schema: SchemaNode, prefix = ''): [string, Leaf][] {
  if (prefix === '') {
    const hit = leafCache.get(schema);
    if (hit) return hit;
    const all = collectLeaves(schema, '');
    leafCache.set(schema, all);
    return all;
  }
  return collectLeaves(schema, prefix);
}
function collectLeaves(schema: SchemaNode, prefix: string): [string, Leaf][] {
  const out: [string, Leaf][] = [];
  for (const [k, node] of Object.entries(schema)) {
    if (isLeaf(node)) out.push([prefix + k, node]);
    else out.push(...collectLeaves(node, `${prefix + k}.`));
  }
  return out;
}

function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}
function setPath(obj: Record<string, unknown>, path: string, v: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isPlainObject(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = v;
}

/** Defaults of a schema as a plain document. */
export function defaultsOf(schema: SchemaNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [p, l] of leafPaths(schema)) setPath(out, p, structuredClone(l.default));
  return out;
}

/** What is wrong with a leaf's value, by the leaf's format (undefined: nothing). */
function leafProblem(leaf: Leaf, v: unknown): string | undefined {
  if (v === null) return leaf.nullable ? undefined : 'must have a value';
  if (typeof leaf.format !== 'function') return valueProblem(leaf.format as Format, v);
  try {
    leaf.format(v);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

const SCHEMAS: Record<Scope, SchemaNode> = {
  global: documentSchema,
  virtual: virtualServerSchema,
  server: realServerSchema,
  failover: failoverSchema,
};

/**
 * Validates one mapping against one schema level with convict (strict). Returns the value with defaults
 * filled in, where every invalid leaf is replaced by its default (so later stages see a well-typed value).
 */
function validateLevel(value: unknown, scope: Scope, prefix: string, issues: SchemaIssue[]) {
  addFormats();
  const schema = SCHEMAS[scope];
  if (value !== undefined && value !== null && !isPlainObject(value)) {
    issues.push({
      path: prefix.slice(0, -1),
      message: `${prefix.slice(0, -1) || 'document'}: must be a mapping of keys`,
    });
    value = {};
  }
  const clean = sanitize((value ?? {}) as Record<string, unknown>, schema, prefix, issues);
  const bad = new Set<string>();
  const result = defaultsOf(schema);
  try {
    const c = convict(schema as never, { args: [], env: {} });
    c.load(clean);
    try {
      c.validate({ allowed: 'strict' });
    } catch (e) {
      for (const line of String((e as Error).message).split('\n')) {
        const m = /^([A-Za-z0-9_.]+): (.*)$/.exec(line);
        if (!m) continue;
        bad.add(m[1]!);
        issues.push({ path: prefix + m[1], message: `${prefix + m[1]}: ${m[2]}` });
      }
    }
    const props = c.getProperties() as Record<string, unknown>;
    for (const [p, leaf] of leafPaths(schema)) {
      if (bad.has(p)) continue;
      const v = getPath(props, p);
      // convict merges a mapping written where a value belongs into the leaf instead of checking it.
      const problem = leafProblem(leaf, v);
      if (problem === undefined) setPath(result, p, v);
      else
        issues.push({
          path: prefix + p,
          message: `${prefix + p}: ${problem}: value was ${JSON.stringify(v)}`,
        });
    }
  } catch (e) {
    issues.push({ path: prefix.slice(0, -1), message: `${prefix || 'document: '}${(e as Error).message}` });
  }
  readOldValues(scope, result, prefix, issues);
  return result;
}

/** Replaces the old values a key still reads (its `readAs`) by their current ones, warning where asked. */
function readOldValues(scope: Scope, obj: Record<string, unknown>, prefix: string, issues: SchemaIssue[]) {
  for (const k of SCOPES[scope].keys) {
    const v = getPath(obj, k.path);
    const r = k.readAs?.find((x) => x.value === v);
    if (!r) continue;
    setPath(obj, k.path, r.as);
    if (r.warning) issues.push({ path: prefix + k.path, message: r.warning, severity: 'warning' });
  }
}

/**
 * Moves the values written under an old document name (a key's `aliases`, `heartbeat.worker`) to the
 * key's path, in place, before validation. Returns the moves as full document paths, so positions can
 * follow, and a warning for each key written under both names (the current name wins).
 */
export function resolveAliases(doc: unknown): { moved: [from: string, to: string][]; issues: SchemaIssue[] } {
  const moved: [string, string][] = [];
  const issues: SchemaIssue[] = [];
  const walk = (scope: Scope, obj: unknown, prefix: string) => {
    if (!isPlainObject(obj)) return;
    for (const k of SCOPES[scope].keys) {
      if (k.items) {
        const list = getPath(obj, k.path);
        if (Array.isArray(list))
          list.forEach((item, i) => {
            walk(k.items!, item, `${prefix}${k.path}.${i}.`);
          });
        continue;
      }
      for (const old of k.aliases ?? []) {
        const i = old.lastIndexOf('.');
        const parent = i < 0 ? obj : getPath(obj, old.slice(0, i));
        const name = old.slice(i + 1);
        if (!isPlainObject(parent) || !Object.hasOwn(parent, name)) continue;
        if (getPath(obj, k.path) === undefined) {
          setPath(obj, k.path, parent[name]);
          moved.push([prefix + old, prefix + k.path]);
        } else
          issues.push({
            path: prefix + old,
            severity: 'warning',
            atKey: true,
            message: `'${old}' is the old name of '${k.path}' and both are written; ${k.path} is used`,
          });
        delete parent[name];
      }
    }
  };
  walk('global', doc, '');
  return { moved, issues };
}

/** A validated document: every key present (null where unset), defaults filled in, every item validated. */
export type Document = DocumentOf<'global'>;
/** A validated virtual server of a Document. */
export type VirtualServerDocument = DocumentOf<'virtual'>;
/** A validated real server of a Document. */
export type RealServerDocument = DocumentOf<'server'>;
/** A validated failover service of a Document. */
export type FailoverDocument = DocumentOf<'failover'>;
/** A document as written (a YAML file, a dump): any key may be left out, none is null. */
export type DocumentInput = Sparse<Document>;
type Sparse<T> = T extends readonly (infer E)[]
  ? Sparse<E>[]
  : T extends object
    ? { [K in keyof T]?: Sparse<Exclude<T[K], null>> }
    : T;

/**
 * Validates a whole document (as loaded from YAML/JSON or produced by the lvs.cf parser). Collects every
 * issue; never throws. The returned document is well typed even when issues were found.
 */
export function validateDocument(doc: unknown): { doc: Document; issues: SchemaIssue[] } {
  const issues: SchemaIssue[] = [];
  const top = validateLevel(doc, 'global', '', issues);
  type Item = Record<string, unknown>;
  const items = (list: unknown, path: string, scope: Scope, each?: (v: Item, p: string) => void) =>
    (Array.isArray(list) ? list : []).map((item, i) => {
      const v = validateLevel(item, scope, `${path}.${i}.`, issues);
      each?.(v, `${path}.${i}`);
      return v;
    });
  top.virtual_servers = items(top.virtual_servers, 'virtual_servers', 'virtual', (vs, p) => {
    vs.real_servers = items(vs.real_servers, `${p}.real_servers`, 'server');
  });
  top.failover_services = items(top.failover_services, 'failover_services', 'failover');
  // Every leaf holds a value its format accepts (or null where nullable): the shape of Document.
  return { doc: top as unknown as Document, issues };
}
