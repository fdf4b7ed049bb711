/**
 * Test fixtures for the web console: a FAKE daemon (a real ControlServer in a temp dir whose handler
 * returns a canned status and records every command), a temp config and password file, and a logged-in
 * client for fastify.inject.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { ControlServer } from '../../../src/daemon/control';
import type { AccessPolicy } from '../../../src/daemon/access';
import type { ControlCommand } from '../../../src/daemon/protocol';
import type { StatusJson } from '../../../src/daemon/status';
import { MemoryLog } from '../../../src/lib/log';
import { hashPassword, writePasswordFile } from '../../../src/web/password';
import { buildWeb, SESSION_COOKIE, type Web, type WebOptions } from '../../../src/web/server';

export const PASSWORD = 'correct horse battery staple';
/** A self-signed certificate for 127.0.0.1, ::1 and localhost (test/unit/web/tls, valid until 2126). */
export const TLS = {
  cert: readFileSync(join(__dirname, 'tls/cert.pem')),
  key: readFileSync(join(__dirname, 'tls/key.pem')),
};
/** Cheap scrypt for tests (the real default costs ~100 ms per login). */
export const TEST_SCRYPT = { N: 1024, r: 8, p: 1 };

export function cannedStatus(
  role: StatusJson['role'] = 'active',
  configPath = '/etc/lvs-pulse/lvs.yaml',
): StatusJson {
  return {
    schema: 1,
    role,
    node: 'primary',
    since: '2026-11-25T18:00:00.000Z',
    config: { path: configPath, hash: 'abcdef0123456789abcdef', loaded_at: '2026-11-25T18:00:00.000Z' },
    auth: 'hmac',
    warnings: [],
    peer: {
      address: '198.18.0.12',
      state: role === 'active' ? 'standby' : 'active',
      last_heard_ms: { public: 12, private: 15 },
      config_mismatch: false,
    },
    vips: [
      { address: '198.18.0.10', prefix: 24, device: 'eth0', present: role === 'active' },
      { address: '198.18.1.1', prefix: 24, device: 'eth1', present: role === 'active' },
    ],
    lb: { backend: 'nftables', last_apply_ms: 3, apply_errors: 0, foreign_entries: 0 },
    heartbeat: {
      sent: 48211,
      received: 48190,
      rejected: { 'bad-mac': 2 },
      keepalive_late_max_ms: 3,
      faults: {},
    },
    transitions: [
      {
        at: '2026-11-25T18:00:00.100Z',
        from: 'starting',
        to: 'standby',
        reason: 'start',
        evidence: 'started',
      },
      {
        at: '2026-11-25T18:00:00.300Z',
        from: 'standby',
        to: 'active',
        reason: 'peer-dead',
        evidence: 'no heartbeat on any path for 100 ms',
      },
    ],
    virtual_servers: [
      {
        name: 'http',
        address: '198.18.0.10',
        port: 80,
        protocol: 'tcp',
        scheduler: 'wlc',
        persistent: 0,
        sorry_server_in: false,
        real_servers: [
          {
            name: 'rs1',
            address: '198.18.1.21',
            port: 80,
            weight: 1,
            configured_weight: 1,
            state: 'up',
            forwarding: 'nat',
            last_probe: { ok: true, detail: 'HTTP/1.0 200', ms: 2, at: '2026-11-25T18:00:01Z' },
          },
          {
            name: 'rs2',
            address: '198.18.1.22',
            port: 80,
            weight: 0,
            configured_weight: 1,
            state: 'down',
            forwarding: 'nat',
            last_probe: { ok: false, detail: 'connection refused', ms: 1, at: '2026-11-25T18:00:01Z' },
          },
        ],
      },
    ],
  };
}

/** A fake daemon on a real control socket. */
export class FakeDaemon {
  readonly commands: ControlCommand[] = [];
  status: StatusJson;
  reloadResult: unknown = { ok: true, changes: {} };
  private readonly subs = new Set<(e: unknown) => void>();
  readonly server: ControlServer;

  constructor(
    readonly runDir: string,
    configPath: string,
    /** Who may use the socket besides root (default: root only), as the real daemon's grant table. */
    policy: AccessPolicy = { configPath },
  ) {
    this.status = cannedStatus('active', configPath);
    this.server = new ControlServer(
      runDir,
      {
        handle: async (c) => {
          if (c.cmd !== 'status') this.commands.push(c);
          switch (c.cmd) {
            case 'status':
              return this.status;
            case 'takeover':
            case 'release':
              return { requested: c.cmd, role: this.status.role };
            case 'drain':
            case 'enable':
              return { matched: 1 };
            case 'reload':
              return this.reloadResult;
            default:
              return 'ok';
          }
        },
        subscribe: (send) => {
          this.subs.add(send);
          return () => this.subs.delete(send);
        },
      },
      new MemoryLog(),
      policy,
    );
  }

