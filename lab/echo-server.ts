/**
 * The connection-survival workload's real-server side: a TCP line echo that answers every line with its
 * own name and the line (`rs2 c17:42`), so the client can tell which real server holds each connection.
 * The VM lab's `traffic.cjs line-server` (answers `NAME`) speaks the same to the client: the first word of
 * a reply is the server. Usage: echo-server NAME [PORT] [ADDRESS]
 */
import { createServer } from 'node:net';

const [name = 'rs', port = '7000', address = '0.0.0.0'] = process.argv.slice(2);
const server = createServer((sock) => {
  sock.setNoDelay(true);
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let i = buf.indexOf('\n');
    let out = '';
    while (i >= 0) {
      out += `${name} ${buf.slice(0, i)}\n`;
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
    }
    if (out) sock.write(out);
    if (buf.length > 4096) sock.destroy();
  });
  sock.on('error', () => {});
});
server.listen(Number(port), address, () => {
  process.stdout.write(`listening ${name} ${address}:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
