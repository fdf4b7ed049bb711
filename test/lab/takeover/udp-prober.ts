/**
 * A client-side prober for bench/vip-answer-latency.ts: sends one UDP datagram to ADDR:PORT every
 * millisecond, whatever happens to the replies (no back-off, unlike ping), and prints the wall-clock time
 * (ms, µs resolution) of every reply on stdout.
 *   node --import tsx udp-prober.ts ADDR PORT
 */
import { createSocket } from 'node:dgram';

const [addr, port] = [process.argv[2]!, Number(process.argv[3] ?? 7777)];
const wallMs = (): number => performance.timeOrigin + performance.now();
const sock = createSocket('udp4');
sock.on('message', () => process.stdout.write(`${wallMs().toFixed(3)}\n`));
sock.on('error', () => {}); // ICMP errors (unreachable) while nobody holds the VIP: keep going
const payload = Buffer.alloc(8);
setInterval(() => sock.send(payload, port, addr, () => {}), 1);
