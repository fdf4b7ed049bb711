#!/usr/bin/env node
/**
 * `pulse-web`: the web console, a companion of `pulse` that talks to it over its control socket.
 *   pulse-web --set-password              set the console password (there is no default)
 *   pulse-web [--listen 127.0.0.1:3636] [--tls-cert C --tls-key K] [--config FILE]
 * It runs as its own user (lvs-pulse in the systemd unit), never needs root: the daemon's control socket
 * grants that user the console's commands only, and the file it edits cannot name programs root runs.
 */
import { parseOrExit } from './args';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../daemon/logging';
import {
  DEFAULT_HOST,
  DEFAULT_PORT,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  PasswordFileError,
  startWeb,
  WebOptionsError,
  writePasswordFile,
} from '../web';

/** Where `--set-password` writes the console password hash by default. */
export const DEFAULT_PASSWORD_FILE = '/etc/lvs-pulse/web.passwd';

/** Parses `HOST:PORT`, `[V6]:PORT` or `PORT`. */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v) ?? /^()()(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, [IPv6]:PORT or PORT');
  return { host: m[1] || m[2] || DEFAULT_HOST, port };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `--owner USER|UID[:GID]` → uid and gid (a name through `id`, which asks NSS as the system does). */
export function resolveOwner(v: string): { uid: number; gid: number } {
  const num = /^(\d+)(?::(\d+))?$/.exec(v);
  if (num) return { uid: Number(num[1]), gid: Number(num[2] ?? num[1]) };
  if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(v))
    throw new InvalidArgumentError('expected a user name or UID[:GID]');
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, v], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new InvalidArgumentError(`no user ${v}`);
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Reads the new password: twice, hidden, from a terminal; one line from a pipe. */
async function readNewPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const line = readFileSync(0, 'utf8').split('\n')[0] ?? '';
    return line.replace(/\r$/, '');
  }
  const ask = (q: string) =>
    new Promise<string>((resolve) => {
      const rl = createInterface({ input: stdin, output: process.stderr, terminal: true });
      // Hide typed characters.
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
        if (s.includes(q)) process.stderr.write(s);
      };
      rl.question(q, (a) => {
        rl.close();
        process.stderr.write('\n');
        resolve(a);
      });
    });
  const a = await ask('New console password: ');
  const b = await ask('Again: ');
  if (a !== b) throw new Error('the two passwords differ');
  return a;
}

