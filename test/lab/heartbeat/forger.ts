/**
 * Lab attacker: sends forged heartbeats to a router from each given source address (bound locally), then
 * prints {sent} as JSON. Kinds: random bytes, Piranha 4-byte STOPPED, well-formed farewell/claim signed
 * with a wrong key, unsigned, and a maximal-priority active claim.
 *
 *   node --import tsx forger.ts '{"from":["198.18.0.11"],"to":"198.18.0.12","port":539,"count":2000}'
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { encode, encodePiranha, type HeartbeatMessage, makeKey } from '../../../src/heartbeat/codec';

interface Args {
  from: string[];
  to: string;
  port: number;
  count: number;
  sender: string;
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]!) as Args;
  const wrong = makeKey(randomBytes(32));
  let sent = 0;
  for (const src of a.from) {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind({ address: src, port: a.port }, () => r()));
    const send = (b: Buffer) =>
      new Promise<void>((r) =>
        sock.send(b, a.port, a.to, () => {
          sent++;
          r();
        }),
      );
    for (let i = 0; i < a.count; i++) {
      // Paced a little so the receiver's socket buffer does not overflow on a loaded machine.
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 2));
      const m: HeartbeatMessage = {
        type: i % 2 ? 'farewell' : 'claim',
        state: i % 2 ? 'stopping' : 'active',
        flags: { linkFault: false, lbFault: false, preempt: true },
        path: 'public',
        priority: 65535,
        keepaliveUs: 1000,
        newestKeyId: wrong.id,
        macKeyId: 0,
        bootId: randomBytes(8).toString('hex'),
        seq: 2 ** 40 + i,
        echoBootId: randomBytes(8).toString('hex'),
        configHash: '0000000000000000',
        sender: a.sender,
      };
      switch (i % 4) {
        case 0:
          await send(randomBytes(i % 200));
          break;
        case 1:
          await send(encodePiranha(false));
          break;
        case 2:
          await send(encode(m, wrong));
          break;
        default:
          await send(encode(m));
      }
    }
    sock.close();
  }
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
