/**
 * lvs.cf front end (pure): lexes and parses Piranha's lvs.cf exactly as its GUI writes it, plus the
 * documented lvs-pulse extensions, into the native document (schema.ts) with a source position for every
 * value. Problems are collected, never thrown: a line in error is skipped and parsing goes on.
 *
 * Syntax: `key = value` lines; `#` starts a comment at the start of a line; values are words separated by
 * blanks, or quoted "..." / '...' with escapes \n \r \t \\ \" \'; numbers are read as C's strtol(…, 0)
 * (0x1f hex, 017 octal); `virtual NAME {`, `server NAME {` (inside a virtual) and `failover NAME {` open
 * blocks closed by `}`. A key written twice keeps the last value, with a warning.
 */
import { netmaskToPrefix } from '../lib/addr.js';
import { interfaceNameProblem } from '../lib/ifname.js';
import { type CfConv, defaultOf, SCOPES, type Scope } from './keys.js';
import type { ConfigDiagnostic, SourcePos } from './model.js';
import { suggest } from './schema.js';

/** One word of a line, with where it starts. */
export interface Token {
  text: string;
  quoted: boolean;
  line: number;
  col: number;
}

/** Result of a front end: the document, where each document path came from, and the problems. */
export interface FrontEndResult {
  doc: Record<string, unknown>;
  /** Document path (`virtual_servers.0.port`) → position of its value. */
  positions: Map<string, SourcePos>;
  /** Document path → the key the user wrote (`heartbeat.port` → `heartbeat_port`), for messages. */
  keyNames: Map<string, string>;
  diagnostics: ConfigDiagnostic[];
  /** Document paths whose lvs.cf line was in error (later checks stay quiet about them). */
  failedPaths?: Set<string>;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', "'": "'" };

/** Expands \n \r \t \\ \" \' (other backslashes are kept as written). */
export function expandEscapes(s: string): string {
  return s.replace(/\\([nrt\\"'])/g, (_, c: string) => ESCAPES[c]!);
}

/**
 * Reads an integer as C's strtol(s, &end, 0) with the whole word consumed: optional sign, then `0x` hex,
 * a leading `0` octal, or decimal. Undefined when the word is not such a number.
 */
export function strtol0(s: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  let v: number;
  if (/^0[xX]/.test(body)) v = Number.parseInt(body.slice(2), 16);
  else if (body.startsWith('0')) v = body.length === 1 ? 0 : Number.parseInt(body.slice(1), 8);
  else v = Number.parseInt(body, 10);
  return m[1] === '-' ? -v : v;
}

/** Service names lvs.cf may use for a port (getservbyname, tcp), built in so a check does not depend on the host. */
export const SERVICE_PORTS: Readonly<Record<string, number>> = {
  'ftp-data': 20,
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  tftp: 69,
  gopher: 70,
  finger: 79,
  http: 80,
  www: 80,
  'www-http': 80,
  kerberos: 88,
  pop3: 110,
  sunrpc: 111,
  nntp: 119,
  ntp: 123,
  imap: 143,
  imap2: 143,
  snmp: 161,
  ldap: 389,
  https: 443,
  'microsoft-ds': 445,
  smtps: 465,
  submissions: 465,
  syslog: 514,
  submission: 587,
  ldaps: 636,
  rsync: 873,
  imaps: 993,
  pop3s: 995,
  'ms-sql-s': 1433,
  openvpn: 1194,
  nfs: 2049,
  mysql: 3306,
  sip: 5060,
  'xmpp-client': 5222,
  postgresql: 5432,
  redis: 6379,
  'http-alt': 8080,
  webcache: 8080,
  memcache: 11211,
};

/** Splits one line into tokens; returns an error message and column on a quoting problem. */
export function lexLine(
  text: string,
  line: number,
): { tokens: Token[]; error?: { col: number; message: string } } {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    const col = i + 1;
    if (c === '"' || c === "'") {
      let out = '';
      let j = i + 1;
      let closed = false;
      while (j < n) {
        const d = text[j]!;
        if (d === '\\' && j + 1 < n) {
          const e = text[j + 1]!;
          out += ESCAPES[e] ?? `\\${e}`;
          j += 2;
          continue;
        }
        if (d === c) {
          closed = true;
          j++;
          break;
        }
        out += d;
        j++;
      }
      if (!closed) return { tokens, error: { col, message: `unterminated quoted value (no closing ${c})` } };
      if (j < n && !/[ \t\f\v]/.test(text[j]!))
        return { tokens, error: { col: j + 1, message: `unexpected text after the closing ${c}` } };
      tokens.push({ text: out, quoted: true, line, col });
      i = j;
      continue;
    }
    let j = i;
    while (j < n && !/[ \t\f\v]/.test(text[j]!)) j++;
    tokens.push({ text: text.slice(i, j), quoted: false, line, col });
    i = j;
  }
  return { tokens };
}

/** One lvs.cf key of a block: the document path it writes, how its words are read, and its own name
 * (an old name's current one) and the words it reads as document values. */
export type CfKey = readonly [
  path: string,
  conv: CfConv,
  canonical: string,
  words?: Readonly<Record<string, unknown>>,
];

/** The lvs.cf keys of one scope, derived from the key table (keys.ts), in table order. */
function cfKeysOf(scope: Scope): Readonly<Record<string, CfKey>> {
  const out: Record<string, CfKey> = {};
  for (const key of SCOPES[scope].keys) {
    const cf = key.cf;
    if (!cf?.conv) continue; // a block name, a word of a composite key, or no lvs.cf key at all
    // `ADDRESS dev:N` and `ADDRESS PORT` write the mapping that holds the address.
    const path =
      cf.conv === 'ipdev' || cf.conv === 'sorry' ? key.path.slice(0, key.path.lastIndexOf('.')) : key.path;
    for (const name of [cf.key, ...(cf.aliases ?? [])]) out[name] = [path, cf.conv, cf.key, cf.words];
    if (cf.also) out[cf.also.key] = [path, cf.also.conv, cf.also.key];
  }
  return out;
}

/** Every lvs.cf key per block: the document path it writes and how its value is read. */
export const LVSCF_KEYS: Readonly<Record<Scope, Readonly<Record<string, CfKey>>>> = {
  global: cfKeysOf('global'),
  virtual: cfKeysOf('virtual'),
  server: cfKeysOf('server'),
  failover: cfKeysOf('failover'),
};

/** Seconds (integer as strtol, or decimal with a fraction) → whole milliseconds. */
export function secondsToMs(word: string): number | string {
  const i = strtol0(word);
  if (i !== undefined) return i * 1000;
  if (!/^[+-]?(\d+\.\d*|\.\d+)$/.test(word)) return `'${word}' is not a number of seconds`;
  const ms = Number(word) * 1000;
  const r = Math.round(ms);
  if (Math.abs(ms - r) > 1e-6) return `'${word}' seconds is finer than the 1 ms resolution`;
  return r;
}

interface Block {
  scope: Scope;
  value: Record<string, unknown>;
  prefix: string;
  open: Token;
  seen: Map<string, Token>;
  reentryMs?: number;
  reentryTok?: Token;
  servers?: Record<string, unknown>[];
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
function setIn(obj: Record<string, unknown>, path: string, v: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isObj(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = v;
}

/**
 * Parses lvs.cf text into the native document. `file` is used in positions only. Never throws.
 */
export function parseLvsCf(text: string, file: string): FrontEndResult {
  const doc: Record<string, unknown> = { virtual_servers: [], failover_services: [] };
  const positions = new Map<string, SourcePos>();
  const keyNames = new Map<string, string>();
  const diagnostics: ConfigDiagnostic[] = [];
  const pos = (t: { line: number; col: number }): SourcePos => ({ file, line: t.line, col: t.col });
  const failedPaths = new Set<string>();
  let keyPath: string | undefined;
  const err = (t: { line: number; col: number }, message: string) => {
    if (keyPath !== undefined) failedPaths.add(keyPath);
    diagnostics.push({ ...pos(t), severity: 'error', message });
  };
  const warn = (t: { line: number; col: number }, message: string) =>
    diagnostics.push({ ...pos(t), severity: 'warning', message });

  const global: Block = {
    scope: 'global',
    value: doc,
    prefix: '',
    open: { text: '', quoted: false, line: 1, col: 1 },
    seen: new Map(),
  };
  const stack: Block[] = [global];
  const vsList = doc.virtual_servers as Record<string, unknown>[];
  const fosList = doc.failover_services as Record<string, unknown>[];

  const record = (block: Block, path: string, tok: Token, key: string) => {
    positions.set(block.prefix + path, pos(tok));
    keyNames.set(block.prefix + path, key);
  };

  const closeBlock = (block: Block) => {
    if (block.reentryMs !== undefined && !block.seen.has('rise') && block.reentryTok) {
      const mon = isObj(block.value.monitor) ? block.value.monitor : {};
      const interval = mon.interval_ms ?? mon.timeout_ms ?? defaultOf('virtual', 'monitor.timeout_ms');
      const iv = typeof interval === 'number' && interval > 0 ? interval : 0;
      const rise = iv > 0 ? Math.max(1, Math.ceil(block.reentryMs / iv)) : 1;
      setIn(block.value, 'monitor.rise', rise);
      record(block, 'monitor.rise', block.reentryTok, 'reentry');
    }
  };

  // Piranha ends a line at \n or \r (so CRLF and old CR-only files read the same).
  const lines = text.split(/\r\n|\r|\n/);
  for (let li = 0; li < lines.length; li++) {
    const lineNo = li + 1;
    keyPath = undefined;
    const raw = lines[li]!;
    const trimmed = raw.replace(/^[ \t\f\v]+/, '');
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const lexed = lexLine(raw, lineNo);
    if (lexed.error) {
      err({ line: lineNo, col: lexed.error.col }, lexed.error.message);
      continue;
    }
    const toks = lexed.tokens;
    // `key=value` and `key= value`: split the first word at its first '='.
    const first = toks[0]!;
    if (!first.quoted && first.text.includes('=') && first.text !== '=') {
      const at = first.text.indexOf('=');
      const parts: Token[] = [];
      if (at > 0) parts.push({ ...first, text: first.text.slice(0, at) });
      parts.push({ ...first, text: '=', col: first.col + at });
      if (at < first.text.length - 1)
        parts.push({ ...first, text: first.text.slice(at + 1), col: first.col + at + 1 });
      toks.splice(0, 1, ...parts);
    }
    const block = stack[stack.length - 1]!;
    const head = toks[0]!;
    const word = head.quoted ? '' : head.text;

    // Block end.
    if (word === '}') {
      if (toks.length > 1) err(toks[1]!, `unexpected '${toks[1]!.text}' after '}'`);
      if (stack.length === 1) {
        err(head, "'}' without an open block");
        continue;
      }
      closeBlock(block);
      stack.pop();
      continue;
    }

    // Block start: virtual / failover (top level), server (inside virtual).
    if (word === 'virtual' || word === 'failover' || word === 'server') {
      const rest = toks.slice(1);
      if (rest.length === 1 && !rest[0]!.quoted && rest[0]!.text.endsWith('{') && rest[0]!.text.length > 1) {
        const t = rest[0]!;
        rest.splice(
          0,
          1,
          { ...t, text: t.text.slice(0, -1) },
          { ...t, text: '{', col: t.col + t.text.length - 1 },
        );
      }
      if (rest.length < 2 || rest[1]!.text !== '{' || rest[1]!.quoted) {
        err(rest[1] ?? rest[0] ?? head, `expected '${word} NAME {'`);
        continue;
      }
      if (rest.length > 2) err(rest[2]!, `unexpected '${rest[2]!.text}' after '{'`);
      const name = rest[0]!;
      const wantParent = word === 'server' ? 'virtual' : 'global';
      if (block.scope !== wantParent) {
        if (word === 'server') {
          err(head, `'server' blocks belong inside a 'virtual' block`);
          // Recover: read the block (its keys are still checked) into a value that goes nowhere.
          stack.push({ scope: 'server', value: {}, prefix: '\0orphan.', open: head, seen: new Map() });
          continue;
        }
        err(head, `'${word}' block inside a '${block.scope}' block (missing '}' before line ${lineNo}?)`);
        // Recover: treat as if the inner blocks were closed.
        while (stack.length > 1 && stack[stack.length - 1]!.scope !== wantParent) {
          closeBlock(stack[stack.length - 1]!);
          stack.pop();
        }
        if (stack[stack.length - 1]!.scope !== wantParent) continue;
      }
      const parent = stack[stack.length - 1]!;
      const value: Record<string, unknown> = { name: name.text };
      let prefix: string;
      if (word === 'virtual') {
        value.real_servers = [];
        prefix = `virtual_servers.${vsList.length}.`;
        vsList.push(value);
      } else if (word === 'failover') {
        prefix = `failover_services.${fosList.length}.`;
        fosList.push(value);
      } else {
        const servers = parent.value.real_servers as Record<string, unknown>[];
        prefix = `${parent.prefix}real_servers.${servers.length}.`;
        servers.push(value);
      }
      positions.set(prefix.slice(0, -1), pos(head));
      keyNames.set(prefix.slice(0, -1), `${word} ${name.text}`);
      positions.set(`${prefix}name`, pos(name));
      keyNames.set(`${prefix}name`, `${word} name`);
      stack.push({ scope: word === 'server' ? 'server' : word, value, prefix, open: head, seen: new Map() });
      continue;
    }

    // key = value
    const keys = LVSCF_KEYS[block.scope];
    const def = Object.hasOwn(keys, word) ? keys[word] : undefined;
    if (!def) {
      const where = block.scope === 'global' ? 'at the top level' : `in a '${block.scope}' block`;
      const other = (['global', 'virtual', 'server', 'failover'] as const).find(
        (s) => s !== block.scope && Object.hasOwn(LVSCF_KEYS[s], word),
      );
      const s = suggest(word, Object.keys(keys));
      let msg = `unknown key '${head.text}' ${where}`;
      if (s) msg += `; did you mean '${s}'?`;
      else if (other)
        msg += ` (it belongs in ${other === 'global' ? 'the global section' : `a '${other}' block`})`;
      err(head, msg);
      continue;
    }
    keyPath = block.prefix + def[0];
    const eq = toks[1];
    if (eq?.text !== '=' || eq.quoted) {
      err(eq ?? head, `expected '=' after '${word}'`);
      continue;
    }
    const vals = toks.slice(2);
    if (vals.length === 0) {
      err({ line: lineNo, col: raw.length + 1 }, `missing value for '${word}'`);
      continue;
    }
    const [path, conv, canonical, words] = def;
    const v0 = vals[0]!;
    const maxArgs =
      conv === 'ipdev' || conv === 'sorry'
        ? 2
        : conv === 'list' || conv === 'status' || conv === 'cmd'
          ? Infinity
          : 1;
    if (vals.length > maxArgs) {
      const extra = vals[maxArgs]!;
      err(
        extra,
        extra.text.startsWith('#') && !extra.quoted
          ? `unexpected '${extra.text}' after the value of '${word}' (comments go on their own line)`
          : `unexpected '${extra.text}' after the value of '${word}' (quote values that contain blanks)`,
      );
      continue;
    }
    // An old name and the current one are the same key.
    const prev = block.seen.get(canonical);
    if (prev) {
      const as = prev.text === word ? '' : ` as '${prev.text}'`;
      warn(head, `'${word}' is written twice (first at line ${prev.line}${as}); the last value is used`);
    }
    block.seen.set(canonical, head);

    const set = (p: string, v: unknown, t: Token = v0) => {
      setIn(block.value, p, v);
      record(block, p, t, word);
    };
    if (words && vals.length === 1 && !v0.quoted && Object.hasOwn(words, v0.text)) {
      set(path, words[v0.text]);
      continue;
    }
    switch (conv) {
      case 'str':
        set(path, v0.text);
        break;
      case 'esc':
        set(path, v0.quoted ? v0.text : expandEscapes(v0.text));
        break;
      case 'cmd':
        set(path, vals.map((t) => t.text).join(' '));
        break;
      case 'ip':
        set(path, v0.text);
        break;
      case 'int':
      case 'bool':
      case 'port': {
        let n = strtol0(v0.text);
        if (n === undefined && conv === 'port' && !v0.quoted && Object.hasOwn(SERVICE_PORTS, v0.text))
          n = SERVICE_PORTS[v0.text];
        if (n === undefined) {
          err(
            v0,
            conv === 'port'
              ? `'${v0.text}' is not a port number or a known service name`
              : `'${v0.text}' is not an integer`,
          );
          break;
        }
        if (conv === 'bool') {
          if (n !== 0 && n !== 1) err(v0, `'${word}' must be 0 or 1, not ${v0.text}`);
          else set(path, n === 1);
        } else set(path, n);
        break;
      }
      case 'sec': {
        const ms = secondsToMs(v0.text);
        if (typeof ms === 'string') err(v0, ms);
        else set(path, ms);
        break;
      }
      case 'reentry': {
        const ms = secondsToMs(v0.text);
        if (typeof ms === 'string') err(v0, ms);
        else if (ms < 0) err(v0, `reentry must be ≥ 0 seconds`);
        else {
          block.reentryMs = ms;
          block.reentryTok = v0;
        }
        break;
      }
      case 'ipdev': {
        set(`${path}.address`, v0.text);
        const dev = vals[1];
        if (dev) {
          const label = dev.text;
          const device = label.includes(':') ? label.slice(0, label.indexOf(':')) : label;
          if (device === '') err(dev, `'${label}' is not an interface (write eth0 or eth0:1)`);
          else {
            set(`${path}.device`, device, dev);
            // A bad device part is reported once, by the device's format, not again for the label.
            if (label.includes(':') && interfaceNameProblem(device) === undefined)
              set(`${path}.label`, label, dev);
          }
        }
        break;
      }
      case 'mask': {
        const p = strtol0(v0.text);
        const prefix = p !== undefined && /^\d+$/.test(v0.text) ? p : netmaskToPrefix(v0.text);
        if (prefix === undefined) err(v0, `'${v0.text}' is not a valid netmask (write e.g. 255.255.255.0)`);
        else set(path, prefix);
        break;
      }
      case 'loglevel': {
        const t = v0.text.toLowerCase();
        const n = strtol0(v0.text);
        if (t === 'none') set(path, 'info');
        else if (n !== undefined) set(path, n > 0 ? 'debug' : 'info');
        else if (['error', 'warn', 'info', 'debug'].includes(t)) set(path, t);
        else {
          // Piranha never used debug_level ("not in use at this time"): any word loaded there.
          warn(v0, `debug_level '${v0.text}' is not error, warn, info, debug or NONE; info is used`);
          set(path, 'info');
        }
        break;
      }
      case 'list':
        set(
          path,
          vals.flatMap((t) => t.text.split(',')).filter((s) => s !== ''),
        );
        break;
      case 'status': {
        const out: number[] = [];
        for (const t of vals.flatMap((t) => t.text.split(',').map((s) => ({ ...t, text: s })))) {
          if (t.text === '') continue;
          const n = strtol0(t.text);
          if (n === undefined) err(t, `'${t.text}' is not an HTTP status code`);
          else out.push(n);
        }
        set(path, out);
        break;
      }
      case 'sorry': {
        set(`${path}.address`, v0.text);
        const p = vals[1];
        if (p) {
          const n =
            strtol0(p.text) ?? (Object.hasOwn(SERVICE_PORTS, p.text) ? SERVICE_PORTS[p.text] : undefined);
          if (n === undefined) err(p, `'${p.text}' is not a port number`);
          else set(`${path}.port`, n, p);
        }
        break;
      }
    }
  }
  keyPath = undefined;
  while (stack.length > 1) {
    const b = stack.pop()!;
    closeBlock(b);
    err(b.open, `'${b.open.text}' block opened here is never closed (missing '}')`);
  }
  return { doc, positions, keyNames, diagnostics, failedPaths };
}
