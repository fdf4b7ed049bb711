/**
 * The connection-survival client (lab/survival.ts holds the records' meaning and the checker): ONE process
 * holding every connection, each sending a short line every INTERVAL ms once its previous line was echoed.
 * Driven over stdin, one JSON line per command on stdout:
 *   open N INTERVAL     → {"opened":N}   (connections started 2 ms apart)
 *   ready N TIMEOUT_MS  → {"ready":k}    (once k = N are established and echoed once, or at the timeout)
 *   report              → {"conns":[ConnRecord…]}
 *   stop                → {"conns":[…]} then exit (connections closed by us are not "ended")
 * Usage (inside the client namespace): survival-client HOST PORT
 */
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { ConnRecord } from './survival';

const [host = '198.18.0.10', portText = '7000'] = process.argv.slice(2);
const port = Number(portText);

interface Conn {
  rec: ConnRecord;
  sock: Socket;
  seq: number;
  waiting: boolean;
  lastMark: number;
  timer?: ReturnType<typeof setTimeout>;
}
const conns: Conn[] = [];
let interval = 20;
let stopping = false;

function open(id: number): void {
  const sock = connect({ host, port });
  sock.setNoDelay(true);
  const rec: ConnRecord = {
    id,
    port: 0,
    establishedAt: 0,
    servers: [],
    echoed: 0,
    maxGapMs: 0,
    maxGapEndAt: 0,
    lastEchoAt: 0,
  };
  const c: Conn = { rec, sock, seq: 0, waiting: false, lastMark: 0 };
  conns.push(c);
  const send = () => {
    if (stopping || rec.endedAt !== undefined) return;
    c.waiting = true;
    sock.write(`c${id}:${++c.seq}\n`);
  };
  sock.on('connect', () => {
    rec.port = sock.localPort ?? 0;
    rec.establishedAt = Date.now();
    rec.lastEchoAt = rec.establishedAt;
    c.lastMark = rec.establishedAt;
    send();
  });
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
      const server = line.split(' ')[0] ?? '';
      if (server && rec.servers[rec.servers.length - 1] !== server) rec.servers.push(server);
      const at = Date.now();
      const gap = at - c.lastMark;
      if (gap > rec.maxGapMs) {
        rec.maxGapMs = gap;
        rec.maxGapEndAt = at;
      }
      c.lastMark = at;
      rec.lastEchoAt = at;
      rec.echoed++;
      c.waiting = false;
      // The next line INTERVAL after this echo (one outstanding line per connection).
      c.timer = setTimeout(send, interval);
    }
  });
  const ended = (why: string) => {
    if (stopping || rec.endedAt !== undefined) return;
    rec.endedAt = Date.now();
    rec.error = why;
    if (c.timer) clearTimeout(c.timer);
  };
  sock.on('error', (e: NodeJS.ErrnoException) => ended(e.code ?? e.message));
  sock.on('close', () => ended('closed by the far end'));
}

const reply = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function ready(n: number, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const k = conns.filter((c) => c.rec.echoed > 0 && c.rec.endedAt === undefined).length;
    if (k >= n || Date.now() > end) return k;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const [cmd, a, b] = line.trim().split(/\s+/);
  if (cmd === 'open') {
    const n = Number(a);
    interval = Number(b ?? 20);
    for (let i = 0; i < n; i++) {
      open(conns.length + 1);
      await new Promise((r) => setTimeout(r, 2));
    }
    reply({ opened: n });
  } else if (cmd === 'ready') reply({ ready: await ready(Number(a), Number(b ?? 30000)) });
  else if (cmd === 'report') reply({ conns: conns.map((c) => c.rec) });
  else if (cmd === 'stop') {
    const snapshot = conns.map((c) => ({ ...c.rec, servers: [...c.rec.servers] }));
    stopping = true;
    for (const c of conns) {
      if (c.timer) clearTimeout(c.timer);
      c.sock.destroy();
    }
    reply({ conns: snapshot });
    setTimeout(() => process.exit(0), 20);
  } else reply({ error: `unknown command ${cmd}` });
});
reply({ ready: 0, pid: process.pid });
