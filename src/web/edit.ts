/**
 * Form edits → a new model (pure). A form posts a fragment: field ids (dot paths, see fields.ts) with
 * their new values; fields it leaves out keep their value. Type problems (a weight that is not a number)
 * are reported here at the field; everything else — ranges, addresses, duplicates, cross checks — is left
 * to the config validator, exactly as `pulse --check-config` runs it, and its diagnostics are mapped back
 * to the field written on the diagnostic's line (mapDiagnostics).
 */
import type { ConfigDiagnostic, LvsModel, RealServer, VirtualServer } from '../config/model';
import {
  type FieldDef,
  fieldsOf,
  getPath,
  newRealServer,
  newVirtualServer,
  type Scope,
  setPath,
  viewFields,
} from './fields';

/** A problem shown at a field (`field` set) or at the top of the form. */
export interface FieldError {
  field?: string;
  message: string;
  /** Where the validator saw it in the text that would have been written. */
  file?: string;
  line?: number;
  col?: number;
}

/** A form's fragment: field id → posted value. */
export type Fields = Record<string, unknown>;

/** What a form asks for. Names address the objects as they are before the edit. */
export type Edit =
  | { kind: 'global'; fields: Fields }
  | { kind: 'redundancy'; fields: Fields }
  | { kind: 'virtual-add'; fields: Fields }
  | { kind: 'virtual-edit'; virtual: string; fields: Fields }
  | { kind: 'virtual-delete'; virtual: string }
  | { kind: 'real-add'; virtual: string; fields: Fields }
  | { kind: 'real-edit'; virtual: string; real: string; fields: Fields }
  | { kind: 'real-delete'; virtual: string; real: string };

/** One changed value, for the audit log. */
export interface Change {
  /** `global`, `virtual web`, `real web/rs1`. */
  target: string;
  field: string;
  from?: unknown;
  to?: unknown;
}

/** The new model with its changes, or the errors to show (404 unknown target, 422 invalid). */
export type EditResult =
  | { ok: true; model: LvsModel; changes: Change[]; scope: Scope }
  | { ok: false; status: 404 | 422; errors: FieldError[]; scope?: Scope };

const CONTROL = /[\u0000-\u001f\u007f]/;
const MAX_STRING = 4096;

/** Converts one form value to the field's type. */
export function convert(def: FieldDef, raw: unknown): { value: unknown } | { error: string } {
  if (raw === null || raw === undefined) raw = '';
  if (typeof raw === 'number' || typeof raw === 'boolean') raw = def.type === 'bool' ? raw : String(raw);
  const empty = typeof raw === 'string' && raw.trim() === '';
  if (def.type !== 'bool' && typeof raw !== 'string' && !Array.isArray(raw)) return { error: 'must be text' };
  if (typeof raw === 'string') {
    if (raw.length > MAX_STRING) return { error: `must be at most ${MAX_STRING} characters` };
    if (CONTROL.test(raw)) return { error: 'must not contain control characters (newlines, tabs, …)' };
  }
  if (empty && def.optional) return { value: undefined };
  switch (def.type) {
    case 'string':
      if (typeof raw !== 'string') return { error: 'must be text' };
      return { value: raw.trim() };
    case 'int': {
      const s = String(raw).trim();
      if (!/^[+-]?\d{1,15}$/.test(s)) return { error: 'must be a whole number' };
      return { value: Number(s) };
    }
    case 'bool': {
      if (typeof raw === 'boolean') return { value: raw };
      const s = String(raw).trim().toLowerCase();
      if (['true', 'on', '1', 'yes'].includes(s)) return { value: true };
      if (['false', 'off', '0', 'no', ''].includes(s)) return { value: false };
      return { error: 'must be true or false' };
    }
    case 'enum': {
      const s = String(raw).trim();
      if (!def.options?.includes(s))
        return { error: `must be one of ${def.options?.filter(Boolean).join(', ')}` };
      return { value: s === '' ? undefined : s };
    }
    case 'list':
    case 'intlist': {
      const items = (Array.isArray(raw) ? raw.map(String) : String(raw).split(/[\s,]+/)).filter(
        (x) => x !== '',
      );
      if (items.some((x) => CONTROL.test(x))) return { error: 'must not contain control characters' };
      if (def.type === 'list') return { value: items };
      if (items.some((x) => !/^\d{1,6}$/.test(x)))
        return { error: 'must be whole numbers separated by spaces' };
      return { value: items.map(Number) };
    }
  }
}

/**
 * Applies a fragment to one scope object (mutating it). Returns field errors (type problems, read-only or
 * unknown fields) and the changes made.
 */
