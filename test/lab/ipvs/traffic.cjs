'use strict';
/**
 * Lab/VM traffic helper, plain CommonJS so it starts fast (also under qemu TCG), run inside a namespace:
 *   traffic.cjs http URL COUNT CONCURRENCY  → COUNT HTTP requests, a new connection each; prints
 *                                             {"counts":{name:n},"failed":n}
 *   traffic.cjs http-server NAME PORT       → answers every HTTP request with NAME
 *   traffic.cjs line-server NAME PORT       → answers every line received with NAME (long-lived connections)
 *   traffic.cjs hold HOST PORT              → ONE connection; each stdin line is sent, each reply printed
 */
const http = require('node:http');
const net = require('node:net');
const readline = require('node:readline');

const [mode, ...args] = process.argv.slice(2);

function one(url) {
  return new Promise((resolve) => {
    const req = http.request(url, { agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c.toString();
      });
      res.on('end', () => resolve(body.trim()));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function load(url, count, concurrency) {
  const counts = {};
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const who = await one(url);
      if (who === undefined) failed++;
      else counts[who] = (counts[who] || 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  process.stdout.write(`${JSON.stringify({ counts, failed })}\n`);
}

if (mode === 'http') {
  load(args[0], Number(args[1] || 100), Number(args[2] || 10));
} else if (mode === 'http-server') {
  const [name = 'rs', port = '80'] = args;
  const srv = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`${name}\n`);
  });
  srv.keepAliveTimeout = 0;
  srv.listen(Number(port), '0.0.0.0', () => process.stdout.write(`listening ${name} ${port}\n`));
} else if (mode === 'line-server') {
  const [name = 'rs', port = '7000'] = args;
  const srv = net.createServer((sock) => {
    readline.createInterface({ input: sock }).on('line', () => sock.write(`${name}\n`));
    sock.on('error', () => {});
  });
  srv.listen(Number(port), '0.0.0.0', () => process.stdout.write(`listening ${name} ${port}\n`));
} else if (mode === 'hold') {
  const sock = net.connect(Number(args[1]), args[0]);
  sock.on('connect', () => process.stdout.write('connected\n'));
  readline.createInterface({ input: sock }).on('line', (l) => process.stdout.write(`${l}\n`));
  readline.createInterface({ input: process.stdin }).on('line', (l) => sock.write(`${l}\n`));
  sock.on('error', (e) => {
    process.stdout.write(`error ${e.message}\n`);
    process.exit(1);
  });
  sock.on('close', () => process.exit(0));
} else {
  process.stderr.write(
    'usage: traffic.cjs http URL COUNT CONC | http-server NAME PORT | line-server NAME PORT | hold HOST PORT\n',
  );
  process.exit(2);
}
