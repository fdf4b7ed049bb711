/**
 * Model → text (pure), deterministic: the same model always gives the same bytes. Both writers start
 * from the native document of the model (document.ts) and follow the key table (keys.ts): YAML writes the
 * document with every value explicit; lvs.cf writes each key's lvs.cf key with its words (Piranha's keys
 * plus the lvs-pulse extensions), so it reads back into the same model.
 */
import { stringify } from 'yaml';
import { ipFamily, prefixToNetmask } from '../lib/addr.js';
import { modelToDocument } from './document.js';
import { type KeyDef, SCOPES, type Scope } from './keys.js';
import type { LvsModel } from './model.js';

/** The model as a native YAML document. */
export function dumpYaml(m: LvsModel): string {
  return stringify(modelToDocument(m), { lineWidth: 0, indent: 2 });
}

const BARE = /^[A-Za-z0-9_./:@%+,-]+$/;

/** A value as an lvs.cf word: bare when safe, else "quoted" with escapes. */
export function cfString(s: string, forceQuote = false): string {
  if (!forceQuote && BARE.test(s)) return s;
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

type Obj = Record<string, unknown>;
const get = (o: unknown, path: string): unknown =>
  path === ''
    ? o
    : path
        .split('.')
        .reduce<unknown>(
          (cur, k) => (typeof cur === 'object' && cur !== null ? (cur as Obj)[k] : undefined),
          o,
        );
const parentPath = (path: string) => (path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '');

/** A floating address mapping (`{address, device, label, prefix_length}`) of the document. */
interface FloatingDoc {
  address?: string;
  device?: string;
  label?: string;
  prefix_length: number;
}
/** `ADDRESS eth0:1`: the address and its label (else its device). */
const where = (f: FloatingDoc) =>
  [f.address, f.label ?? f.device]
    .filter((x): x is string => x !== undefined && x !== '')
    .map((x) => cfString(x))
    .join(' ');
/** vip_nmask / nat_nmask: a dotted netmask for IPv4, the prefix length for IPv6. */
const mask = (f: FloatingDoc) =>
  ipFamily(f.address ?? '') === 6 ? String(f.prefix_length) : prefixToNetmask(Math.min(32, f.prefix_length));

/** The words of one key's value in a scope's document, or undefined when the key is not written. */
function cfValue(k: KeyDef, doc: Obj): string | undefined {
  const cf = k.cf;
  if (!cf?.conv || cf.block) return undefined;
  const group = get(doc, parentPath(k.path));
  switch (cf.conv) {
    case 'ipdev':
      return (group as FloatingDoc | undefined)?.address ? where(group as FloatingDoc) : undefined;
    case 'mask':
      return (group as FloatingDoc | undefined)?.address ? mask(group as FloatingDoc) : undefined;
    case 'sorry': {
      const s = group as { address: string; port: number } | undefined;
      return s === undefined ? undefined : `${s.address} ${s.port}`;
    }
    case 'reentry':
      return undefined;
  }
  const v = get(doc, k.path);
  if (v === undefined) return undefined;
  if (cf.omitDefault && JSON.stringify(v) === JSON.stringify(k.default)) return undefined;
  if (cf.write) return (cf.write as (x: unknown, word: typeof cfString) => string)(v, cfString);
  switch (cf.conv) {
    case 'int':
    case 'port':
      return String(v);
    case 'bool':
      return v ? '1' : '0';
    case 'str':
      return cfString(String(v), cf.quote === 'always');
    case 'esc':
    case 'cmd':
      return cfString(String(v), true);
    case 'sec':
      return String((v as number) / 1000);
    case 'ip':
      return v === '' ? undefined : String(v);
    case 'loglevel':
      return v === 'info' ? 'NONE' : String(v);
    case 'list':
      return (v as string[]).length > 0 ? (v as string[]).map((s) => cfString(s)).join(' ') : undefined;
    case 'status':
      return (v as number[]).length > 0 ? (v as number[]).join(' ') : undefined;
  }
}

/** The keys of a scope in the order lvs.cf writes them: table order, each `after` moved behind its key. */
const writeOrders = new Map<Scope, KeyDef[]>();
function writeOrder(scope: Scope): KeyDef[] {
  let order = writeOrders.get(scope);
  if (!order) {
    const keys = SCOPES[scope].keys;
    order = keys.filter((k) => !k.cf?.after);
    for (const k of keys.filter((k) => k.cf?.after)) {
      const at = order.findIndex((o) => o.cf?.key === k.cf!.after);
      order.splice(at + 1, 0, k);
    }
    writeOrders.set(scope, order);
  }
  return order;
}

function writeScope(scope: Scope, doc: Obj, indent: string, out: string[]): void {
  for (const k of writeOrder(scope)) {
    if (k.items) {
      const block = SCOPES[k.items].block!;
      for (const item of (get(doc, k.path) as Obj[] | undefined) ?? []) {
        out.push('', `${indent}${block} ${cfString(String(item.name ?? ''))} {`);
        writeScope(k.items, item, `${indent}\t`, out);
        out.push(`${indent}}`);
      }
      continue;
    }
    const text = cfValue(k, doc);
    if (text !== undefined) out.push(`${indent}${k.cf!.key} = ${text}`);
  }
}

/** The model as lvs.cf text (Piranha's syntax; extension keys where Piranha had none). */
export function dumpLvsCf(m: LvsModel): string {
  const out: string[] = ['# lvs.cf written by lvs-pulse (pulse --dump-config --format lvs.cf)'];
  writeScope('global', modelToDocument(m) as Obj, '', out);
  return `${out.join('\n')}\n`;
}
