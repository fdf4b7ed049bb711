/**
 * Lab servers for nanny probe tests, run inside a server namespace:
 *   node --import tsx servers.ts <bindAddress> <certFile> <keyFile>
 * Prints `ready` once every listener is up. Ports (all on bindAddress):
 *   tcp 7001 send/expect (answers "HTTP/1.0 200 OK…")  7002 hang  7003 reset on data  7004 garbage on connect
 *   http 8080 (/ 200 echoing Host, /bad 503, /weight X-Weight: 7, /load "0.20 0.10 0.05")  8081 hangs
 *   8082 garbage reply   https 8443 (self-signed, body echoes SNI and Host)
 *   udp 5300 DNS (rs1.lab A 198.18.1.21, else NXDOMAIN)  5301 DNS garbage  5302 DNS silent
 *   udp 6001 echo "PONG <msg>"  6002 silent
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer as httpServer } from 'node:http';
import { createServer as httpsServer } from 'node:https';
import { type Socket, createServer as tcpServer } from 'node:net';
import type { TLSSocket } from 'node:tls';

const [bind = '198.18.1.21', certFile, keyFile] = process.argv.slice(2);
const waits: Promise<void>[] = [];

function tcp(port: number, onConn: (c: Socket) => void): void {
  const s = tcpServer(onConn);
  waits.push(new Promise((r) => s.listen(port, bind, () => r())));
}

tcp(7001, (c) => {
  c.on('error', () => {});
  c.once('data', () => c.end('HTTP/1.0 200 OK\r\nServer: lab\r\n\r\nhello'));
});
tcp(7002, (c) => {
  c.on('error', () => {}); // hold it open, say nothing
});
tcp(7003, (c) => {
  c.on('error', () => {});
  c.once('data', () => c.resetAndDestroy());
});
tcp(7004, (c) => {
  c.on('error', () => {});
  c.end(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x47, 0x41, 0x52, 0x42]));
});
tcp(8082, (c) => {
  c.on('error', () => {});
  c.once('data', () => c.end('\x00\x01garbage that is not HTTP\r\n\r\n'));
});

const h = httpServer((req, res) => {
  if (req.url === '/bad') {
    res.writeHead(503).end('down for maintenance');
  } else if (req.url === '/weight') {
    res.writeHead(200, { 'X-Weight': '7' }).end('ok');
  } else if (req.url === '/load') {
    res.writeHead(200).end('0.20 0.10 0.05\n');
  } else res.writeHead(200).end(`hello host=${req.headers.host}`);
});
waits.push(new Promise((r) => h.listen(8080, bind, () => r())));
const hang = httpServer(() => {
  /* never answers */
});
waits.push(new Promise((r) => hang.listen(8081, bind, () => r())));
if (certFile && keyFile) {
  const s = httpsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
    res.writeHead(200).end(`sni=${(req.socket as TLSSocket).servername} host=${req.headers.host}`);
  });
  waits.push(new Promise((r) => s.listen(8443, bind, () => r())));
}

function udp(port: number, onMsg: (msg: Buffer, reply: (b: Buffer) => void) => void): void {
  const s = createSocket('udp4');
  s.on('message', (msg, rinfo) => onMsg(msg, (b) => s.send(b, rinfo.port, rinfo.address)));
  waits.push(new Promise((r) => s.bind(port, bind, () => r())));
}

/** Minimal DNS responder: one question, A record for rs1.lab, NXDOMAIN otherwise. */
function dnsAnswer(q: Buffer): Buffer | undefined {
  if (q.length < 17) return undefined;
  let i = 12;
  const labels: string[] = [];
  while (i < q.length && q[i] !== 0) {
    const len = q[i]!;
    labels.push(q.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += len + 1;
  }
  const qEnd = i + 5; // zero byte + qtype + qclass
  if (qEnd > q.length) return undefined;
  const qtype = q.readUInt16BE(i + 1);
  const name = labels.join('.').toLowerCase();
  const found = name === 'rs1.lab' && qtype === 1;
  const header = Buffer.alloc(12);
  q.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180 | (name === 'rs1.lab' ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(found ? 1 : 0, 6);
  const question = q.subarray(12, qEnd);
  if (!found) return Buffer.concat([header, question]);
  const ans = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 1, 21]);
  return Buffer.concat([header, question, ans]);
}

udp(5300, (m, reply) => {
  const a = dnsAnswer(m);
  if (a) reply(a);
});
udp(5301, (m, reply) => reply(Buffer.concat([m.subarray(0, 2), Buffer.from('\xff\xff garbage', 'latin1')])));
udp(5302, () => {});
udp(6001, (m, reply) => reply(Buffer.concat([Buffer.from('PONG '), m])));
udp(6002, () => {});

Promise.all(waits).then(
  () => console.log('ready'),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
