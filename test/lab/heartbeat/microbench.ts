/**
 * Event-loop-independent costs of the heartbeat (no root, no lab):
 *   node --import tsx test/lab/heartbeat/microbench.ts
 * Prints ns per: encode+sign, receive (verify + replay check) of a valid packet, receive of a forged one
 * (bad MAC), and FailoverFsm.step for a peer keepalive and for a tick.
 */
import { randomBytes } from 'node:crypto';
import { encode, type HeartbeatMessage, makeKey } from '../../../src/heartbeat/codec';
import { FailoverFsm } from '../../../src/heartbeat/fsm';
import { Receiver } from '../../../src/heartbeat/receiver';
import { nullLog } from '../../../src/lib/log';

const key = makeKey(randomBytes(32));
const ours = 'aaaaaaaaaaaaaaaa';
const msg = (seq: number): HeartbeatMessage => ({
  type: 'keepalive',
  state: 'active',
  flags: { linkFault: false, lbFault: false, preempt: false },
  path: 'public',
  priority: 200,
  keepaliveUs: 1000,
  newestKeyId: key.id,
  macKeyId: 0,
  bootId: '1111111111111111',
  seq,
  echoBootId: ours,
  configHash: '0123456789abcdef',
  sender: '198.18.0.11',
});

function bench(name: string, n: number, f: (i: number) => void): void {
  for (let i = 0; i < Math.min(n, 20000); i++) f(i);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) f(i + n);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  const c = process.cpuUsage(c0);
  const cpuNs = ((c.user + c.system) * 1000) / n;
  // CPU time is what the heartbeat costs; wall time also counts other processes on a shared machine.
  console.log(`${name.padEnd(44)} ${cpuNs.toFixed(0).padStart(6)} ns CPU  (${ns.toFixed(0)} ns wall)`);
}

const N = 200_000;
bench('encode + HMAC sign (88 B)', N, (i) => encode(msg(i), key));

const rx = new Receiver({
  auth: 'hmac',
  keys: { current: key },
  bootId: ours,
  selfAddresses: ['198.18.0.12'],
  selfId: '198.18.0.12',
  peer: { address: '198.18.0.11' },
  unconfirmedGraceMs: 100,
  piranhaCompat: false,
});
const pkts = Array.from({ length: 2 * N + 20000 }, (_, i) => encode(msg(i + 1), key));
bench('receive valid (verify MAC + replay check)', N, (i) =>
  rx.receive(pkts[i]!, '198.18.0.11', 'public', i),
);
const forged = encode(msg(1), makeKey(randomBytes(32)));
bench('receive forged (unknown key id)', N, () => rx.receive(forged, '198.18.0.11', 'public', 0));
const badMac = encode(msg(1), key);
badMac[87]! ^= 1;
bench('receive forged (right key id, wrong MAC)', N, () => rx.receive(badMac, '198.18.0.11', 'public', 0));
bench('receive from a non-peer address', N, () => rx.receive(forged, '198.18.0.100', 'public', 0));

const fsm = new FailoverFsm(
  {
    node: 'backup',
    self: { address: '198.18.0.12', priority: 100 },
    peer: { address: '198.18.0.11', priority: 200 },
    paths: ['public', 'private'],
    keepaliveMs: 1,
    deadtimeMs: 3,
    preempt: false,
    preemptDelayMs: 0,
    handoverTimeoutMs: 1000,
    configHash: '0123456789abcdef',
  },
  nullLog,
);
fsm.step({ type: 'start', now: 0 });
const m = msg(1);
bench('fsm.step(peer keepalive) as standby', N, (i) =>
  fsm.step({ type: 'message', now: i * 0.001, path: 'public', msg: m, confirmed: true }),
);
bench('fsm.step(tick) + nextWakeup', N, (i) => {
  fsm.step({ type: 'tick', now: 200 + i * 0.0001 });
  fsm.nextWakeup();
});
console.log(`state after bench: ${fsm.state}`);
