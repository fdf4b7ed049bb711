/**
 * Runs probes inside a namespace for the connection tests, keeping each probe (and its kept-alive
 * connection) across commands. Prints `ready`, then one JSON line per command read on stdin:
 *   {"op":"probe","id":…,"spec":ProbeSpec}  → the result of one run of probe `id` (built on first use)
 *   {"op":"dispose","id":…}                 → disposes probe `id`
 *   {"op":"timewait"}                       → { timeWait: sockets in TIME-WAIT in this namespace }
 *   {"op":"segs"}                           → { outSegs: TCP segments this namespace has sent }
 *   {"op":"sockets"}                        → { sockets: sockets this process has open }
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createProbe } from '../../../src/nanny/probes/index';
import type { Probe } from '../../../src/nanny/types';
import type { ProbeSpec } from './runner';

const probes = new Map<string, Probe>();

function timeWait(): number {
  // /proc/net/tcp: column 4 is the state, 06 = TIME_WAIT
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim().split(/\s+/)[3] === '06').length;
}

function outSegs(): number {
  // /proc/net/snmp: a "Tcp:" header line, then a "Tcp:" value line
  const [head, values] = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Tcp:'))
    .map((l) => l.trim().split(/\s+/));
  return Number(values![head!.indexOf('OutSegs')]);
}

function sockets(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      /* closed meanwhile (readdir's own descriptor) */
    }
  }
  return n;
}

async function main(): Promise<void> {
  console.log('ready');
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line) as { op: string; id?: string; spec?: ProbeSpec };
    if (cmd.op === 'probe') {
      const s = cmd.spec!;
      let p = probes.get(cmd.id!);
      if (!p) {
        p = createProbe(s.monitor, s.rs, s.protocol ?? 'tcp');
        probes.set(cmd.id!, p);
      }
      console.log(JSON.stringify(await p()));
    } else if (cmd.op === 'dispose') {
      probes.get(cmd.id!)?.dispose?.();
      probes.delete(cmd.id!);
      console.log('{}');
    } else if (cmd.op === 'segs') {
      console.log(JSON.stringify({ outSegs: outSegs() }));
    } else if (cmd.op === 'sockets') {
      console.log(JSON.stringify({ sockets: sockets() }));
    } else if (cmd.op === 'timewait') {
      console.log(JSON.stringify({ timeWait: timeWait() }));
    }
  }
}

void main();
