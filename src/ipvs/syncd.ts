/**
 * The IPVS sync daemon edge: the kernel's sync threads started, checked and stopped through ipvsadm
 * (`--start-daemon`, `-L --daemon`, `--stop-daemon`), the sync sysctls written with `sysctl -w` (in our own
 * network namespace: IPVS is per namespace), and the connection entries counted by origin from
 * `/proc/net/ip_vs_conn_sync`. Like the table edge it re-reads what it applied and says what does not
 * verify; it never throws for the kernel's answers (a sync fault is reported, docs/sync.md).
 *
 * Both daemons run on both routers, whatever the role (keepalived’s lvs_sync_daemon does the same): the backup
 * thread listens from the daemon's start, so a returning router learns the active's connections before it
 * decides anything; a takeover has nothing to switch; a standby's master sends nothing (it forwards
 * nothing), and after a planned switchover it still sends what the old active forwards for clients whose
 * ARP cache has not moved yet.
 */
import { interfaceNameProblem } from '../lib/ifname';
import { open } from 'node:fs/promises';
import type { Log } from '../lib/log';
import type { Exec } from './exec';
import {
  type IpvsDaemonState,
  type IpvsSyncConfig,
  ipvsDaemonArgs,
  ipvsDaemonMatches,
  parseIpvsDaemons,
} from './sync-plan';

/** The two daemons as read back, and what did not verify. */
export interface IpvsSyncReport {
  master?: IpvsDaemonState;
  backup?: IpvsDaemonState;
  /** Empty when both run as asked and every sysctl was written. */
  problems: string[];
  /** Daemons (re)started by this call. */
  started: ('master' | 'backup')[];
}

/** Reads up to `maxBytes` of a /proc file (undefined when it is absent: no IPVS). */
export type ProcReader = (path: string, maxBytes: number) => Promise<string | undefined>;

/** The real reader: the first `maxBytes` bytes, undefined when the file cannot be opened. */
export const readProc: ProcReader = async (path, maxBytes) => {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(path, 'r');
    const buf = Buffer.alloc(maxBytes);
    let off = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, off, maxBytes - off, null);
      if (bytesRead === 0 || off + bytesRead >= maxBytes) {
        off += bytesRead;
        break;
      }
      off += bytesRead;
    }
    return buf.subarray(0, off).toString('latin1');
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
};

/** Starts, verifies and stops the kernel's IPVS sync daemons in this namespace. */
export class IpvsSyncDaemon {
  constructor(
    private readonly opts: {
      ipvsadmPath: string;
      exec: Exec;
      log: Log;
      /** `sysctl` binary (default `sysctl`). */
      sysctlPath?: string;
      readProc?: ProcReader;
    },
  ) {}

  /** The daemons running now (`ipvsadm -L --daemon`); undefined with the reason when ipvsadm fails. */
  async read(): Promise<{ master?: IpvsDaemonState; backup?: IpvsDaemonState } | { error: string }> {
    const r = await this.opts.exec(this.opts.ipvsadmPath, ['-L', '--daemon']);
    if (r.code !== 0) return { error: `ipvsadm -L --daemon: ${r.stderr.trim() || `exit ${r.code}`}` };
    return parseIpvsDaemons(r.stdout);
  }

  /**
   * Writes the sysctls, then makes both daemons run with `c` (a daemon that runs with other settings is
   * stopped and started again; one that matches is left alone — a restarted pulse adopts the kernel's), and
   * re-reads them.
   */
  async apply(c: IpvsSyncConfig): Promise<IpvsSyncReport> {
    const problems: string[] = [];
    // The config refuses these; the edge does not pass them on to ipvsadm or sysctl regardless.
    const badIface = interfaceNameProblem(c.iface);
    if (badIface !== undefined || !Number.isInteger(c.syncid) || c.syncid < 0 || c.syncid > 255)
      return {
        problems: [`sync daemons not started: ${badIface ?? `sync id ${c.syncid} is not 0–255`}`],
        started: [],
      };
    for (const v of Object.values(c.sysctls))
      if (!/^\d+( \d+)*$/.test(v))
        return { problems: [`sync sysctl value ${JSON.stringify(v)} refused`], started: [] };
    for (const [k, v] of Object.entries(c.sysctls)) {
      const r = await this.opts.exec(this.opts.sysctlPath ?? 'sysctl', ['-qw', `net.ipv4.vs.${k}=${v}`]);
      if (r.code !== 0) problems.push(`sysctl net.ipv4.vs.${k}=${v}: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
    const before = await this.read();
    if ('error' in before) return { problems: [...problems, before.error], started: [] };
    const started: ('master' | 'backup')[] = [];
    const errors: string[] = [];
    for (const state of ['backup', 'master'] as const) {
      if (ipvsDaemonMatches(before[state], c, state)) continue;
      if (before[state]) await this.opts.exec(this.opts.ipvsadmPath, ['--stop-daemon', state]);
      const args = ipvsDaemonArgs(c, state);
      const r = await this.opts.exec(this.opts.ipvsadmPath, args);
      if (r.code !== 0) errors.push(`ipvsadm ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
      else started.push(state);
    }
    const after = await this.read();
    if ('error' in after) return { problems: [...problems, ...errors, after.error], started };
    for (const state of ['backup', 'master'] as const)
      if (!ipvsDaemonMatches(after[state], c, state))
        problems.push(
          errors.find((e) => e.includes(`--start-daemon ${state}`)) ??
            `${state} sync daemon ${after[state] ? 'runs with other settings' : 'is not running'} after start`,
        );
    const out: IpvsSyncReport = { problems, started };
    if (after.master) out.master = after.master;
    if (after.backup) out.backup = after.backup;
    return out;
  }

  /** Stops both daemons (a daemon not running is not an error). */
  async stop(): Promise<void> {
    for (const state of ['master', 'backup'] as const) {
      const r = await this.opts.exec(this.opts.ipvsadmPath, ['--stop-daemon', state]);
      if (r.code !== 0 && !/No such|not running|ESRCH|Invalid argument/i.test(r.stderr))
        this.opts.log.warn('ipvsadm --stop-daemon failed', { state, error: r.stderr.trim() });
    }
  }

  /** `/proc/net/ip_vs_conn_sync`, at most 8 MiB of it (about 80,000 connections); undefined without IPVS. */
  connSync(): Promise<string | undefined> {
    return (this.opts.readProc ?? readProc)('/proc/net/ip_vs_conn_sync', 8 << 20);
  }
}
