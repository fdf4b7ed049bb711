/**
 * A controllable server for the nanny's connection tests (RST close, HTTP keep-alive), run inside a server
 * namespace: `node --import tsx conn-server.ts <bindAddress>`. Prints `ready`, then answers one JSON line
 * per command read on stdin:
 *   stats      → { conns, ends: { reset, fin } } per port since the last `stats`
 *   kill-idle  → closes every open connection of port 8080 with a FIN (a server-side idle timeout)
 *   stop       → closes port 8080's listener and resets its connections (the service dies); `start` again
 *   hang       → port 8080 stops answering requests (until `unhang`)
 * Ports: 8080 HTTP (replies 200 with Content-Length; keeps the connection when the request asks for
 * keep-alive, `GET /close` always closes); 8081 replies `HTTP/1.0 200 OK` to anything and keeps the
 * connection open (so only the prober can end it, and we see how).
 */
import { createInterface } from 'node:readline';
import { type Server, type Socket, createServer } from 'node:net';

const bind = process.argv[2] ?? '198.18.1.21';
type Stats = { conns: number; ends: { reset: number; fin: number } };
const stats: Record<number, Stats> = {};
const fresh = (): Stats => ({ conns: 0, ends: { reset: 0, fin: 0 } });
const open = new Set<Socket>();
let hang = false;

function track(port: number, c: Socket): void {
  stats[port] ??= fresh();
  stats[port].conns++;
  let ended = false;
  c.on('error', (e: NodeJS.ErrnoException) => {
    if (!ended && e.code === 'ECONNRESET') stats[port]!.ends.reset++;
    ended = true;
  });
  c.on('end', () => {
    if (!ended) stats[port]!.ends.fin++;
    ended = true;
    c.end();
  });
}

function http(c: Socket): void {
  track(8080, c);
  open.add(c);
  c.on('close', () => open.delete(c));
  c.on('data', (d: Buffer) => {
    if (hang) return;
    const keep = d.includes('keep-alive') && !d.toString('latin1').startsWith('GET /close');
    const head = `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: ${keep ? 'keep-alive' : 'close'}\r\n\r\n`;
    if (keep) c.write(`${head}ok`);
    else c.end(`${head}ok`);
  });
}

let s8080: Server = createServer(http);
const s8081 = createServer((c) => {
  track(8081, c);
  c.on('data', () => c.write('HTTP/1.0 200 OK\r\n\r\n'));
});

const listen = (s: Server, port: number) => new Promise<void>((r) => s.listen(port, bind, () => r()));

async function main(): Promise<void> {
  await listen(s8080, 8080);
  await listen(s8081, 8081);
  console.log('ready');
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = line.trim();
    if (cmd === 'stats') {
      console.log(JSON.stringify({ 8080: stats[8080] ?? fresh(), 8081: stats[8081] ?? fresh() }));
      stats[8080] = fresh();
      stats[8081] = fresh();
    } else if (cmd === 'kill-idle') {
      for (const c of open) c.end();
      console.log('{}');
    } else if (cmd === 'stop') {
      s8080.close();
      for (const c of open) c.resetAndDestroy();
      console.log('{}');
    } else if (cmd === 'start') {
      s8080 = createServer(http);
      await listen(s8080, 8080);
      console.log('{}');
    } else if (cmd === 'hang' || cmd === 'unhang') {
      hang = cmd === 'hang';
      console.log('{}');
    }
  }
}

void main();
