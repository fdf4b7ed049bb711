/**
 * A small namespace lab for INSIDE the test VM, built with few processes (each process start costs
 * ~0.3 s under qemu TCG): the VM's own namespace is the router (IPVS lives there), a client namespace on
 * the public side and N real servers on a private bridge whose default route is the router's NAT address.
 *
 *   client 198.18.0.100 ── c0 [VIP 198.18.0.10, 198.18.0.11]  router  [198.18.1.1] priv ── rs1 198.18.1.21 …
 *
 * Processes: one `ip -b` for the router side, one `ip -n NS -b` per namespace, one node per real server
 * (HTTP on 80 + line server on 7000), and one client agent driven over stdin (see traffic.cjs).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const TRAFFIC = resolve('test/lab/ipvs/traffic.cjs');
export const VM_NET = {
  vip: '198.18.0.10',
  router: '198.18.0.11',
  client: '198.18.0.100',
  natGateway: '198.18.1.1',
  realServer: (i: number) => `198.18.1.${20 + i}`,
};

async function batch(ns: string | undefined, lines: string[]): Promise<void> {
  const args = ns ? ['-n', ns, '-b', '-'] : ['-b', '-'];
  await new Promise<void>((ok, fail) => {
    const p = execFile('ip', args, (err, _o, stderr) =>
      err ? fail(new Error(`ip ${args.join(' ')}: ${stderr}`)) : ok(),
    );
    p.stdin?.end(`${lines.join('\n')}\n`);
  });
}

/** The client agent: send a command, get its JSON reply. */
export interface Agent {
  cmd<T = Record<string, unknown>>(line: string): Promise<T>;
  http(count: number, conc?: number): Promise<{ counts: Record<string, number>; failed: number }>;
}

export interface VmLab {
  prefix: string;
  client: Agent;
  children: ChildProcess[];
  destroy(): Promise<void>;
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((ok, fail) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => {
      rl.close();
      ok(l);
    });
    child.once('exit', (c) => fail(new Error(`child exited ${c} before its first line`)));
  });
}

export async function buildVmLab(realServers = 2, nodeFlags: string[] = []): Promise<VmLab> {
  const prefix = `lpi${Math.random().toString(16).slice(2, 6)}`;
  const ns = (n: string) => `${prefix}-${n}`;
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  const root = [
    `netns add ${ns('client')}`,
    `link add c0 type veth peer name eth0 netns ${ns('client')}`,
    'link add priv type bridge',
  ];
  for (let i = 1; i <= realServers; i++) {
    root.push(
      `netns add ${ns(`rs${i}`)}`,
      `link add p${i} type veth peer name eth0 netns ${ns(`rs${i}`)}`,
      `link set p${i} master priv`,
      `link set p${i} up`,
    );
  }
  root.push(
    `addr add ${VM_NET.router}/24 dev c0`,
    `addr add ${VM_NET.vip}/24 dev c0`,
    `addr add ${VM_NET.natGateway}/24 dev priv`,
    'link set c0 up',
    'link set priv up',
  );
  await batch(undefined, root);
  await batch(ns('client'), ['link set lo up', 'link set eth0 up', `addr add ${VM_NET.client}/24 dev eth0`]);
  const children: ChildProcess[] = [];
  const ready: Promise<string>[] = [];
  for (let i = 1; i <= realServers; i++) {
    await batch(ns(`rs${i}`), [
      'link set lo up',
      'link set eth0 up',
      `addr add ${VM_NET.realServer(i)}/24 dev eth0`,
      `route add default via ${VM_NET.natGateway}`,
    ]);
    const c = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns(`rs${i}`),
        process.execPath,
        ...nodeFlags,
        TRAFFIC,
        'servers',
        `rs${i}`,
        '80',
        '7000',
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(c);
    ready.push(firstLine(c));
  }
  const agentProc = spawn(
    'ip',
    ['netns', 'exec', ns('client'), process.execPath, ...nodeFlags, TRAFFIC, 'agent'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  children.push(agentProc);
  const lines = createInterface({ input: agentProc.stdout! })[Symbol.asyncIterator]();
  await Promise.all(ready);
  const hello = (await lines.next()).value as string;
  if (!/ready/.test(hello)) throw new Error(`client agent: ${hello}`);
  let chain: Promise<unknown> = Promise.resolve();
  const cmd = <T>(line: string): Promise<T> => {
    const p = chain.then(async () => {
      agentProc.stdin!.write(`${line}\n`);
      return JSON.parse((await lines.next()).value as string) as T;
    });
    chain = p.catch(() => {});
    return p;
  };
  const client: Agent = {
    cmd,
    http: (count, conc = 8) => cmd(`http http://${VM_NET.vip}/ ${count} ${conc}`),
  };
  return {
    prefix,
    client,
    children,
    async destroy() {
      for (const c of children) c.kill('SIGKILL');
      for (const n of ['client', ...Array.from({ length: realServers }, (_, i) => `rs${i + 1}`)]) {
        await run('ip', ['netns', 'del', ns(n)]).catch(() => {});
      }
      await run('ip', ['link', 'del', 'priv']).catch(() => {});
    },
  };
}
