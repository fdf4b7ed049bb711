/**
 * The protected keys of the config table (pure): the ones whose value names a program root runs
 * (`runsProgram`) and the ones marked security-sensitive (`webReadOnly`: heartbeat authentication, key
 * files, piranha_compat, real-time priority, the metrics listener, the load monitor). Derived from the
 * table, so a new key marked there is protected everywhere at once:
 * - where a model sets a program-naming key (a file only root may write is the one place they are
 *   honoured: filetrust.ts, loadConfig);
 * - which keys differ between two models, and which of those are protected (the web console's peer push
 *   refuses protected changes unless the receiver accepts them, and logs the names of every change).
 */
import { defaultModel } from './document.js';
import { type KeyDef, SCOPES, type Scope } from './keys.js';
import * as D from './defaults.js';
import type { LvsModel, MonitorConfig } from './model.js';

/** Why a key is protected: it names a program root runs, or it is security-sensitive. */
export type Protection = 'program' | 'sensitive';

/** One key as written for one object of a model. */
export interface KeySite {
  /** Document path with list items by index (`virtual_servers.0.monitor.send_program`), as diagnostics use. */
  path: string;
  /** Document path with list items by name (`virtual_servers[http].monitor.send_program`), for logs. */
  name: string;
  scope: Scope;
  key: KeyDef;
  /** The model value (undefined when unset). */
  value: unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: model objects are walked generically by the table's paths.
type Any = any;

function getPath(obj: Any, path: string): unknown {
  let o = obj;
  for (const k of path.split('.')) {
    if (o === null || typeof o !== 'object') return undefined;
    o = o[k];
  }
  return o;
}

/** The protection of a key, or undefined when it is an ordinary key. */
export function protectionOf(key: KeyDef): Protection | undefined {
  if (key.runsProgram !== undefined) return 'program';
  if (key.webReadOnly !== undefined) return 'sensitive';
  return undefined;
}

/** Every key of every object of a model (items lists are walked into, not reported themselves). */
export function keySites(m: LvsModel): KeySite[] {
  const out: KeySite[] = [];
  const walk = (scope: Scope, obj: Any, path: string, name: string) => {
    for (const key of SCOPES[scope].keys) {
      const at = (p: string) => (p === '' ? key.path : `${p}.${key.path}`);
      if (key.items) {
        const list = getPath(obj, key.model);
        if (!Array.isArray(list)) continue;
        list.forEach((item: Any, i: number) => {
          const label = typeof item?.name === 'string' ? item.name : String(i);
          walk(key.items!, item, `${at(path)}.${i}`, `${at(name)}[${label}]`);
        });
        continue;
      }
      out.push({ path: at(path), name: at(name), scope, key, value: getPath(obj, key.model) });
    }
  };
  walk('global', m, '', '');
  return out;
}

/** Whether a site's value names a program (a set value of a runsProgram key, or one its test accepts). */
export function namesProgram(site: KeySite): boolean {
  const rp = site.key.runsProgram;
  if (rp === undefined) return false;
  const v = site.value;
  if (typeof rp === 'function') return v !== undefined && (rp as (x: unknown) => boolean)(v);
  return v !== undefined && v !== null && v !== '' && v !== site.key.default;
}

/** The sites where a model names a program root would run (hooks, send_program, a load_monitor command, …). */
export function programSites(m: LvsModel): KeySite[] {
  return keySites(m).filter(namesProgram);
}

/** Whether a listener address (`HOST:PORT`, `[v6]:PORT`) is on the loopback (or empty = off). */
function loopbackListen(v: unknown): boolean {
  if (v === '' || v === undefined) return true;
  const host = String(v).replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * For each security-sensitive key: which values weaken the router. Values checked where they are used are
 * absent: a key file must be root-owned and hold a keygen-strength key (heartbeat/keys.ts). A sensitive key
 * not listed here weakens whenever it is set away from its default.
 */
const WEAKENS: Record<string, ((v: unknown, m: LvsModel) => boolean) | null> = {
  'heartbeat.key_file': null,
  'heartbeat.key_file_old': null,
  'heartbeat.auth': (v, m) => v === 'none' && m.backupActive,
  'heartbeat.piranha_compat': (v) => v === true,
  'heartbeat.rt_priority': (v) => typeof v === 'number' && v > D.RT_PRIORITY,
  'metrics.listen': (v) => !loopbackListen(v),
  'monitor.load_monitor': (v) => (v as MonitorConfig['loadMonitor'] | undefined)?.kind === 'http',
};

/**
 * The sites where a model sets a security-sensitive key to a value that weakens the router (authentication
 * off, Piranha's unauthenticated heartbeat, a higher real-time priority, a metrics listener off the
 * loopback, a load-monitor URL the root daemon fetches): honoured, like program-naming keys, only from a
 * file that only root can write.
 */
export function weakeningSites(m: LvsModel): KeySite[] {
  return keySites(m).filter((s) => {
    if (protectionOf(s.key) !== 'sensitive' || s.value === undefined) return false;
    const rule = WEAKENS[s.key.path];
    if (rule === null) return false;
    if (rule) return rule(s.value, m);
    return !same(s.value, getPath(defaultModel(s.scope), s.key.model));
  });
}

/** A key whose value differs between two models. */
export interface KeyChange {
  /** Document path by names (`virtual_servers[http].real_servers[rs1].weight`); an added or removed
   * virtual or real server is one change named by the object itself. */
  name: string;
  protection?: Protection;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The keys that differ between two models, objects of lists matched by name. An object only in `after`
 * is one change; it is protected as `program` when it names a program, `sensitive` when it sets a
 * sensitive key away from its default. An object only in `before` is one unprotected change.
 */
export function changedKeys(before: LvsModel, after: LvsModel): KeyChange[] {
  const out: KeyChange[] = [];
  const index = (sites: KeySite[]) => new Map(sites.map((s) => [s.name, s]));
  const a = index(keySites(before));
  const b = index(keySites(after));
  const objectOf = (name: string) => /^(.*\])\.[^[\]]*$/.exec(name)?.[1] ?? '';
  const objectsA = new Set([...a.keys()].map(objectOf));
  const objectsB = new Set([...b.keys()].map(objectOf));
  /** The outermost object of `obj`'s ancestry (itself included) that `other` lacks. */
  const outermost = (obj: string, other: Set<string>) => {
    const prefixes = [...obj.matchAll(/\]/g)].map((m) => obj.slice(0, m.index + 1));
    return prefixes.find((p) => !other.has(p)) ?? obj;
  };
  const added = new Map<string, KeyChange>();
  for (const [name, site] of b) {
    const obj = objectOf(name);
    if (!objectsA.has(obj)) {
      const top = outermost(obj, objectsA);
      const prev = added.get(top) ?? { name: top };
      const p = protectionOf(site.key);
      const sets =
        p === 'program'
          ? namesProgram(site)
          : p === 'sensitive' &&
            site.value !== undefined &&
            !same(site.value, getPath(defaultModel(site.scope), site.key.model));
      if (sets && prev.protection !== 'program') prev.protection = p;
      added.set(top, prev);
      continue;
    }
    const old = a.get(name);
    if (old && same(old.value, site.value)) continue;
    // A key that names a program for some values only (load_monitor): `program` when either side does.
    const p =
      typeof site.key.runsProgram === 'function'
        ? namesProgram(site) || (old !== undefined && namesProgram(old))
          ? 'program'
          : site.key.webReadOnly !== undefined
            ? 'sensitive'
            : undefined
        : protectionOf(site.key);
    out.push({ name, ...(p ? { protection: p } : {}) });
  }
  const removed = new Set([...objectsA].filter((o) => !objectsB.has(o)).map((o) => outermost(o, objectsB)));
  for (const obj of removed) out.push({ name: obj });
  out.push(...added.values());
  return out;
}
