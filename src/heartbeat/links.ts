/**
 * Link monitor (monitor_links): polls /sys/class/net/IF/carrier and operstate. Works for bonds and VLANs
 * (their operstate follows their slaves/parent), which Piranha's ethtool check could not.
 * The sysfs reader is injected so tests need no real interfaces.
 */
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { interfaceNameProblem, sysClassNetPath } from '../lib/ifname.js';

/** Reads a sysfs attribute; returns undefined when it cannot be read (no interface, admin down → EINVAL). */
export type SysfsReader = (path: string) => string | undefined;

/** The real sysfs reader (trimmed file content, undefined when unreadable). */
export const readSysfs: SysfsReader = (path) => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** One interface's state, with the evidence for the log. */
export interface LinkState {
  up: boolean;
  /** e.g. `eth1 down (carrier 0, operstate down)`. */
  detail: string;
}

/**
 * One interface's state: up when carrier is 1 and operstate is up (or unknown, which dummy/tun/some veth
 * report while working). `lowerlayerdown`, `dormant`, `down`, missing files → down.
 */
export function linkState(iface: string, read: SysfsReader = readSysfs): LinkState {
  // The config refuses such names; this guard keeps a path from leaving /sys/class/net regardless.
  const bad = interfaceNameProblem(iface);
  if (bad !== undefined)
    return { up: false, detail: `${JSON.stringify(iface)}: not an interface name (it ${bad})` };
  const oper = read(sysClassNetPath(iface, 'operstate'));
  if (oper === undefined)
    return { up: false, detail: `${iface} missing (no ${sysClassNetPath(iface, 'operstate')})` };
  const carrier = read(sysClassNetPath(iface, 'carrier'));
  const up = carrier === '1' && (oper === 'up' || oper === 'unknown');
  return { up, detail: `${iface} ${up ? 'up' : 'down'} (carrier ${carrier ?? 'n/a'}, operstate ${oper})` };
}

/** What a {@link LinkMonitor} watches and how often. */
export interface LinkMonitorOptions {
  /** Interface names (`eth0`, `bond0`, `eth0.100`). */
  interfaces: string[];
  /** Poll interval, ms. */
  intervalMs: number;
  /** For tests: the sysfs reader (default {@link readSysfs}). */
  read?: SysfsReader;
}

/**
 * Polls the interfaces and emits 'change' ({ on: boolean, detail }) when the aggregate fault changes:
 * `on` = at least one monitored link is down; `detail` names the down links (or "all links up").
 */
export class LinkMonitor extends EventEmitter {
  private timer: NodeJS.Timeout | undefined;
  private faultDetail: string | undefined;
  private readonly read: SysfsReader;

  constructor(private opts: LinkMonitorOptions) {
    super();
    this.read = opts.read ?? readSysfs;
  }

  /** Checks now; returns the current fault (undefined = all up). Emits 'change' if it changed. */
  check(): string | undefined {
    const down = this.opts.interfaces.map((i) => linkState(i, this.read)).filter((s) => !s.up);
    const detail = down.length ? down.map((d) => d.detail).join('; ') : undefined;
    if (detail !== this.faultDetail) {
      const was = this.faultDetail;
      this.faultDetail = detail;
      if (detail !== undefined || was !== undefined)
        this.emit('change', { on: detail !== undefined, detail: detail ?? 'all links up' });
    }
    return detail;
  }

  /** Checks now, then every intervalMs. */
  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), this.opts.intervalMs);
    this.timer.unref?.();
  }

  /** New interfaces and interval (reload); a running monitor restarts with them at once. */
  reconfigure(interfaces: string[], intervalMs: number): void {
    this.opts = { ...this.opts, interfaces, intervalMs };
    if (this.timer) {
      this.stop();
      this.start();
    }
  }

  /** Stops polling. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
