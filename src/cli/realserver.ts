/**
 * What a real server needs for direct routing (DR) or tunnelling (TUN), as the LVS HOWTO describes:
 * the VIP configured locally (on `lo` for DR, on `tunl0` / `ip6tnl0` for TUN) so it accepts packets for it,
 * and ARP kept quiet so it never answers for the VIP on the shared segment (only the active router may):
 *   arp_ignore = 1   answer ARP only for addresses configured on the interface the request came in on;
 *   arp_announce = 2 never use the VIP as the source of our own ARP requests.
 * TUN also needs reverse-path filtering off on the tunnel (decapsulated packets arrive from the client's
 * address on tunl0, which rp_filter would drop; the kernel uses the max of `all` and the interface value).
 *
 * `pulsectl realserver` prints or applies this on a real server; it is not part of the router's daemon.
 * `realServerPlan` is pure (a list of commands with the reason for each); `applyRealServerPlan` runs them
 * through the one process runner (src/lib/run.ts), tolerating "already done" so applying twice is harmless.
 */
import { parseIP } from '../lib/addr';
import { describeOutcome, runProgram } from '../lib/run';

/** Direct routing (VIP on `lo`) or tunnelling (VIP on `tunl0` / `ip6tnl0`). */
export type RealServerMode = 'dr' | 'tun';

/** One command of a plan, with the reason it is needed. */
export interface RealServerStep {
  file: string;
  args: string[];
  why: string;
}

/** Everything a real server needs for `vips` in `mode`. */
export interface RealServerPlan {
  mode: RealServerMode;
  vips: string[];
  steps: RealServerStep[];
  /** The same sysctls for /etc/sysctl.d/90-lvs-realserver.conf, so they survive a reboot. */
  sysctlConf: string;
}

/**
 * The commands a DR or TUN real server needs for `vips`.
 *
 * @throws Error when a VIP is not an IP address.
 * @example formatRealServerPlan(realServerPlan({ mode: 'dr', vips: ['198.18.0.10'] }))
 */
export function realServerPlan(opts: { mode: RealServerMode; vips: string[] }): RealServerPlan {
  const { mode, vips } = opts;
  if (vips.length === 0) throw new Error('realserver: give at least one VIP (--vip ADDR)');
  const parsed = vips.map((v) => {
    const ip = parseIP(v);
    if (!ip) throw new Error(`realserver: --vip ${JSON.stringify(v)} is not an IP address`);
    return { address: v, family: ip.family };
  });
  const has4 = parsed.some((p) => p.family === 4);
  const has6 = parsed.some((p) => p.family === 6);
  const steps: RealServerStep[] = [];
  const sysctls: [string, string, string][] = [];
  const sysctl = (key: string, value: string, why: string): void => {
    sysctls.push([key, value, why]);
    steps.push({ file: 'sysctl', args: ['-w', `${key}=${value}`], why });
  };
  if (has4) {
    const ignore = 'reply to ARP only for addresses of the receiving interface (never for the VIP)';
    const announce = 'never use the VIP as the source address of our own ARP requests';
    sysctl('net.ipv4.conf.all.arp_ignore', '1', ignore);
    sysctl('net.ipv4.conf.all.arp_announce', '2', announce);
    const dev = mode === 'dr' ? 'lo' : 'tunl0';
    if (mode === 'tun') {
      steps.push({ file: 'modprobe', args: ['ipip'], why: 'IP-in-IP decapsulation (creates tunl0)' });
    }
    sysctl(`net.ipv4.conf.${dev}.arp_ignore`, '1', ignore);
    sysctl(`net.ipv4.conf.${dev}.arp_announce`, '2', announce);
    if (mode === 'tun') {
      const rp = 'decapsulated packets come from client addresses on tunl0; strict rp_filter would drop them';
      sysctl('net.ipv4.conf.all.rp_filter', '0', rp);
      sysctl('net.ipv4.conf.tunl0.rp_filter', '0', rp);
      steps.push({ file: 'ip', args: ['link', 'set', 'tunl0', 'up'], why: 'bring the tunnel interface up' });
    }
  }
  if (has6 && mode === 'tun') {
    steps.push({
      file: 'modprobe',
      args: ['ip6_tunnel'],
      why: 'IPv6-in-IPv6 decapsulation (creates ip6tnl0)',
    });
    steps.push({
      file: 'ip',
      args: ['link', 'set', 'ip6tnl0', 'up'],
      why: 'bring the IPv6 tunnel interface up',
    });
  }
  for (const p of parsed) {
    const dev = mode === 'dr' ? 'lo' : p.family === 4 ? 'tunl0' : 'ip6tnl0';
    const args =
      p.family === 4
        ? ['-4', 'addr', 'add', `${p.address}/32`, 'dev', dev, ...(dev === 'lo' ? ['label', 'lo:lvs'] : [])]
        : ['-6', 'addr', 'add', `${p.address}/128`, 'dev', dev, 'nodad'];
    steps.push({
      file: 'ip',
      args,
      why: `accept packets for VIP ${p.address} locally (host route only, never announced)`,
    });
  }
  const sysctlConf = sysctls.length
    ? `# lvs-pulse: real server for ${mode.toUpperCase()} (${vips.join(', ')})\n${sysctls
        .map(([k, v]) => `${k} = ${v}`)
        .join('\n')}\n`
    : '';
  return { mode, vips, steps, sysctlConf };
}

/** The plan as text: one command per line with its reason as a comment, then the sysctl.d snippet. */
export function formatRealServerPlan(plan: RealServerPlan): string {
  const lines = plan.steps.map((s) => `${[s.file, ...s.args].join(' ')}    # ${s.why}`);
  if (plan.sysctlConf) {
    lines.push('', '# To keep the sysctls across reboots, /etc/sysctl.d/90-lvs-realserver.conf:');
    lines.push(
      ...plan.sysctlConf
        .trimEnd()
        .split('\n')
        .map((l) => (l.startsWith('#') ? l : `#   ${l}`)),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The outcome of one step of {@link applyRealServerPlan}. */
export interface AppliedStep {
  command: string;
  ok: boolean;
  /** "already present" and the like. */
  note?: string;
  error?: string;
}

/** Runs one step; resolves with its stderr on failure. */
export type StepRunner = (file: string, args: string[]) => Promise<{ ok: boolean; stderr: string }>;

const defaultStepRunner: StepRunner = async (file, args) => {
  const r = await runProgram(file, args, { timeoutMs: 10_000 });
  return { ok: r.code === 0, stderr: r.code === 0 ? r.stderr.trim() : describeOutcome(r, 10_000) };
};

/**
 * Applies a plan step by step (never stopping at the first failure, so the report shows everything).
 * An address that is already there, or a module that is built in, counts as done.
 */
export async function applyRealServerPlan(
  plan: RealServerPlan,
  run: StepRunner = defaultStepRunner,
): Promise<AppliedStep[]> {
  const out: AppliedStep[] = [];
  for (const s of plan.steps) {
    const command = [s.file, ...s.args].join(' ');
    const r = await run(s.file, s.args);
    if (r.ok) out.push({ command, ok: true });
    else if (/already assigned|File exists/i.test(r.stderr))
      out.push({ command, ok: true, note: 'already present' });
    else if (s.file === 'modprobe' && /not found|builtin/i.test(r.stderr))
      out.push({
        command,
        ok: true,
        note: `modprobe: ${r.stderr} (the interface step below tells if it is there)`,
      });
    else out.push({ command, ok: false, error: r.stderr });
  }
  return out;
}
