/**
 * The IPVS side of the survival workload, for the VM pair lab (real IPVS in the guest): which client flows
 * a router's IPVS holds, from `ipvsadm -Lnc`, so the scenario (lab/survival.ts) can time establishment →
 * entry on the standby. The VM pair lab passes its own way of running a command in a namespace.
 */

/** One IPVS connection entry of `ipvsadm -Lnc`. */
export interface IpvsConnEntry {
  proto: string;
  expire: string;
  state: string;
  source: string;
  sourcePort: number;
  virtual: string;
  virtualPort: number;
  destination: string;
  destinationPort: number;
}

function hostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  const host = s.slice(0, i).replace(/^\[|\]$/g, '');
  return [host, Number(s.slice(i + 1))];
}

/**
 * Parses `ipvsadm -Lnc`:
 *   IPVS connection entries
 *   pro expire state       source             virtual            destination
 *   TCP 14:59  ESTABLISHED 198.18.0.100:41234 198.18.0.10:7000   198.18.1.21:7000
 */
export function parseIpvsConnections(text: string): IpvsConnEntry[] {
  const out: IpvsConnEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^(TCP|UDP|SCTP|IP)$/.test(f[0]!)) continue;
    const [src, sp] = hostPort(f[3]!);
    const [vip, vp] = hostPort(f[4]!);
    const [dst, dp] = hostPort(f[5]!);
    out.push({
      proto: f[0]!,
      expire: f[1]!,
      state: f[2]!,
      source: src,
      sourcePort: sp,
      virtual: vip,
      virtualPort: vp,
      destination: dst,
      destinationPort: dp,
    });
  }
  return out;
}

/** The scenario's `standbyFlows` on IPVS: client ports of the ESTABLISHED entries for VIP:port in `ns`. */
export function ipvsStandbyFlows(
  exec: (ns: string, cmd: string, args: string[]) => Promise<{ stdout: string }>,
  ns: string,
  vip: string,
  port: number,
): () => Promise<Set<number>> {
  return async () => {
    const { stdout } = await exec(ns, 'ipvsadm', ['-Lnc']);
    return new Set(
      parseIpvsConnections(stdout)
        .filter((e) => e.virtual === vip && e.virtualPort === port && e.state === 'ESTABLISHED')
        .map((e) => e.sourcePort),
    );
  };
}
