/**
 * Who besides us can write a configuration file (I/O edge, with a pure core). Program-naming keys
 * (hooks, send_program, a load_monitor command, the ipvsadm path) are honoured only from a file that only
 * trusted users can change: the file and every directory above it owned by root (or by the user reading
 * it), writable by no other user or group — a sticky directory (`/tmp`, `/etc/lvs-pulse` as mode 1770)
 * counts as safe, since others cannot replace what they do not own in it. The web console's user may own
 * the file it edits; a file it owns can then carry no program that root runs (docs/web.md).
 */
import { lstatSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';

/** The owner, group and mode bits of a path, as lstat gives them. */
export interface PathStat {
  uid: number;
  gid: number;
  mode: number;
}

/** The users and groups whose write access is fine (default: root and the reading process's). */
export interface Trusted {
  uids: readonly number[];
  gids: readonly number[];
}

/** Root and this process's effective user and group. */
export function trustedHere(): Trusted {
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  return { uids: [...new Set([0, uid])], gids: [...new Set([0, gid])] };
}

const STICKY = 0o1000;

/**
 * Pure core: why the file at the end of `chain` (its directories from `/` down, then the file) can be
 * changed by an untrusted user, or undefined when it cannot.
 */
export function untrustedWriter(chain: { path: string; st: PathStat }[], t: Trusted): string | undefined {
  for (let i = chain.length - 1; i >= 0; i--) {
    const { path, st } = chain[i]!;
    const what = i === chain.length - 1 ? path : `directory ${path}`;
    if (!t.uids.includes(st.uid)) return `${what} is owned by uid ${st.uid}`;
    const sticky = i < chain.length - 1 && (st.mode & STICKY) !== 0;
    if (sticky) continue;
    if ((st.mode & 0o002) !== 0) return `${what} is writable by every user`;
    if ((st.mode & 0o020) !== 0 && !t.gids.includes(st.gid)) return `${what} is writable by group ${st.gid}`;
  }
  return undefined;
}

function chainOf(real: string): { path: string; st: PathStat }[] {
  const paths: string[] = [];
  for (let p = real; ; p = dirname(p)) {
    paths.unshift(p);
    if (dirname(p) === p) break;
  }
  return paths.map((path) => {
    const s = lstatSync(path);
    return { path, st: { uid: s.uid, gid: s.gid, mode: s.mode } };
  });
}

/**
 * Why `path` (followed to the file it names, and the directory holding a symlink to it) can be changed by
 * an untrusted user, or undefined when only trusted users can change it. A path that cannot be examined is
 * reported as untrusted.
 */
export function fileWriters(path: string, t: Trusted = trustedHere()): string | undefined {
  try {
    const real = realpathSync(path);
    const why = untrustedWriter(chainOf(real), t);
    if (why) return why;
    if (real !== path) return untrustedWriter(chainOf(realpathSync(dirname(path))), t);
    return undefined;
  } catch (e) {
    return `${path} cannot be examined (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}
