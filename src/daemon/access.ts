/**
 * Who may do what on the control socket (pure: the caller's credentials come from SO_PEERCRED, see
 * ./control.ts). Root (uid 0) may do everything. The console's account (`pulse --console-user`, default
 * `lvs-pulse`: the web console runs as it) gets only what the console needs, listed in
 * {@link CONSOLE_GRANTS}; every other caller is refused. A command added to the protocol is therefore
 * root-only until it is granted here on purpose.
 *
 * The socket's own mode (0660, group of the console's account) already keeps other users out; this is the
 * check that holds even if the file's mode or group were changed by hand.
 */
import { resolve } from 'node:path';
import type { ControlCommand } from './protocol';

/** The caller of a control connection, as the kernel recorded it at connect(). */
export interface Caller {
  pid: number;
  uid: number;
  gid: number;
}

/** The console's account: its name (for messages) and uid. */
export interface ConsoleAccount {
  name: string;
  uid: number;
  gid: number;
}

/** What the access check needs to know. */
export interface AccessPolicy {
  /** The console's account; undefined: only root may use the socket. */
  console?: ConsoleAccount;
  /** The daemon's own configuration file: the one file the console may have checked. */
  configPath: string;
}

/** Who a caller is for the control socket. */
export type Role = 'root' | 'console';

/**
 * The commands the console's account may run (the web console's needs: its pages, live events, drain and
 * enable, reload of the file it edits, takeover and release). `check-config` is granted for the daemon's
 * own file only (no path, or that path); any other path is root's.
 */
export const CONSOLE_GRANTS: ReadonlySet<ControlCommand['cmd']> = new Set<ControlCommand['cmd']>([
  'ping',
  'status',
  'events',
  'drain',
  'enable',
  'reload',
  'check-config',
  'takeover',
  'release',
]);

/** The caller's role, or the reason it may not use the socket at all. */
export function roleOf(caller: Caller | undefined, policy: AccessPolicy): Role | { error: string } {
  if (caller === undefined)
    return { error: 'permission denied: the caller’s credentials cannot be read (SO_PEERCRED)' };
  if (caller.uid === 0) return 'root';
  if (policy.console && caller.uid === policy.console.uid) return 'console';
  return {
    error: `permission denied: uid ${caller.uid} is neither root nor the console user${
      policy.console ? ` (${policy.console.name}, uid ${policy.console.uid})` : ' (none configured)'
    }`,
  };
}

/** Whether `role` may run `cmd`: undefined when it may, else the refusal's message. */
export function refusal(role: Role, cmd: ControlCommand, policy: AccessPolicy): string | undefined {
  if (role === 'root') return undefined;
  if (!CONSOLE_GRANTS.has(cmd.cmd))
    return `permission denied: ${cmd.cmd} is for root only (the console user may run ${[...CONSOLE_GRANTS].join(', ')})`;
  if (
    cmd.cmd === 'check-config' &&
    cmd.path !== undefined &&
    resolve(cmd.path) !== resolve(policy.configPath)
  )
    return `permission denied: the console user may check only the daemon's own file (${policy.configPath}); check-config PATH is for root`;
  return undefined;
}
