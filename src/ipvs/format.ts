/**
 * ipvsadm's text forms (pure): render operations as ipvsadm argument lists / `-R` lines, and parse
 * `ipvsadm -Sn` and `ipvsadm -Ln --timeout` output defensively.
 */
import { addressFamily, canonicalAddress, hostPort, splitHostPort } from '../lib/addr';
import type { Forwarding } from '../config/model';
import type { LbReal, LbService, LbTimeouts } from './table';

/** One change to the kernel table. Edits always carry every option (ipvsadm -e/-E reset what is left out). */
export type LbOp =
  | { op: 'add-service'; service: LbService }
  | { op: 'edit-service'; service: LbService }
  | { op: 'delete-service'; key: string }
  | { op: 'add-real'; service: string; real: LbReal }
  | { op: 'edit-real'; service: string; real: LbReal }
  | { op: 'delete-real'; service: string; real: string }
  | { op: 'set-timeouts'; timeouts: LbTimeouts };

const FWD_FLAG: Record<Forwarding, string> = { nat: '-m', direct: '-g', tunnel: '-i' };

// ipvsadm -R splits each line at blanks and reads the words as options: a value with a blank, a newline
// or a leading '-' would become another option or another command (`wlc\n-C` clears the whole table).
// Every word below comes from a typed, validated model, and these checks keep it so whatever built the
// table: a word that is not what its option takes throws (the LB table reports it, nothing is applied).
const SERVICE_KEY =
  /^(?:-[tu] (?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|\[[0-9a-f:.]+\]):\d{1,5}|-f \d{1,10}(?: -6)?)$/;
const REAL_KEY =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|\[[0-9a-f:.]+\]):\d{1,5}$/;
const SCHEDULER_WORD = /^[a-z]{1,15}$/;
const PMASK_WORD = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\d{1,3})$/;

/** Thrown when a word of an ipvsadm command is not what its option takes (see the checks above). */
export class IpvsadmWordError extends Error {
  constructor(what: string, value: unknown) {
    super(`ipvsadm: refusing ${what} ${JSON.stringify(value)}: not a word ipvsadm can read as one value`);
    this.name = 'IpvsadmWordError';
  }
}

function checked(re: RegExp, what: string, v: string): string {
  if (typeof v !== 'string' || !re.test(v)) throw new IpvsadmWordError(what, v);
  return v;
}
function count(what: string, n: number, max: number): string {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new IpvsadmWordError(what, n);
  return String(n);
}

/** True for a service key of ipvsadm's form (`-t 198.18.0.10:80`, `-u [2001:2::1]:53`, `-f 5 -6`). */
export function isServiceKey(key: string): boolean {
  return typeof key === 'string' && SERVICE_KEY.test(key);
}

/** The words of a service key (`-t 198.18.0.10:80`, `-f 5 -6`), checked (throws {@link IpvsadmWordError}). */
export function serviceKeyArgs(key: string): string[] {
  return checked(SERVICE_KEY, 'service', key).split(' ');
}

/** Options of a service after its key: `-s wlc [-p 600 [-M 255.255.255.0]]`. */
export function serviceOptions(s: LbService): string[] {
  const out = ['-s', checked(SCHEDULER_WORD, 'scheduler', s.scheduler)];
  if (s.persistentS > 0) {
    out.push('-p', count('persistence timeout', s.persistentS, 2 ** 31 - 1));
    if (s.pmask !== undefined) out.push('-M', checked(PMASK_WORD, 'persistence netmask', s.pmask));
  }
  return out;
}

/** Options of a real server: `-r addr:port -m|-g|-i -w W` (all of them, always). */
export function realOptions(r: LbReal): string[] {
  const fwd = FWD_FLAG[r.forwarding];
  if (!Object.hasOwn(FWD_FLAG, r.forwarding)) throw new IpvsadmWordError('forwarding', r.forwarding);
  return ['-r', checked(REAL_KEY, 'real server', r.key), fwd, '-w', count('weight', r.weight, 65535)];
}

