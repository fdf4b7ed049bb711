/**
 * Lab attacker: replays captured heartbeat payloads (hex) to a router from a spoofed source address
 * (bound locally: the address must be on one of this namespace's interfaces), then prints {sent}.
 * Plain JavaScript, no TypeScript loader: it starts in a few milliseconds, so its own start-up does not
 * load the machine the routers run on.
 *
 *   node replayer.cjs '{"from":"198.18.0.11","to":"198.18.0.12","port":539,"packets":["4c50…"]}'
 */
const { createSocket } = require('node:dgram');

const a = JSON.parse(process.argv[2]);
const sock = createSocket('udp4');
sock.bind({ address: a.from, port: a.port }, async () => {
  let sent = 0;
  for (const hex of a.packets) {
    await new Promise((r) => sock.send(Buffer.from(hex, 'hex'), a.port, a.to, () => r()));
    sent++;
  }
  sock.close();
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
});
