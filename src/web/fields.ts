/**
 * What the console lets an operator edit: one list of fields per form (global settings, redundancy,
 * virtual server, real server). A field is a key of the config table (config/keys.ts), named by its model
 * path: its label, type, options, document (YAML) path and lvs.cf key come from there, so a validator
 * diagnostic on a line can be shown at its field and a new key reaches the form as one id in a list.
 *
 * Deliberately NOT editable from the web (shown read-only): every key the table marks `runsProgram` —
 * hook commands, send_program, the ipvsadm path — and every key it marks `webReadOnly` — heartbeat
 * authentication and its key files, piranha_compat, the real-time priority, the metrics listener and the
 * load monitor (a URL the root daemon fetches, or a command). The web console never decides what root
 * executes (Piranha's CVE-2000-0248 was exactly that), nor weakens the heartbeat's security.
 */
import { type WebKind, webKindOf, webOptionsOf } from '../config/formats';
import { defaultModel, newGroupModel } from '../config/document';
import {
  type Scope as KeyScope,
  groupOf,
  keyByModel,
  loadMonitorText,
  type ModelPath,
  type ScopeModels,
} from '../config/keys';
import { expandEscapes } from '../config/lvscf';
import type { RealServer, VirtualServer } from '../config/model';

/** How a field is edited (the format's web kind). */
export type FieldType = WebKind;
/** The console's forms. */
export type Scope = 'global' | 'redundancy' | 'virtual' | 'real';

// biome-ignore lint/suspicious/noExplicitAny: field accessors walk model objects generically.
type Any = any;

/** One form field. */
export interface FieldDef {
  /** Form field name: a dot path in the scope object (the model, a VirtualServer or a RealServer). */
  id: string;
  label: string;
  type: FieldType;
  /** Empty input removes the value (or the whole optional group when `groupKey`). */
  optional?: boolean;
  options?: readonly string[];
  help?: string;
  /** Shown but never written from the web. */
  readOnly?: boolean;
  /** Why it is read-only (names a program, or the table's `webReadOnly` reason). */
  readOnlyReason?: string;
  /** Document (YAML) path relative to the scope object, snake_case (`monitor.timeout_ms`). */
  doc: string;
  /** lvs.cf key writing it (`timeout`). */
  cf?: string;
  /** Path of the optional object holding this field (`natRouter`). */
  group?: string;
  /** This field decides whether the group exists: empty removes it, a value creates it. */
  groupKey?: boolean;
  /** New group object when the group key gets a value. */
  groupInit?: (scope: Any) => object;
  /** Custom read (form value from the scope object). */
  get?: (scope: Any) => unknown;
  /** Custom write of an already-converted value. Returns an error message to refuse it. */
  set?: (scope: Any, value: unknown) => string | undefined;
}

/** What a form shows: which key scope its object is, and its fields (model paths) in form order. */
interface FormDef<S extends KeyScope> {
  keys: S;
  ids: readonly ModelPath<ScopeModels[S]>[];
}

/** GLOBAL SETTINGS: the primary router, forwarding, NAT router, LB backend, sync daemon, kernel timeouts. */
const GLOBAL_FORM: FormDef<'global'> = {
  keys: 'global',
  ids: [
    'primary.address',
    'primary.privateAddress',
    'network',
    'natRouter.address',
    'natRouter.prefixLength',
    'natRouter.device',
    'natRouter.label',
    'lb.backend',
    'lb.hotStandby',
    'lb.onStop',
    'lb.ipvsadmPath',
    'hardShutdown',
    'syncDaemon.enabled',
    'syncDaemon.interface',
    'syncDaemon.mcastGroup',
    'syncDaemon.id',
    'syncDaemon.port',
    'syncDaemon.ttl',
    'syncDaemon.maxlen',
    'syncDaemon.version',
    'syncDaemon.threshold',
    'syncDaemon.period',
    'syncDaemon.refreshPeriodS',
    'syncDaemon.persistMode',
    'syncDaemon.mode',
    'syncDaemon.transport',
    'syncDaemon.resyncTimeoutMs',
    'syncDaemon.conntrackdPath',
    'timeouts.tcp',
    'timeouts.tcpfin',
    'timeouts.udp',
    'logLevel',
    'metrics.listen',
    'hooks.activeCmd',
    'hooks.inactiveCmd',
    'hooks.notifyCmd',
  ],
};

