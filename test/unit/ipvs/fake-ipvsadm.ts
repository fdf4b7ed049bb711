/**
 * An in-memory IPVS behind a fake `ipvsadm` (the Exec the drivers use): -Sn, -Ln --timeout, --set, -R with
 * ipvsadm 1.31's line-by-line semantics (a rejected line is skipped, the exit status is the last line's),
 * -e resetting omitted options, and hooks to make lines fail. Records every call.
 */
import type { Exec, ExecOutcome } from '../../../src/ipvs/exec';

interface Dest {
  fwd: string;
  w: number;
}
interface Svc {
  opts: string;
  dests: Map<string, Dest>;
}

export class FakeIpvs {
  svcs = new Map<string, Svc>();
  timeouts = [900, 120, 300];
  calls: { args: string[]; input?: string }[] = [];
  /** Lines matching this are rejected by the "kernel" (e.g. to simulate a weight that will not stick). */
  reject: RegExp | undefined;
  daemons: string[] = [];

  exec: Exec = async (_file, args, input) => {
    this.calls.push(input === undefined ? { args } : { args, input });
    return this.run(args, input);
  };

  private run(args: string[], input?: string): ExecOutcome {
    const a0 = args[0];
    if (a0 === '-Sn') return { code: 0, stdout: this.save(), stderr: '' };
    if (a0 === '-Ln' && args[1] === '--timeout') {
      return { code: 0, stdout: `Timeout (tcp tcpfin udp): ${this.timeouts.join(' ')}\n`, stderr: '' };
    }
    if (a0 === '-Ln' && args[1] === '--exact') {
      const key = args.slice(2).join(' ');
      if (key && !this.svcs.has(key)) return { code: 1, stdout: '', stderr: 'No such service\n' };
      return { code: 0, stdout: this.list(key || undefined), stderr: '' };
    }
    if (a0 === '--set') {
      args.slice(1).forEach((v, i) => {
        if (Number(v) !== 0) this.timeouts[i] = Number(v);
      });
      return { code: 0, stdout: '', stderr: '' };
    }
    if (a0 === '--start-daemon' || a0 === '--stop-daemon') {
      this.daemons.push(`${a0} ${args.slice(1).join(' ')}`);
      return { code: 0, stdout: '', stderr: '' };
    }
    if (a0 === '-R') {
      let code = 0;
      let stderr = '';
      for (const line of (input ?? '').split('\n')) {
        if (!line.trim()) continue;
        const err = this.line(line.trim().split(/\s+/));
        code = err ? 1 : 0;
        if (err) stderr += `${err}\n`;
      }
      return { code, stdout: '', stderr };
    }
    if (a0 === '-C') throw new Error('ipvsadm -C must never be called');
    const err = this.line(args);
    return { code: err ? 1 : 0, stdout: '', stderr: err ?? '' };
  }

  /** Apply one command; returns an error message or undefined. */
  line(t: string[]): string | undefined {
    if (this.reject?.test(t.join(' '))) return 'Memory allocation problem';
    const cmd = t[0];
    const key = t[1] === '-f' && t[3] === '-6' ? t.slice(1, 4).join(' ') : t.slice(1, 3).join(' ');
    const rest = t.slice(1 + key.split(' ').length);
    if (cmd === '-A') {
      if (this.svcs.has(key)) return 'Service already exists';
      this.svcs.set(key, { opts: rest.join(' '), dests: new Map() });
    } else if (cmd === '-E') {
      const s = this.svcs.get(key);
      if (!s) return 'No such service';
      s.opts = rest.join(' ');
    } else if (cmd === '-D') {
      if (!this.svcs.delete(key)) return 'No such service';
    } else if (cmd === '-a' || cmd === '-e' || cmd === '-d') {
      const s = this.svcs.get(key);
      if (!s) return 'Service not defined';
      const r = rest[rest.indexOf('-r') + 1] as string;
      if (cmd === '-d') {
        if (!s.dests.delete(r)) return 'No such destination';
        return undefined;
      }
      if (cmd === '-a' && s.dests.has(r)) return 'Destination already exists';
      if (cmd === '-e' && !s.dests.has(r)) return 'No such destination';
      // Like ipvsadm: an omitted forwarding flag means -g, an omitted weight means 1.
      const fwd = rest.includes('-m') ? '-m' : rest.includes('-i') ? '-i' : '-g';
      const wi = rest.indexOf('-w');
      s.dests.set(r, { fwd, w: wi >= 0 ? Number(rest[wi + 1]) : 1 });
    } else return `unknown command ${cmd}`;
    return undefined;
  }

  save(): string {
    let out = '';
    for (const [k, s] of this.svcs) {
      out += `-A ${k} ${s.opts}\n`;
      for (const [r, d] of s.dests) out += `-a ${k} -r ${r} ${d.fwd} -w ${d.w}\n`;
    }
    return out;
  }

  /** `ipvsadm -Ln --exact [service]` output. */
  list(only?: string): string {
    const fwd: Record<string, string> = { '-m': 'Masq', '-g': 'Route', '-i': 'Tunnel' };
    let out = 'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n';
    out += '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
    for (const [k, s] of this.svcs) {
      if (only && k !== only) continue;
      const [flag, addr, six] = k.split(' ');
      const o = s.opts.split(' ');
      const sched = o[o.indexOf('-s') + 1];
      const p = o.indexOf('-p') >= 0 ? ` persistent ${o[o.indexOf('-p') + 1]}` : '';
      const m = o.indexOf('-M') >= 0 ? ` mask ${o[o.indexOf('-M') + 1]}` : p ? ' mask 255.255.255.255' : '';
      const head =
        flag === '-f'
          ? `FWM  ${addr} ${six ? 'IPv6 ' : ''}${sched}`
          : `${flag === '-t' ? 'TCP' : 'UDP'}  ${addr} ${sched}`;
      out += `${head}${p}${m}\n`;
      for (const [r, d] of s.dests) out += `  -> ${r.padEnd(28)} ${fwd[d.fwd]}    ${d.w}      0          0\n`;
    }
    return out;
  }

  /** The -R inputs sent so far, as lines. */
  restoreLines(): string[] {
    return this.calls
      .filter((c) => c.args[0] === '-R')
      .flatMap((c) => (c.input ?? '').split('\n').filter(Boolean));
  }
}