/** `pulse-web`: parses `argv` and sets the password or serves the console; resolves with the exit code (2 usage). */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('pulse-web')
    .description('web console of lvs-pulse (status, control and configuration), on loopback by default')
    .option('--run-dir <dir>', 'run directory of the daemon (control socket)', '/run/lvs-pulse')
    .option('-f, --config <file>', 'configuration file to edit (default: the one the daemon runs)')
    .option(
      '--listen <addr>',
      `HOST:PORT to listen on (default ${DEFAULT_HOST}:${DEFAULT_PORT})`,
      parseListen,
    )
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'private key of --tls-cert (PEM)')
    .option('--allow-plain-http', 'allow a non-loopback listen address without TLS (passwords in clear!)')
    .option(
      '--allowed-host <name>',
      'a host name the console answers to besides its listen address (repeatable; others get 421)',
      collect,
    )
    .option(
      '--password-file <file>',
      'root-only file with the scrypt hash of the password',
      DEFAULT_PASSWORD_FILE,
    )
    .option(
      '--set-password',
      'set the console password (read twice from the terminal, or a line from stdin), exit',
    )
    .option('--owner <user>', "with --set-password: the console's user, who must own the file", resolveOwner)
    .option(
      '--peer-url <url>',
      "push each saved configuration to the peer router's console (https://PEER:3636)",
    )
    .option('--peer-ca <file>', "certificate (PEM) to trust for the peer's console")
    .option(
      '--push-key <file>',
      'shared push key (pulsectl keygen FILE, the same on both routers; repeatable: the first signs, any verifies)',
      collect,
    )
    .option('--accept-peer-push', 'accept configurations pushed by the peer (https, HMAC with the push key)')
    .option(
      '--peer-address <addr>',
      "source address of the peer's pushes (repeatable; default: the host of --peer-url)",
      collect,
    )
    .option(
      '--accept-program-changes',
      'accept pushes that change program-naming or security-sensitive keys (refused by default)',
    )
    .option('--session-idle <minutes>', 'log out after this long without use', (v) => Number(v), 30)
    .option('--session-max <hours>', 'log out this long after login whatever the use', (v) => Number(v), 8)
    .showHelpAfterError()
    .exitOverride();
  const exit = parseOrExit(program, argv);
  if (exit !== undefined) return exit;
  const o = program.opts<{
    runDir: string;
    config?: string;
    listen?: { host: string; port: number };
    tlsCert?: string;
    tlsKey?: string;
    allowPlainHttp?: boolean;
    passwordFile: string;
    setPassword?: boolean;
    sessionIdle: number;
    sessionMax: number;
    peerUrl?: string;
    peerCa?: string;
    acceptPeerPush?: boolean;
    allowedHost?: string[];
    pushKey?: string[];
    peerAddress?: string[];
    acceptProgramChanges?: boolean;
    owner?: { uid: number; gid: number };
  }>();

  if (o.setPassword) {
    const pw = await readNewPassword();
    if (pw.length < MIN_PASSWORD_LENGTH || pw.length > MAX_PASSWORD_LENGTH) {
      process.stderr.write(
        `pulse-web: the password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters\n`,
      );
      return 2;
    }
    writePasswordFile(o.passwordFile, await hashPassword(pw), o.owner);
    process.stderr.write(
      `pulse-web: password set in ${o.passwordFile} (mode 0600${o.owner ? `, owner uid ${o.owner.uid}` : ''}); ` +
        'every session of a running console ends\n',
    );
    createLogger({ level: 'info' }).info('web: console password set', {
      op: 'set-password',
      file: o.passwordFile,
    });
    return 0;
  }

  if (!!o.tlsCert !== !!o.tlsKey) {
    process.stderr.write('pulse-web: --tls-cert and --tls-key go together\n');
    return 2;
  }
  const { host, port } = o.listen ?? { host: DEFAULT_HOST, port: DEFAULT_PORT };
  if (!isLoopback(host) && !o.tlsCert && !o.allowPlainHttp) {
    process.stderr.write(
      `pulse-web: refusing to listen on ${host} without TLS (the password would cross the network in clear); ` +
        'give --tls-cert and --tls-key, or --allow-plain-http\n',
    );
    return 2;
  }
  if (o.peerUrl && !/^https:\/\/[^/]+\/?$/.test(o.peerUrl)) {
    process.stderr.write(
      'pulse-web: --peer-url must be https://HOST:PORT (the push is accepted over https only)\n',
    );
    return 2;
  }
  // The peer's pushes come from the address its console is pushed to, unless told otherwise.
  const peerHost = o.peerUrl ? new URL(o.peerUrl).hostname.replace(/^\[(.*)\]$/, '$1') : undefined;
  const peerAddresses =
    o.peerAddress ?? (peerHost && /^[0-9a-f:.]+$/i.test(peerHost) ? [peerHost] : undefined);
  if (!(o.sessionIdle > 0) || !(o.sessionMax > 0)) {
    process.stderr.write('pulse-web: --session-idle and --session-max must be positive numbers\n');
    return 2;
  }
  const log = createLogger({ level: 'info' });
  try {
    const web = await startWeb({
      runDir: o.runDir,
      configPath: o.config,
      passwordFile: o.passwordFile,
      host,
      port,
      tls: o.tlsCert ? { cert: readFileSync(o.tlsCert), key: readFileSync(o.tlsKey!) } : undefined,
      sessionIdleMs: o.sessionIdle * 60_000,
      sessionMaxMs: o.sessionMax * 3600_000,
      peer: o.peerUrl ? { url: o.peerUrl, ca: o.peerCa ? readFileSync(o.peerCa) : undefined } : undefined,
      acceptPeerPush: !!o.acceptPeerPush,
      ...(o.allowedHost ? { allowedHosts: o.allowedHost } : {}),
      ...(o.pushKey ? { pushKeyFiles: o.pushKey } : {}),
      ...(peerAddresses ? { peerAddresses } : {}),
      acceptProgramChanges: !!o.acceptProgramChanges,
      log: log.child({ component: 'web' }),
    });
    log.info(`web console listening on ${web.url}`, { op: 'start', url: web.url });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await web.close();
    log.close();
    return 0;
  } catch (err) {
    log.close();
    if (err instanceof PasswordFileError || err instanceof WebOptionsError) {
      process.stderr.write(`pulse-web: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

if (require.main === module) {
  main(process.argv).then(
    (code) => {
      if (code !== 0) process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`pulse-web: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
