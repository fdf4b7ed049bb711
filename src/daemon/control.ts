/**
 * The control socket edge: a unix stream socket in the run directory, speaking the line protocol of
 * ./protocol.ts. A malformed or oversized request gets an error reply; a handler that throws gets an error
 * reply; nothing here can take the daemon down.
 *
 * Who may connect (issue 17): the kernel's record of the caller (SO_PEERCRED, read on accept) decides, by
 * the grant table of ./access.ts: root everything, the console's account its few commands, anyone else
 * nothing. The files are made so that only those two can reach the socket at all:
 * - the run directory must be a real directory (not a symlink), owned by the daemon's user and not
 *   writable by group or others, else the daemon refuses to start (whoever could write there could replace
 *   the socket); it is then set, through its descriptor, to 0700, or 0710 with the console's group;
 * - the socket is created with its final mode by the umask around bind (0600, or 0660 for the console's
 *   group set with lchown), never chmod'ed through its path afterwards (a path can be a planted symlink);
 *   after bind its path must still be our socket, else listen fails.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  unlinkSync,
} from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { join } from 'node:path';
import { daemonLibc } from '../lib/libc';
import type { Log } from '../lib/log';
import { type AccessPolicy, type Caller, refusal, roleOf } from './access';
import { type ControlCommand, type ControlReply, LineSplitter, parseRequest } from './protocol';

/** The control socket's file name inside the run directory. */
export const SOCKET_NAME = 'pulse.sock';

/** What the control socket serves: the daemon implements it (tests pass a stub). */
export interface ControlHandler {
  /** Runs an authorised command; `caller` is who asked (for the audit log). */
  handle(cmd: ControlCommand, caller: Caller): Promise<unknown>;
  /** Subscribes to live events; returns an unsubscribe function. */
  subscribe(send: (event: unknown) => void): () => void;
}

/** The listening control socket: one request per line, one reply per line; `events` streams. */
export class ControlServer {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  readonly path: string;

  /**
   * @param runDir the run directory (must exist; see the file header for what it must be)
   * @param policy who may do what (./access.ts); its console account also gets group access to the socket
   */
  constructor(
    readonly runDir: string,
    private readonly handler: ControlHandler,
    private readonly log: Log,
    private readonly policy: AccessPolicy = { configPath: '' },
    /** Reads a connection's caller (default: SO_PEERCRED); tests may inject one. */
    private readonly credentials: (sock: Socket) => Caller | undefined = peerCredentials,
  ) {
    this.path = join(runDir, SOCKET_NAME);
  }

  /**
   * Checks and fixes the run directory, creates the socket with its final mode and starts serving.
   * @throws when the run directory is unsafe, or the socket path does not hold our socket after bind.
   */
  async listen(): Promise<void> {
    // Created when missing (mode 0700); an existing one is checked as it is.
    mkdirSync(this.runDir, { recursive: true, mode: 0o700 });
    const wanted = this.policy.console?.gid;
    const grouped = secureRunDir(this.runDir, wanted);
    if (wanted !== undefined && !grouped)
      this.log.warn('cannot give the console user access to the control socket: root only', {
        op: 'control',
        user: this.policy.console?.name,
        error: 'EPERM on chown (the daemon lacks CAP_CHOWN)',
      });
    const group = grouped ? wanted : undefined;
    try {
      const st = lstatSync(this.path);
      if (st.isDirectory()) throw new Error(`${this.path} is a directory: remove it`);
      unlinkSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const server = createServer((sock) => this.accept(sock));
    this.server = server;
    const listening = new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        resolve();
      });
    });
    // bind() runs inside listen(), synchronously: the socket file is born with mode 0777 & ~umask.
    const umask = process.umask(group === undefined ? 0o177 : 0o117);
    try {
      server.listen(this.path);
    } finally {
      process.umask(umask);
    }
    try {
      // lchown never follows a symlink; nobody but us can write in the (checked) run directory anyway.
      if (group !== undefined) lchownSync(this.path, process.geteuid?.() ?? 0, group);
      await listening;
      const st = lstatSync(this.path);
      const euid = process.geteuid?.() ?? 0;
      if (!st.isSocket() || st.uid !== euid)
        throw new Error(`${this.path} was replaced while the control socket was being created`);
    } catch (e) {
      server.close();
      this.server = undefined;
      throw e;
    }
    server.on('error', (err) => this.log.error('control socket error', { error: err.message }));
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    sock.setEncoding('utf8');
    const caller = this.credentials(sock);
    const role = roleOf(caller, this.policy);
    if (typeof role !== 'string') {
      this.log.warn('control connection refused', {
        op: 'control',
        uid: caller?.uid,
        pid: caller?.pid,
        error: role.error,
      });
      sock.end(`${JSON.stringify({ ok: false, error: role.error } satisfies ControlReply)}\n`);
      sock.on('close', () => this.sockets.delete(sock));
      sock.on('error', () => this.sockets.delete(sock));
      return;
    }
    const who = caller as Caller;
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
        const denied = refusal(role, req, this.policy);
        if (denied !== undefined) {
          this.log.warn('control command refused', { op: req.cmd, uid: who.uid, pid: who.pid });
          reply({ ok: false, error: denied });
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
        this.handler.handle(req, who).then(
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

/** The caller of a unix socket connection (SO_PEERCRED on its descriptor); undefined when unreadable. */
export function peerCredentials(sock: Socket): Caller | undefined {
  // net.Socket keeps its descriptor on the libuv handle; Node has no public API for it.
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  try {
    const c = daemonLibc().peerCred(fd);
    return 'errno' in c ? undefined : c;
  } catch {
    return undefined;
  }
}

/**
 * Refuses a run directory that others could tamper with, then sets its mode through its descriptor:
 * 0700, or 0710 with `group` (so the console's account can reach the socket, and list nothing).
 * @returns whether `group` was applied (false without one, or when chown is not permitted: then 0700).
 * @throws naming the directory and what is wrong with it.
 */
export function secureRunDir(dir: string, group?: number): boolean {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      const link = (() => {
        try {
          return lstatSync(dir).isSymbolicLink();
        } catch {
          return false;
        }
      })();
      throw new Error(`run directory ${dir} is ${link ? 'a symlink' : 'not a directory'}: refusing to start`);
    }
    throw new Error(`run directory ${dir}: ${code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    const euid = process.geteuid?.() ?? 0;
    if (st.uid !== euid)
      throw new Error(
        `run directory ${dir} is owned by uid ${st.uid}, not by the daemon's uid ${euid}: refusing to start`,
      );
    if ((st.mode & 0o022) !== 0)
      throw new Error(
        `run directory ${dir} is writable by ${st.mode & 0o020 ? 'its group' : 'others'} (mode ${(st.mode & 0o7777).toString(8)}): refusing to start`,
      );
    let grouped = false;
    if (group !== undefined)
      try {
        fchownSync(fd, euid, group);
        grouped = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
      }
    fchmodSync(fd, grouped ? 0o710 : 0o700);
    return grouped;
  } finally {
    closeSync(fd);
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