  /** Changes the role as a failover would, records the transition and pushes the event. */
  failover(to: StatusJson['role'], evidence: string): void {
    const from = this.status.role;
    const at = new Date().toISOString();
    this.status = {
      ...cannedStatus(to, this.status.config.path),
      since: at,
      transitions: [...this.status.transitions, { at, from, to, reason: 'peer', evidence }],
    };
    this.push({ time: at, type: 'transition', msg: `${from} -> ${to}: ${evidence}`, from, to, evidence });
  }

  push(ev: unknown): void {
    for (const s of this.subs) s(ev);
  }

  get followers(): number {
    return this.subs.size;
  }
}

export interface Env {
  dir: string;
  runDir: string;
  configPath: string;
  passwordFile: string;
  daemon: FakeDaemon;
  log: MemoryLog;
  clock: { t: number };
  web: Web;
  cleanup(): Promise<void>;
}

/** A console over a fake daemon and a copy of etc/lvs.yaml (or another example). */
export async function makeEnv(
  opts: {
    config?: string;
    web?: Partial<WebOptions>;
    passConfigPath?: boolean;
    /** Rewrites the example's text before it is written (e.g. to point heartbeat.key_file at a temp key). */
    edit?: (text: string) => string;
  } = {},
): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'pulse-web-'));
  const runDir = join(dir, 'run');
  const src = opts.config ?? 'etc/lvs.yaml';
  const configPath = join(
    dir,
    src.endsWith('.cf') ? 'lvs.cf' : src.endsWith('.json') ? 'lvs.json' : 'lvs.yaml',
  );
  // A `.json` source is made from the YAML example of the same name.
  if (src.endsWith('.json'))
    writeFileSync(
      configPath,
      JSON.stringify(parseYaml(readFileSync(src.replace(/\.json$/, '.yaml'), 'utf8')), null, 2),
    );
  else copyFileSync(src, configPath);
  if (opts.edit) writeFileSync(configPath, opts.edit(readFileSync(configPath, 'utf8')));
  const passwordFile = join(dir, 'web.passwd');
  writePasswordFile(passwordFile, await hashPassword(PASSWORD, TEST_SCRYPT));
  const daemon = new FakeDaemon(runDir, configPath);
  await daemon.server.listen();
  const log = new MemoryLog();
  const clock = { t: 1_000_000 };
  const web = await buildWeb({
    runDir,
    passwordFile,
    log,
    now: () => clock.t,
    statusIntervalMs: 200,
    scrypt: TEST_SCRYPT,
    ...(opts.passConfigPath ? { configPath } : {}),
    ...opts.web,
  });
  return {
    dir,
    runDir,
    configPath,
    passwordFile,
    daemon,
    log,
    clock,
    web,
    async cleanup() {
      await web.close();
      await daemon.server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `name=value; …` from a response's Set-Cookie headers, merged into a jar. */
export function mergeCookies(
  jar: Record<string, string>,
  res: LightMyRequestResponse,
): Record<string, string> {
  for (const c of res.cookies as { name: string; value: string }[]) jar[c.name] = c.value;
  return jar;
}

export const cookieHeader = (jar: Record<string, string>) =>
  Object.entries(jar)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

/** A logged-in inject client: cookies and the session's CSRF token. */
export interface Client {
  jar: Record<string, string>;
  csrf: string;
  sid: string;
}

export async function login(web: Web, password = PASSWORD): Promise<Client> {
  const jar: Record<string, string> = {};
  const page = await web.app.inject({ method: 'GET', url: '/login' });
  mergeCookies(jar, page);
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const res = await web.app.inject({
    method: 'POST',
    url: '/login',
    headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
    payload: `_csrf=${encodeURIComponent(token)}&password=${encodeURIComponent(password)}`,
  });
  if (res.statusCode !== 303) throw new Error(`login failed: ${res.statusCode} ${res.body.slice(0, 200)}`);
  mergeCookies(jar, res);
  const app = await web.app.inject({ method: 'GET', url: '/', headers: { cookie: cookieHeader(jar) } });
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(app.body)![1]!;
  return { jar, csrf, sid: jar[SESSION_COOKIE]! };
}

/** An authenticated JSON request with the CSRF token. */
export function call(
  web: Web,
  c: Client,
  method: string,
  url: string,
  body?: unknown,
  extra: Record<string, string> = {},
) {
  return web.app.inject({
    method: method as 'GET',
    url,
    headers: {
      cookie: cookieHeader(c.jar),
      'x-csrf-token': c.csrf,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...extra,
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
}
