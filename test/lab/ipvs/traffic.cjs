'use strict';
/**
 * Lab/VM traffic helper, plain CommonJS so it starts fast (also under qemu TCG), run inside a namespace:
 *   traffic.cjs http URL COUNT CONCURRENCY  → COUNT HTTP requests, a new connection each; prints
 *                                             {"counts":{name:n},"failed":n}
 *   traffic.cjs http-server NAME PORT       → answers every HTTP request with NAME
 *   traffic.cjs line-server NAME PORT       → answers every line received with NAME (long-lived connections)
 *   traffic.cjs hold HOST PORT              → ONE connection; each stdin line is sent, each reply printed
 *   traffic.cjs servers NAME HTTP LINE      → http-server and line-server in one process
 *   traffic.cjs agent                       → one client process driven by stdin commands, one JSON line per
 *                                             command: `http URL COUNT CONC`, `open HOST PORT`, `ping`, `close`
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

async function load(url, count, concurrency, print = true) {
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
  if (print) process.stdout.write(`${JSON.stringify({ counts, failed })}\n`);
  return { counts, failed };
}

function httpServer(name, port) {
  const srv = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`${name}\n`);
  });
  srv.keepAliveTimeout = 0;
  return new Promise((resolve) => srv.listen(Number(port), '0.0.0.0', resolve));
}

function lineServer(name, port) {
  const srv = net.createServer((sock) => {
    readline.createInterface({ input: sock }).on('line', () => sock.write(`${name}\n`));
    sock.on('error', () => {});
  });
  return new Promise((resolve) => srv.listen(Number(port), '0.0.0.0', resolve));
}

function agent() {
  let sock;
  let pending = [];
  const reply = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const queue = [];
  let busy = false;
  const handle = async (line) => {
    const [cmd, a, b, c] = line.trim().split(/\s+/);
    if (cmd === 'http') return reply(await load(a, Number(b), Number(c || 8), false));
    if (cmd === 'open') {
      sock = net.connect(Number(b), a);
      readline.createInterface({ input: sock }).on('line', (l) => pending.shift()?.(l));
      sock.on('error', (e) => pending.shift()?.(`error ${e.message}`));
      await new Promise((resolve) => sock.once('connect', resolve));
      return reply({ connected: true });
    }
    if (cmd === 'ping') {
      const got = await new Promise((resolve) => {
        pending.push(resolve);
        sock.write('ping\n');
      });
      return reply({ reply: got });
    }
    if (cmd === 'close') {
      sock?.destroy();
      pending = [];
      return reply({ closed: true });
    }
    return reply({ error: `unknown command ${cmd}` });
  };
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    queue.push(line);
    if (busy) return;
    busy = true;
    (async () => {
      while (queue.length) await handle(queue.shift());
      busy = false;
    })();
  });
  process.stdin.on('end', () => process.exit(0));
  reply({ ready: true });
}

if (mode === 'http') {
  load(args[0], Number(args[1] || 100), Number(args[2] || 10));
} else if (mode === 'servers') {
  const [name = 'rs', hp = '80', lp = '7000'] = args;
  Promise.all([httpServer(name, hp), lineServer(name, lp)]).then(() =>
    process.stdout.write(`listening ${name}\n`),
  );
} else if (mode === 'agent') {
  agent();
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
