/**
 * A tiny HTTP server for the lab's real servers: answers every request with its own name, so the client
 * can tell which real server served it. Usage: whoami-server NAME [PORT] [ADDRESS]
 */
import { createServer } from 'node:http';

const [name = 'rs', port = '80', address = '0.0.0.0'] = process.argv.slice(2);
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': name, connection: 'close' });
  res.end(`${name}\n`);
});
server.keepAliveTimeout = 0;
server.listen(Number(port), address, () => {
  process.stdout.write(`listening ${name} ${address}:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
