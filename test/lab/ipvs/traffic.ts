/**
 * Lab traffic helper, run inside a namespace: `traffic.ts http URL COUNT CONCURRENCY` makes COUNT HTTP
 * requests (a new TCP connection each) and prints {"counts":{name:n},"failed":n} as JSON;
 * `traffic.ts line-server NAME PORT` answers every line received with NAME (long-lived connections);
 * `traffic.ts hold HOST PORT` opens ONE connection and, for every line on stdin, sends it and prints the reply.
 */
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

const [mode, ...args] = process.argv.slice(2);

function one(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve(body.trim()));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function http(url: string, count: number, concurrency: number): Promise<void> {
  const counts: Record<string, number> = {};
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const who = await one(url);
      if (who === undefined) failed++;
      else counts[who] = (counts[who] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  process.stdout.write(`${JSON.stringify({ counts, failed })}\n`);
}

if (mode === 'http') {
  void http(args[0] as string, Number(args[1] ?? 100), Number(args[2] ?? 10));
} else if (mode === 'line-server') {
  const [name = 'rs', port = '7000'] = args;
  const srv = createServer((sock) => {
    createInterface({ input: sock }).on('line', () => sock.write(`${name}\n`));
    sock.on('error', () => {});
  });
  srv.listen(Number(port), '0.0.0.0', () => process.stdout.write(`listening ${name} ${port}\n`));
} else if (mode === 'hold') {
  const sock = connect(Number(args[1]), args[0] as string);
  sock.on('connect', () => process.stdout.write('connected\n'));
  createInterface({ input: sock }).on('line', (l) => process.stdout.write(`${l}\n`));
  createInterface({ input: process.stdin }).on('line', (l) => sock.write(`${l}\n`));
  sock.on('error', (e) => {
    process.stdout.write(`error ${e.message}\n`);
    process.exit(1);
  });
  sock.on('close', () => process.exit(0));
} else {
  process.stderr.write('usage: traffic.ts http URL COUNT CONC | line-server NAME PORT | hold HOST PORT\n');
  process.exit(2);
}
