/**
 * Worker-thread host for the heartbeat (`heartbeat.worker = thread`): the engine on its own event loop and
 * heap, in the daemon's process. Protocol: host.ts.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { type HostCommand, type HostInit, runHost } from './host.js';

if (!isMainThread && (workerData as HostInit | undefined)?.lvsPulseHeartbeat) {
  const port = parentPort!;
  runHost(workerData as HostInit, {
    post: (m) => port.postMessage(m),
    onCommand: (h) => port.on('message', (c: HostCommand) => h(c)),
    close: () => port.close(),
  });
}
