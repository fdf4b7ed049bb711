/**
 * Document ↔ model, both directions derived from the key table (keys.ts). A document is the native
 * YAML/JSON shape (snake_case), validated and with defaults filled in (schema.ts); the model is what the
 * daemon reads (model.ts). Each key copies its value to its model field (converting where its entry
 * says so); a key left unset takes its entry's `unset` default, computed here once for every front end.
 */
import { canonicalIP } from '../lib/addr.js';
import { type KeyDef, SCOPES, type Scope } from './keys.js';
import type { LvsModel } from './model.js';
import type { Document, DocumentInput } from './schema.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function getPath(o: unknown, path: string): unknown {
  let cur = o;
  for (const k of path.split('.')) cur = isObj(cur) ? cur[k] : undefined;
  return cur;
}
function setPath(o: Obj, path: string, v: unknown): void {
  const keys = path.split('.');
  let cur = o;
  for (const k of keys.slice(0, -1)) {
    if (!isObj(cur[k])) cur[k] = {};
    cur = cur[k] as Obj;
  }
  cur[keys[keys.length - 1]!] = v;
}
function deletePath(o: Obj, path: string): void {
  const i = path.lastIndexOf('.');
  const parent = i < 0 ? o : getPath(o, path.slice(0, i));
  if (isObj(parent)) delete parent[path.slice(i + 1)];
}
const parentPath = (path: string) => (path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '');

/** The model objects every value of a scope lives in (created even when all their fields are absent). */
const containers = new Map<Scope, string[]>();
function containersOf(scope: Scope): string[] {
  let out = containers.get(scope);
  if (!out) {
    const { keys, groups } = SCOPES[scope];
    const set = new Set<string>();
    for (const k of keys)
      for (let p = parentPath(k.model); p !== ''; p = parentPath(p))
        if (!groups.some((g) => p === g.model || p.startsWith(`${g.model}.`))) set.add(p);
    out = [...set].sort((a, b) => a.split('.').length - b.split('.').length);
    containers.set(scope, out);
  }
  return out;
}

/** A document value as the model holds it, when its entry names no conversion. */
function plainToModel(k: KeyDef, v: unknown): unknown {
  if (k.format === 'lvs-ip' && typeof v === 'string') return canonicalIP(v) ?? v;
  return Array.isArray(v) ? [...v] : v;
}

/**
 * One validated scope object → its model object. `parent` is the enclosing scope's document;
 * `keepGroups` keeps optional objects whose key field is unset (newGroupModel builds one).
 */
function toModel(scope: Scope, doc: Obj, parent?: Obj, keepGroups = false): Obj {
  const model: Obj = {};
  for (const c of containersOf(scope)) setPath(model, c, {});
  for (const k of SCOPES[scope].keys) {
    const v = getPath(doc, k.path);
    let mv: unknown;
    if (k.items) mv = (Array.isArray(v) ? v : []).map((item) => toModel(k.items!, item as Obj, doc));
    else if (v === null || v === undefined) {
      const group = getPath(doc, parentPath(k.path)) ?? doc;
      mv = k.unset
        ? (k.unset as (g: unknown, s: unknown, p: unknown) => unknown)(group, doc, parent)
        : undefined;
    } else mv = k.toModel ? (k.toModel as (x: unknown) => unknown)(v) : plainToModel(k, v);
    if (mv !== undefined) setPath(model, k.model, mv);
  }
  for (const g of keepGroups ? [] : SCOPES[scope].groups) {
    const present = g.present
      ? (g.present as (m: unknown) => boolean)(model)
      : getPath(model, g.key) !== undefined;
    if (!present) deletePath(model, g.model);
  }
  return model;
}

/** Builds the model from a validated document (see schema.ts validateDocument). Never throws. */
export function documentToModel(doc: Document): LvsModel {
  return toModel('global', doc as unknown as Obj) as unknown as LvsModel;
}

/** Drops undefined values, empty mappings. */
function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(prune);
  if (typeof v !== 'object' || v === null) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    const p = prune(x);
    if (p === undefined) continue;
    if (typeof p === 'object' && p !== null && !Array.isArray(p) && Object.keys(p).length === 0) continue;
    out[k] = p;
  }
  return out;
}

/** One model object → its document object, in table order (values of absent groups left out). */
function toDoc(scope: Scope, model: Obj): Obj {
  const doc: Obj = {};
  const absent = SCOPES[scope].groups
    .filter((g) => getPath(model, g.model) === undefined)
    .map((g) => g.model);
  for (const k of SCOPES[scope].keys) {
    if (absent.some((g) => k.model.startsWith(`${g}.`))) {
      setPath(doc, k.path, undefined);
      continue;
    }
    const mv = getPath(model, k.model);
    const dv = k.items
      ? (Array.isArray(mv) ? mv : []).map((item) => toDoc(k.items!, item as Obj))
      : k.toDoc
        ? (k.toDoc as (x: unknown) => unknown)(mv)
        : Array.isArray(mv)
          ? [...mv]
          : mv;
    setPath(doc, k.path, dv);
  }
  return doc;
}

/**
 * The native document of a model: every value explicit (defaults included), in table order; unset
 * values and absent groups are left out (so the document reads back into the same model).
 */
export function modelToDocument(m: LvsModel): DocumentInput {
  return prune(toDoc('global', m as unknown as Obj)) as DocumentInput;
}

/** A scope's document with every key at its default (null where unset), in table order. */
function defaultDoc(scope: Scope): Obj {
  const doc: Obj = {};
  for (const k of SCOPES[scope].keys) setPath(doc, k.path, structuredClone(k.default));
  return doc;
}

/**
 * A new model object of a scope with the shipped defaults, for the console's "add" forms: `values` are
 * document values written first (`{ 'monitor.kind': 'tcp' }`), `parent` the enclosing scope's document
 * values a default may follow (a real server's port is its virtual server's).
 */
export function defaultModel(scope: Scope, values: Obj = {}, parent?: Obj): Obj {
  const doc = defaultDoc(scope);
  for (const [p, v] of Object.entries(values)) setPath(doc, p, v);
  return toModel(scope, doc, parent);
}

/**
 * A new optional model object (`natRouter`, `monitor.dns`) for `scopeModel`, its fields at their
 * defaults and its key field empty: what the console creates when an operator fills in the key field.
 */
export function newGroupModel(scope: Scope, group: string, scopeModel: object): Obj {
  const def = SCOPES[scope].groups.find((g) => g.model === group);
  if (!def) throw new Error(`no optional group ${group} in ${scope}`);
  // The scope as a validated document: its own values, null where unset, the new group at its defaults.
  const doc = toDoc(scope, scopeModel as Obj);
  for (const k of SCOPES[scope].keys)
    if (k.model.startsWith(`${group}.`)) setPath(doc, k.path, structuredClone(k.default));
    else if (getPath(doc, k.path) === undefined) setPath(doc, k.path, null);
  const built = toModel(scope, doc, undefined, true);
  const out = getPath(built, group) as Obj;
  const keyField = def.key.slice(group.length + 1);
  return getPath(out, keyField) === undefined ? { [keyField]: '', ...out } : out;
}