/** REDUNDANCY: the backup router, heartbeat, election, announcements, link monitoring. */
const REDUNDANCY_FORM: FormDef<'global'> = {
  keys: 'global',
  ids: [
    'backupActive',
    'backup.address',
    'backup.privateAddress',
    'primary.priority',
    'backup.priority',
    'heartbeat.port',
    'heartbeat.keepaliveMs',
    'heartbeat.deadtimeMs',
    'heartbeat.auth',
    'heartbeat.keyFile',
    'heartbeat.previousKeyFile',
    'heartbeat.multicast.group',
    'heartbeat.multicast.interface',
    'heartbeat.multicast.ttl',
    'heartbeat.preempt',
    'heartbeat.preemptDelayMs',
    'heartbeat.handoverTimeoutMs',
    'heartbeat.piranhaCompat',
    'heartbeat.rtPriority',
    'heartbeat.isolation',
    'announce.count',
    'announce.intervalMs',
    'announce.repeatDelayMs',
    'announce.repeatCount',
    'announce.refreshMs',
    'announce.form',
    'monitorLinks',
    'linkInterfaces',
  ],
};

/** VIRTUAL SERVER: service, scheduling, persistence, sorry server, monitoring options. */
const VIRTUAL_FORM: FormDef<'virtual'> = {
  keys: 'virtual',
  ids: [
    'name',
    'active',
    'vip.address',
    'vip.prefixLength',
    'vip.device',
    'vip.label',
    'protocol',
    'port',
    'fwmark',
    'scheduler',
    'persistentS',
    'pmask',
    'sorryServer.address',
    'sorryServer.port',
    'monitor.kind',
    'monitor.send',
    'monitor.expect',
    'monitor.useRegex',
    'monitor.sendProgram',
    'monitor.timeoutMs',
    'monitor.intervalMs',
    'monitor.fall',
    'monitor.rise',
    'monitor.jitterMs',
    'monitor.quiesce',
    'monitor.slowStartMs',
    'monitor.loadMonitor',
    'monitor.http.path',
    'monitor.http.status',
    'monitor.http.host',
    'monitor.dns.name',
    'monitor.dns.type',
  ],
};

/** REAL SERVER: address, port, weight, activation. */
const REAL_FORM: FormDef<'server'> = {
  keys: 'server',
  ids: ['name', 'address', 'port', 'weight', 'active', 'forwarding'],
};

/** The forms, by form scope. */
export const FORMS: { readonly [F in Scope]: FormDef<KeyScope> } = {
  global: GLOBAL_FORM,
  redundancy: REDUNDANCY_FORM,
  virtual: VIRTUAL_FORM,
  real: REAL_FORM,
};

/** Control characters as the lvs.cf escapes an operator types (`\r\n`): a text input cannot hold a newline. */
export function escapeControls(s: string): string {
  return s.replace(/[\\\r\n\t]/g, (c) => ({ '\\': '\\\\', '\r': '\\r', '\n': '\\n', '\t': '\\t' })[c]!);
}

const escapedText = (key: 'send' | 'expect'): Partial<FieldDef> => ({
  help: 'Escapes \\r \\n \\t \\\\ as in lvs.cf.',
  get: (vs: VirtualServer) => (vs.monitor[key] === undefined ? '' : escapeControls(vs.monitor[key]!)),
  set: (vs: VirtualServer, v: unknown) => {
    if (v === undefined) delete vs.monitor[key];
    else vs.monitor[key] = expandEscapes(String(v));
    return undefined;
  },
});

/** How the web reads and writes the fields whose form text is not their model value. */
const CUSTOM: Partial<Record<Scope, Record<string, Partial<FieldDef>>>> = {
  virtual: {
    'monitor.send': escapedText('send'),
    'monitor.expect': escapedText('expect'),
    'monitor.loadMonitor': { get: (vs: VirtualServer) => loadMonitorText(vs.monitor.loadMonitor) },
  },
};

const NAMES_A_PROGRAM =
  'names a program: it is set in the configuration file on the router, never from the web';
const NAMES_A_PROGRAM_REASON = 'it names a program that root runs';

