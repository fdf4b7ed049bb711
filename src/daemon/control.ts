/**
 * The control socket edge: a unix stream socket in the run directory, mode 0600 (root-only when the
 * daemon runs as root), speaking the line protocol of ./protocol.ts. A malformed or oversized request gets
 * an error reply; a handler that throws gets an error reply; nothing here can take the daemon down.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { join } from 'node:path';
import type { Log } from '../lib/log';
import { type ControlCommand, type ControlReply, LineSplitter, parseRequest } from './protocol';

/** The control socket's file name inside the run directory. */
export const SOCKET_NAME = 'pulse.sock';

/** What the control socket serves: the daemon implements it (tests pass a stub). */
export interface ControlHandler {
  handle(cmd: ControlCommand): Promise<unknown>;
  /** Subscribes to live events; returns an unsubscribe function. */
  subscribe(send: (event: unknown) => void): () => void;
}

/** The listening control socket: one request per line, one reply per line; `events` streams. */
export class ControlServer {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  readonly path: string;

  constructor(
    runDir: string,
    private readonly handler: ControlHandler,
    private readonly log: Log,
  ) {
    this.path = join(runDir, SOCKET_NAME);
  }

  async listen(): Promise<void> {
    const dir = join(this.path, '..');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (existsSync(this.path)) unlinkSync(this.path);
    const server = createServer((sock) => this.accept(sock));
    this.server = server;
    // Created with a restrictive umask-independent mode right after bind.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.path, 0o600);
    server.on('error', (err) => this.log.error('control socket error', { error: err.message }));
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    sock.setEncoding('utf8');
    const split = new LineSplitter();
    let unsubscribe: (() => void) | undefined;
    const reply = (r: ControlReply) => {
      if (!sock.destroyed) sock.write(`${JSON.stringify(r)}\n`);
    };
    sock.on('data', (chunk: string) => {
      const lines = split.push(chunk);
      if (lines === 'overflow') {
        reply({ ok: false, error: 'request too large' });
        sock.end();
        return;
      }
      for (const line of lines) {
        const req = parseRequest(line);
        if ('error' in req) {
          reply({ ok: false, error: req.error });
          continue;
        }
        if (req.cmd === 'events') {
          reply({ ok: true, result: 'following' });
          unsubscribe?.();
          unsubscribe = this.handler.subscribe((ev) => {
            if (!sock.destroyed) sock.write(`${JSON.stringify(ev)}\n`);
          });
          continue;
        }
        this.handler.handle(req).then(
          (result) => reply({ ok: true, result }),
          (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.message : String(err) }),
        );
      }
    });
    const done = () => {
      unsubscribe?.();
      this.sockets.delete(sock);
    };
    sock.on('close', done);
    sock.on('error', done);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      /* gone */
    }
  }
}

/** Client side: sends one request and resolves with the first reply line. */
export function request(
  runDir: string,
  cmd: string,
  args?: Record<string, unknown>,
  timeoutMs = 10000,
): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    const split = new LineSplitter(16 << 20);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply from ${join(runDir, SOCKET_NAME)} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot talk to the daemon at ${join(runDir, SOCKET_NAME)}: ${err.message}`));
    });
    sock.on('data', (chunk: string) => {
      const lines = split.push(chunk);
      if (lines === 'overflow' || lines.length === 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        resolve(JSON.parse(lines[0]!) as ControlReply);
      } catch {
        reject(new Error('malformed reply from daemon'));
      }
    });
    sock.connect(join(runDir, SOCKET_NAME), () => sock.write(`${JSON.stringify({ cmd, args })}\n`));
  });
}

/** Client side: follows the `events` stream, calling onEvent per event, until the returned stop() or EOF. */
export function followEvents(
  runDir: string,
  onEvent: (ev: unknown) => void,
): Promise<void> & { stop(): void } {
  const sock = new Socket();
  const p = new Promise<void>((resolve, reject) => {
    const split = new LineSplitter(16 << 20);
    let first = true;
    sock.setEncoding('utf8');
    sock.on('error', (err) => reject(new Error(`cannot talk to the daemon: ${err.message}`)));
    sock.on('close', () => resolve());
    sock.on('data', (chunk: string) => {
      const lines = split.push(chunk);
      if (lines === 'overflow') return;
      for (const l of lines) {
        if (first) {
          first = false;
          continue;
        }
        try {
          onEvent(JSON.parse(l));
        } catch {
          /* skip malformed */
        }
      }
    });
    sock.connect(join(runDir, SOCKET_NAME), () => sock.write('{"cmd":"events"}\n'));
  }) as Promise<void> & { stop(): void };
  p.stop = () => sock.destroy();
  return p;
}
