/**
 * A unix datagram listener for tests: a fake NOTIFY_SOCKET or /dev/log. Node cannot bind AF_UNIX datagram
 * sockets, so a small python3 program (on every test machine) binds `path` and prints each datagram on a
 * line, newlines inside a datagram shown as `|`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { until } from './until';

const PROGRAM = [
  'import socket, sys',
  's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
  's.bind(sys.argv[1])',
  'print("ready", flush=True)',
  'n, i = int(sys.argv[2]), 0',
  'while n <= 0 or i < n:',
  '    print(s.recv(65536).decode(errors="replace").replace("\\n", "|"), flush=True)',
  '    i += 1',
].join('\n');

/** A running listener. */
export interface DatagramListener {
  /** Every datagram received so far, in order. */
  readonly lines: string[];
  /** Resolves once the socket is bound. */
  readonly ready: Promise<void>;
  /** Resolves when the listener has exited (after `count` datagrams, or close()). */
  readonly exited: Promise<void>;
  /** Waits until `pred(lines)` holds; the timeout error shows the lines. */
  until(what: string, pred: (lines: string[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Stops the listener. */
  close(): void;
  readonly process: ChildProcess;
}

/** Binds a datagram socket at `path`; with `count`, exits after that many datagrams. */
export function datagramListener(path: string, o: { count?: number } = {}): DatagramListener {
  const py = spawn('python3', ['-u', '-c', PROGRAM, path, String(o.count ?? 0)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buf = '';
  let isBound = false;
  let bound!: () => void;
  const ready = new Promise<void>((r) => {
    bound = r;
  });
  py.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const p of parts) {
      if (!isBound && p === 'ready') {
        isBound = true;
        bound();
      } else lines.push(p);
    }
  });
  const exited = new Promise<void>((r) => py.once('close', () => r()));
  return {
    lines,
    ready,
    exited,
    process: py,
    until: async (what, pred, timeoutMs = 5000) => {
      await until(what, () => pred(lines), {
        timeoutMs,
        everyMs: 10,
        detail: () => `got ${JSON.stringify(lines)}`,
      });
    },
    close: () => {
      if (py.exitCode === null && py.signalCode === null) py.kill();
    },
  };
}