/** The ipvsadm argument list of one operation (every word checked: throws {@link IpvsadmWordError}). */
export function opArgs(op: LbOp): string[] {
  switch (op.op) {
    case 'add-service':
      return ['-A', ...serviceKeyArgs(op.service.key), ...serviceOptions(op.service)];
    case 'edit-service':
      return ['-E', ...serviceKeyArgs(op.service.key), ...serviceOptions(op.service)];
    case 'delete-service':
      return ['-D', ...serviceKeyArgs(op.key)];
    case 'add-real':
      return ['-a', ...serviceKeyArgs(op.service), ...realOptions(op.real)];
    case 'edit-real':
      return ['-e', ...serviceKeyArgs(op.service), ...realOptions(op.real)];
    case 'delete-real':
      return ['-d', ...serviceKeyArgs(op.service), '-r', checked(REAL_KEY, 'real server', op.real)];
    case 'set-timeouts':
      return [
        '--set',
        count('tcp timeout', op.timeouts.tcp, 2 ** 31 - 1),
        count('tcpfin timeout', op.timeouts.tcpfin, 2 ** 31 - 1),
        count('udp timeout', op.timeouts.udp, 2 ** 31 - 1),
      ];
  }
}

/**
 * The `ipvsadm -R` input for a batch (timeouts excluded: they go through `ipvsadm --set`). No comment
 * lines: ipvsadm 1.31 aborts the rest of a restore at a `#` line.
 */
export function restoreScript(ops: LbOp[]): string {
  return ops
    .filter((o) => o.op !== 'set-timeouts')
    .map((o) => `${opArgs(o).join(' ')}\n`)
    .join('');
}

/** A problem met while parsing kernel output: the line number and why it was skipped. */
export interface ParseProblem {
  line: number;
  text: string;
  reason: string;
}

/**
 * Parse `ipvsadm -Sn` (the save format: `-A …` service lines, `-a …` real server lines). Lines that cannot
 * be understood are skipped and reported, never thrown: the kernel table may hold things we do not manage.
 */
export function parseSave(text: string): { services: LbService[]; problems: ParseProblem[] } {
  const services = new Map<string, LbService>();
  const problems: ParseProblem[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const tok = line.split(/\s+/);
    const bad = (reason: string) => problems.push({ line: i + 1, text: line, reason });
    const cmd = tok[0];
    if (cmd !== '-A' && cmd !== '-a') {
      bad('not an -A/-a line');
      continue;
    }
    const svc = parseServiceKey(tok, 1);
    if (!svc) {
      bad('no valid -t/-u/-f service');
      continue;
    }
    let j = svc.next;
    if (cmd === '-A') {
      const s: LbService = { ...svc.service, scheduler: 'wlc', persistentS: 0, reals: [] };
      const extra: string[] = [];
      while (j < tok.length) {
        const t = tok[j] as string;
        const v = tok[j + 1];
        if (t === '-s' && v !== undefined) {
          s.scheduler = v;
          j += 2;
        } else if (t === '-p' && v !== undefined && /^\d+$/.test(v)) {
          s.persistentS = Number(v);
          j += 2;
        } else if (t === '-M' && v !== undefined) {
          s.pmask = v;
          j += 2;
        } else {
          extra.push(t);
          j++;
        }
      }
      if (extra.length) s.extra = extra;
      if (services.has(s.key)) {
        bad(`duplicate service ${s.key}`);
        continue;
      }
      services.set(s.key, s);
      continue;
    }
    const owner = services.get(svc.service.key);
    if (!owner) {
      bad(`real server line before its service ${svc.service.key}`);
      continue;
    }
    let real: LbReal | undefined;
    let forwarding: Forwarding = 'direct';
    let weight = 1;
    const extra: string[] = [];
    while (j < tok.length) {
      const t = tok[j] as string;
      const v = tok[j + 1];
      if (t === '-r' && v !== undefined) {
        const hp = splitHostPort(v);
        if (hp)
          real = {
            key: hostPort(hp.address, hp.port),
            address: hp.address,
            port: hp.port,
            forwarding,
            weight,
          };
        j += 2;
      } else if (t === '-m' || t === '-g' || t === '-i') {
        forwarding = t === '-m' ? 'nat' : t === '-g' ? 'direct' : 'tunnel';
        j++;
      } else if (t === '-w' && v !== undefined && /^\d+$/.test(v)) {
        weight = Number(v);
        j += 2;
      } else {
        extra.push(t);
        j++;
      }
    }
    if (!real) {
      bad('no valid -r address:port');
      continue;
    }
    real.forwarding = forwarding;
    real.weight = weight;
    if (extra.length) real.extra = extra;
    owner.reals.push(real);
  }
  return { services: [...services.values()], problems };
}

