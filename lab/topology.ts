/**
 * The standard LVS lab: a switch namespace with a public and a private bridge, a client, two routers
 * (public + private interface each) and N real servers whose default route is the NAT gateway VIP.
 * Addresses only from 198.18.0.0/15.
 *
 *   client 198.18.0.100 ─┐ pub ┌─ r1 eth0 198.18.0.11   r1 eth1 198.18.1.11 ─┐ priv ┌─ rs1 198.18.1.21
 *                        └─────┴─ r2 eth0 198.18.0.12   r2 eth1 198.18.1.12 ─┴──────┴─ rs2 198.18.1.22 …
 *   VIP 198.18.0.10 (public), NAT gateway 198.18.1.1 (private): held by the active router.
 */
import { Lab } from './netns';

/** The addresses of the standard lab topology (from the benchmarking range 198.18.0.0/15). */
export const LAB_NET = {
  vip: '198.18.0.10',
  natGateway: '198.18.1.1',
  client: '198.18.0.100',
  routers: {
    r1: { public: '198.18.0.11', private: '198.18.1.11' },
    r2: { public: '198.18.0.12', private: '198.18.1.12' },
  },
  realServer: (i: number): string => `198.18.1.${20 + i}`,
  publicPrefix: 24,
  privatePrefix: 24,
} as const;

/** A built standard topology: the lab, its real servers, and how to tear it down. */
export interface LvsLab {
  lab: Lab;
  /** Short namespace names for lab.exec(): 'sw', 'client', 'r1', 'r2', 'rs1'… */
  realServers: { ns: string; address: string }[];
  destroy(): Promise<void>;
}

/** Options of {@link buildLvsLab}: the namespace prefix and how many real servers (default 2). */
export interface LvsLabOptions {
  prefix: string;
  realServers?: number;
}

/** Builds the standard topology. On any failure, what was built is torn down before rethrowing. */
export async function buildLvsLab(opts: LvsLabOptions): Promise<LvsLab> {
  const lab = await Lab.create(opts.prefix);
  const n = opts.realServers ?? 2;
  try {
    await lab.addNs('sw');
    await lab.addBridge('sw', 'pub');
    await lab.addBridge('sw', 'priv');
    await lab.addNs('client');
    await lab.connect('client', 'eth0', 'sw', 'pub', [`${LAB_NET.client}/${LAB_NET.publicPrefix}`]);
    for (const r of ['r1', 'r2'] as const) {
      await lab.addNs(r);
      const a = LAB_NET.routers[r];
      await lab.connect(r, 'eth0', 'sw', 'pub', [`${a.public}/${LAB_NET.publicPrefix}`]);
      await lab.connect(r, 'eth1', 'sw', 'priv', [`${a.private}/${LAB_NET.privatePrefix}`]);
      await lab.exec(r, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    }
    const realServers: { ns: string; address: string }[] = [];
    for (let i = 1; i <= n; i++) {
      const ns = `rs${i}`;
      const address = LAB_NET.realServer(i);
      await lab.addNs(ns);
      await lab.connect(ns, 'eth0', 'sw', 'priv', [`${address}/${LAB_NET.privatePrefix}`]);
      await lab.exec(ns, 'ip', ['route', 'add', 'default', 'via', LAB_NET.natGateway]);
      realServers.push({ ns, address });
    }
    return { lab, realServers, destroy: () => lab.destroy() };
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}