export function applyFields(
  scope: Scope,
  obj: object,
  input: Fields,
  target: string,
): { errors: FieldError[]; changes: Change[] } {
  const defs = fieldsOf(scope);
  const errors: FieldError[] = [];
  const changes: Change[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { errors: [{ message: 'fields must be an object' }], changes };
  const known = new Set(defs.map((d) => d.id));
  for (const k of Object.keys(input))
    if (!known.has(k)) errors.push({ message: `unknown field ${JSON.stringify(k.slice(0, 64))}` });
  const before = new Map(viewFields(scope, obj).map((v) => [v.id, v.value]));
  // Group keys first: they create or remove the optional object the other fields of the group live in.
  const ordered = [...defs.filter((d) => d.groupKey), ...defs.filter((d) => !d.groupKey)];
  for (const def of ordered) {
    if (!Object.hasOwn(input, def.id)) continue;
    const raw = input[def.id];
    if (def.readOnly) {
      const same = String(raw ?? '') === String(before.get(def.id) ?? '');
      if (!same)
        errors.push({
          field: def.id,
          message: `is set in the configuration file on the router, never from the web: ${def.readOnlyReason}`,
        });
      continue;
    }
    // A field of an optional group that does not exist (after its group key was applied) is ignored.
    if (def.group && !def.groupKey && getPath(obj, def.group) === undefined) continue;
    // An empty required field of a group keeps the group's value (its default when the group key just made it).
    if (def.group && !def.groupKey && !def.optional && (raw === '' || raw === undefined || raw === null))
      continue;
    const c = convert(def, raw);
    if ('error' in c) {
      errors.push({ field: def.id, message: c.error });
      continue;
    }
    if (def.set) {
      const err = def.set(obj, c.value);
      if (err) errors.push({ field: def.id, message: err });
    } else if (def.groupKey) {
      if (c.value === undefined) setPath(obj, def.group!, undefined);
      else {
        if (getPath(obj, def.group!) === undefined) setPath(obj, def.group!, def.groupInit!(obj));
        setPath(obj, def.id, c.value);
      }
    } else setPath(obj, def.id, c.value);
  }
  const after = new Map(viewFields(scope, obj).map((v) => [v.id, v.value]));
  for (const [id, v] of after)
    if (JSON.stringify(v) !== JSON.stringify(before.get(id)))
      changes.push({ target, field: id, from: before.get(id), to: v });
  return { errors, changes };
}

function findVirtual(m: LvsModel, name: string): VirtualServer | undefined {
  return m.virtualServers.find((v) => v.name === name);
}

function uniqueName(kind: string, name: unknown, others: { name: string }[]): FieldError | undefined {
  if (typeof name !== 'string' || name === '') return { field: 'name', message: `a ${kind} needs a name` };
  if (others.some((o) => o.name === name))
    return { field: 'name', message: `another ${kind} is already named ${JSON.stringify(name)}` };
  return undefined;
}

/**
 * Builds the new model for an edit. The input model is not modified. Piranha bumped serial_no on each
 * GUI save; so does this.
 */
export function applyEdit(model: LvsModel, edit: Edit): EditResult {
  const m = structuredClone(model);
  const notFound = (what: string): EditResult => ({
    ok: false,
    status: 404,
    errors: [{ message: `no ${what}` }],
  });
  let scope: Scope;
  let res: { errors: FieldError[]; changes: Change[] };
  switch (edit.kind) {
    case 'global':
    case 'redundancy':
      scope = edit.kind;
      res = applyFields(scope, m, edit.fields, edit.kind);
      break;
    case 'virtual-add': {
      scope = 'virtual';
      const vs = newVirtualServer();
      res = applyFields(scope, vs, edit.fields, 'virtual (new)');
      const dup = uniqueName('virtual server', vs.name, m.virtualServers);
      if (dup) res.errors.push(dup);
      m.virtualServers.push(vs);
      res.changes = [{ target: `virtual ${vs.name}`, field: '*', to: 'added' }, ...res.changes];
      break;
    }
    case 'virtual-edit': {
      scope = 'virtual';
      const vs = findVirtual(m, edit.virtual);
      if (!vs) return notFound(`virtual server ${JSON.stringify(edit.virtual)}`);
      const oldPort = vs.port;
      res = applyFields(scope, vs, edit.fields, `virtual ${edit.virtual}`);
      if (vs.name !== edit.virtual) {
        const dup = uniqueName(
          'virtual server',
          vs.name,
          m.virtualServers.filter((v) => v !== vs),
        );
        if (dup) res.errors.push(dup);
      }
      // Real servers that followed the virtual's port keep following it.
      if (vs.port !== oldPort) for (const rs of vs.realServers) if (rs.port === oldPort) rs.port = vs.port;
      break;
    }
    case 'virtual-delete': {
      scope = 'virtual';
      const i = m.virtualServers.findIndex((v) => v.name === edit.virtual);
      if (i < 0) return notFound(`virtual server ${JSON.stringify(edit.virtual)}`);
      m.virtualServers.splice(i, 1);
      res = {
        errors: [],
        changes: [{ target: `virtual ${edit.virtual}`, field: '*', from: 'present', to: 'deleted' }],
      };
      break;
    }
    case 'real-add':
    case 'real-edit':
    case 'real-delete': {
      scope = 'real';
      const vs = findVirtual(m, edit.virtual);
      if (!vs) return notFound(`virtual server ${JSON.stringify(edit.virtual)}`);
      if (edit.kind === 'real-add') {
        const rs: RealServer = newRealServer(vs);
        res = applyFields(scope, rs, edit.fields, `real ${edit.virtual}/(new)`);
        const dup = uniqueName('real server of this virtual server', rs.name, vs.realServers);
        if (dup) res.errors.push(dup);
        vs.realServers.push(rs);
        res.changes = [
          { target: `real ${edit.virtual}/${rs.name}`, field: '*', to: 'added' },
          ...res.changes,
        ];
        break;
      }
      const i = vs.realServers.findIndex((r) => r.name === edit.real);
      if (i < 0)
        return notFound(`real server ${JSON.stringify(edit.real)} in ${JSON.stringify(edit.virtual)}`);
      if (edit.kind === 'real-delete') {
        vs.realServers.splice(i, 1);
        res = {
          errors: [],
          changes: [
            { target: `real ${edit.virtual}/${edit.real}`, field: '*', from: 'present', to: 'deleted' },
          ],
        };
        break;
      }
      const rs = vs.realServers[i]!;
      res = applyFields(scope, rs, edit.fields, `real ${edit.virtual}/${edit.real}`);
      if (rs.name !== edit.real) {
        const dup = uniqueName(
          'real server of this virtual server',
          rs.name,
          vs.realServers.filter((r) => r !== rs),
        );
        if (dup) res.errors.push(dup);
      }
      break;
    }
    default:
      return { ok: false, status: 422, errors: [{ message: 'unknown edit' }] };
  }
  if (res.errors.length) return { ok: false, status: 422, errors: res.errors, scope };
  m.serialNo = model.serialNo + 1;
  return { ok: true, model: m, changes: res.changes, scope };
}

/**
 * The key path of a YAML line, from indentation: `['virtual_servers', 'vip', 'address']` for an
 * `address:` nested under `vip:` in a list item of `virtual_servers:` (list indexes are skipped).
 */
export function yamlPathAt(lines: string[], index: number): string[] {
  const keyOf = (line: string | undefined): { key: string; col: number } | undefined => {
    if (line === undefined) return undefined;
    const m = /^(\s*(?:-\s+)*)(["']?)([A-Za-z_][\w-]*)\2\s*:(?:\s|$)/.exec(line);
    return m ? { key: m[3]!, col: m[1]!.length } : undefined;
  };
  const first = keyOf(lines[index]);
  if (!first) return [];
  const path = [first.key];
  let indent = first.col;
  for (let j = index - 1; j >= 0 && indent > 0; j--) {
    const k = keyOf(lines[j]);
    if (k && k.col < indent) {
      path.unshift(k.key);
      indent = k.col;
    }
  }
  return path;
}

/** The lvs.cf key of a line (`weight = 3` → weight; `server rs1 {` → server). */
export function lvsCfKeyAt(line: string | undefined): string | undefined {
  if (line === undefined) return undefined;
  const m = /^\s*([A-Za-z_][\w]*)\s*=/.exec(line) ?? /^\s*(virtual|server|failover)\s+\S+\s*\{/.exec(line);
  return m?.[1];
}

/**
 * Maps validator diagnostics (errors) on `text` to the fields of a form: the field is the one whose key
 * is written on the diagnostic's line. Diagnostics on other lines stay form-level, with their line.
 */
export function mapDiagnostics(
  diagnostics: ConfigDiagnostic[],
  text: string,
  format: 'yaml' | 'lvs.cf' | 'json',
  scope: Scope,
): FieldError[] {
  const lines = text.split('\n');
  const defs = fieldsOf(scope).filter((d) => !d.readOnly);
  const out: FieldError[] = [];
  for (const d of diagnostics) {
    if (d.severity !== 'error') continue;
    const e: FieldError = { message: d.message, file: d.file, line: d.line, col: d.col };
    let field: FieldDef | undefined;
    if (format === 'lvs.cf') {
      const key = lvsCfKeyAt(lines[d.line - 1]);
      field = key ? defs.find((f) => f.cf === key) : undefined;
    } else {
      const path = format === 'json' ? jsonPathAt(lines, d.line - 1) : yamlPathAt(lines, d.line - 1);
      let best = 0;
      for (const f of defs) {
        const want = f.doc.split('.');
        if (want.length > path.length || want.length <= best) continue;
        if (want.every((k, i) => path[path.length - want.length + i] === k)) {
          field = f;
          best = want.length;
        }
      }
    }
    if (field) {
      e.field = field.id;
      // Shown at the field: drop the document path the validator puts first (`virtual_servers.0.port: `).
      const m = /^([\w.]+): (.+)$/s.exec(d.message);
      if (m && m[1]!.split('.').pop() === field.doc.split('.').pop()) e.message = m[2]!;
    }
    out.push(e);
  }
  return out;
}

/** Key path of a line of pretty-printed JSON (`JSON.stringify(doc, null, 2)`), by indentation. */
function jsonPathAt(lines: string[], index: number): string[] {
  const yamlish = lines.map((l) => l.replace(/^(\s*)"([A-Za-z_][\w-]*)"\s*:/, '$1$2:'));
  return yamlPathAt(yamlish, index);
}