function parseServiceKey(
  tok: string[],
  at: number,
): { service: Omit<LbService, 'scheduler' | 'persistentS' | 'reals'>; next: number } | undefined {
  const flag = tok[at];
  const value = tok[at + 1];
  if (value === undefined) return undefined;
  if (flag === '-f') {
    if (!/^\d+$/.test(value)) return undefined;
    const fwmark = Number(value);
    const v6 = tok[at + 2] === '-6';
    return {
      service: { key: v6 ? `-f ${fwmark} -6` : `-f ${fwmark}`, kind: 'fwmark', family: v6 ? 6 : 4, fwmark },
      next: at + (v6 ? 3 : 2),
    };
  }
  if (flag !== '-t' && flag !== '-u') return undefined;
  const hp = splitHostPort(value);
  if (!hp) return undefined;
  const family = addressFamily(hp.address);
  if (!family) return undefined;
  return {
    service: {
      key: `${flag} ${hostPort(hp.address, hp.port)}`,
      kind: flag === '-t' ? 'tcp' : 'udp',
      family,
      address: canonicalAddress(hp.address),
      port: hp.port,
    },
    next: at + 2,
  };
}

/** Parse `ipvsadm -L --timeout`: `Timeout (tcp tcpfin udp): 900 120 300`. */
export function parseTimeouts(text: string): LbTimeouts | undefined {
  const m = /Timeout \(tcp tcpfin udp\):\s*(\d+)\s+(\d+)\s+(\d+)/.exec(text);
  if (!m) return undefined;
  return { tcp: Number(m[1]), tcpfin: Number(m[2]), udp: Number(m[3]) };
}

const FWD_WORD: Record<string, Forwarding> = {
  Masq: 'nat',
  Route: 'direct',
  Local: 'direct',
  Tunnel: 'tunnel',
};

/**
 * Parse `ipvsadm -Ln [--exact] [service]` (the list format, with connection counts). Used to re-read only
 * the services a small batch touched (`-S` takes no service argument). Unknown lines are skipped.
 */
export function parseList(text: string): LbService[] {
  const out: LbService[] = [];
  let cur: LbService | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const svc = /^(TCP|UDP)\s+(\S+)\s+(\S+)(.*)$/.exec(line);
    const fwm = /^FWM\s+(\d+)\s+(IPv6\s+)?(\S+)(.*)$/.exec(line);
    if (svc?.[1] && svc[2] && svc[3]) {
      const hp = splitHostPort(svc[2]);
      const family = hp && addressFamily(hp.address);
      if (!hp || !family) {
        cur = undefined;
        continue;
      }
      const flag = svc[1] === 'TCP' ? '-t' : '-u';
      cur = {
        key: `${flag} ${hostPort(hp.address, hp.port)}`,
        kind: flag === '-t' ? 'tcp' : 'udp',
        family,
        address: hp.address,
        port: hp.port,
        ...listFlags(svc[3], svc[4] ?? ''),
        reals: [],
      };
      out.push(cur);
    } else if (fwm?.[1] && fwm[3]) {
      const v6 = Boolean(fwm[2]);
      const fwmark = Number(fwm[1]);
      cur = {
        key: v6 ? `-f ${fwmark} -6` : `-f ${fwmark}`,
        kind: 'fwmark',
        family: v6 ? 6 : 4,
        fwmark,
        ...listFlags(fwm[3], fwm[4] ?? ''),
        reals: [],
      };
      out.push(cur);
    } else if (cur && line.startsWith('->')) {
      const m = /^->\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(line);
      const hp = m?.[1] ? splitHostPort(m[1]) : undefined;
      const fwd = m?.[2] ? FWD_WORD[m[2]] : undefined;
      if (!m || !hp || !fwd) continue;
      cur.reals.push({
        key: hostPort(hp.address, hp.port),
        address: hp.address,
        port: hp.port,
        forwarding: fwd,
        weight: Number(m[3]),
        activeConns: Number(m[4]),
        inactiveConns: Number(m[5]),
      });
    }
  }
  return out;
}

function listFlags(scheduler: string, rest: string): Pick<LbService, 'scheduler' | 'persistentS' | 'pmask'> {
  const p = /\bpersistent (\d+)/.exec(rest);
  const mask = /\bmask (\S+)/.exec(rest);
  const out: Pick<LbService, 'scheduler' | 'persistentS' | 'pmask'> = {
    scheduler,
    persistentS: p ? Number(p[1]) : 0,
  };
  // -Sn omits host masks; so does the desired table.
  if (p && mask?.[1] && mask[1] !== '255.255.255.255' && mask[1] !== '128') out.pmask = mask[1];
  return out;
}