/** One form field from its key in the table. */
function fieldOf(form: Scope, keys: KeyScope, id: string): FieldDef {
  const k = keyByModel(keys, id);
  if (!k?.web) throw new Error(`form ${form}: ${id} is not a key with a web label in config/keys.ts`);
  const group = groupOf(keys, id);
  const groupKey = group?.key === id;
  const readOnly = k.runsProgram === true || k.webReadOnly !== undefined;
  const readOnlyReason = k.runsProgram === true ? NAMES_A_PROGRAM_REASON : k.webReadOnly;
  const optional = (groupKey || k.optional === true) && !readOnly;
  const type = webKindOf(k.format);
  const options = type === 'enum' ? webOptionsOf(k.format) : undefined;
  const custom = CUSTOM[form]?.[id] ?? {};
  const def: FieldDef = {
    id,
    label: k.web.label,
    type,
    doc: k.path,
    ...(k.cf ? { cf: k.cf.key } : {}),
    ...(optional ? { optional: true } : {}),
    ...(options ? { options: optional ? ['', ...options] : options } : {}),
    ...(k.web.help ? { help: k.web.help } : {}),
    ...(readOnly ? { readOnly: true, readOnlyReason } : {}),
    ...(group ? { group: group.model } : {}),
    ...(groupKey ? { groupKey: true, groupInit: (o: object) => newGroupModel(keys, group!.model, o) } : {}),
    ...custom,
  };
  // Some values of the key name a program: refuse any the web would introduce (when the key is writable).
  if (typeof k.runsProgram === 'function' && !readOnly) {
    const names = k.runsProgram as (v: unknown) => boolean;
    const write =
      def.set ??
      ((o: Any, v: unknown) => {
        setPath(o, id, v);
        return undefined;
      });
    def.set = (o: Any, v: unknown) => {
      const before = structuredClone(getPath(o, id));
      const err = write(o, v);
      if (err) return err;
      const after = getPath(o, id);
      if (!names(after) || JSON.stringify(after) === JSON.stringify(before)) return undefined;
      setPath(o, id, before);
      return NAMES_A_PROGRAM;
    };
  }
  return def;
}

const fieldTables = new Map<Scope, FieldDef[]>();
/** The field table of a form. */
export function fieldsOf(scope: Scope): FieldDef[] {
  let t = fieldTables.get(scope);
  if (!t) {
    const form = FORMS[scope];
    t = form.ids.map((id) => fieldOf(scope, form.keys, id));
    fieldTables.set(scope, t);
  }
  return t;
}

/** GLOBAL SETTINGS fields (see FORMS). */
export const GLOBAL_FIELDS: readonly FieldDef[] = fieldsOf('global');
/** REDUNDANCY fields. */
export const REDUNDANCY_FIELDS: readonly FieldDef[] = fieldsOf('redundancy');
/** VIRTUAL SERVER fields. */
export const VIRTUAL_FIELDS: readonly FieldDef[] = fieldsOf('virtual');
/** REAL SERVER fields. */
export const REAL_FIELDS: readonly FieldDef[] = fieldsOf('real');

/** Reads a dot path (`heartbeat.multicast.ttl`) from an object; undefined when a step is missing. */
export function getPath(obj: Any, path: string): unknown {
  let o = obj;
  for (const k of path.split('.')) {
    if (o === null || typeof o !== 'object') return undefined;
    o = o[k];
  }
  return o;
}

/** Writes a dot path; `undefined` deletes the last key. Intermediate objects must exist. */
export function setPath(obj: Any, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop()!;
  let o = obj;
  for (const k of keys) o = o[k];
  if (value === undefined) delete o[last];
  else o[last] = value;
}

/** A field as the browser sees it: definition plus current value. */
export interface FieldView {
  id: string;
  label: string;
  type: FieldType;
  optional: boolean;
  readOnly: boolean;
  /** Why a read-only field cannot be written from the web. */
  readOnlyReason?: string;
  options?: readonly string[];
  help?: string;
  value: unknown;
}

/** The form of a scope object: every field with its value as the form shows it. */
export function viewFields(scope: Scope, obj: Any): FieldView[] {
  return fieldsOf(scope).map((d) => {
    const raw = d.get ? d.get(obj) : getPath(obj, d.id);
    let value: unknown = raw;
    if (d.type === 'list' || d.type === 'intlist') value = Array.isArray(raw) ? raw.join(' ') : '';
    else if (raw === undefined || raw === null) value = d.type === 'bool' ? false : '';
    return {
      id: d.id,
      label: d.label,
      type: d.type,
      optional: !!d.optional,
      readOnly: !!d.readOnly,
      ...(d.readOnlyReason ? { readOnlyReason: d.readOnlyReason } : {}),
      ...(d.options ? { options: d.options } : {}),
      ...(d.help ? { help: d.help } : {}),
      value,
    };
  });
}

/** A new virtual server for the "add" form: the shipped defaults, with a plain TCP connect probe. */
export function newVirtualServer(): VirtualServer {
  return defaultModel('virtual', { 'monitor.kind': 'tcp' }) as unknown as VirtualServer;
}

/** A new real server of `vs` for the "add" form: the shipped defaults, on the virtual server's port. */
export function newRealServer(vs: VirtualServer): RealServer {
  return defaultModel('server', {}, { port: vs.port }) as unknown as RealServer;
}
