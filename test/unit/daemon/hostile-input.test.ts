/**
 * Issue 17 items 11 and 12: configuration files the daemon is asked to read cannot wedge it. A huge
 * broken file (20,000 nested blocks or unknown keys) is refused within a bounded time while the control
 * socket keeps answering and the watchdog keeps being pinged; `check-config PATH` of a device, a FIFO or
 * an oversized file is refused at once without reading it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, MAX_CONFIG_BYTES, MAX_DIAGNOSTICS } from '../../../src/config';
import { request } from '../../../src/daemon/control';
import { Daemon } from '../../../src/daemon/daemon';
import { VALIDATE_DEADLINE_MS } from '../../../src/daemon/validate';
import { fakeParts, Journal } from './fakes';

const GOOD = `serial_no: 1
primary:
  address: 198.18.0.11
backup:
  address: 198.18.0.12
heartbeat:
  auth: none
metrics:
  listen: ''
network: direct
virtual_servers:
  - name: web
    vip:
      address: 198.18.0.10
    port: 80
    real_servers:
      - name: rs1
        address: 198.18.1.21
`;

function nestedBlocks(n: number): string {
  let t = 'serial_no = 1\nprimary = 198.18.0.11\nservice = lvs\n';
  for (let i = 0; i < n; i++) t += `virtual v${i} {\n`;
  return t;
}
function unknownKeys(n: number): string {
  let t = GOOD;
  for (let i = 0; i < n; i++) t += `bogus_key_${i}: ${i}\n`;
  return t;
}

describe('hostile configuration input (daemon, fake parts, real control socket)', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  let d: Daemon;
  let run: string;
  const pings: number[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lp-hostile-'));
    // No extension: the format is detected from the content (YAML here, lvs.cf for the nested blocks).
    file = join(dir, 'pulse.conf');
    run = join(dir, 'run');
    writeFileSync(file, GOOD);
    const f = fakeParts(new Journal());
    pings.length = 0;
    // A watchdog of 200 ms: the daemon pings every 100 ms from its main event loop.
    f.parts.notifier = () => ({
      watchdogMs: 200,
      notify: (fields) => {
        if (fields.WATCHDOG) pings.push(performance.now());
        return true;
      },
      close: () => {},
    });
    d = new Daemon(
      { configPath: file, runDir: run, signals: false, parts: f.parts, consoleUser: '' },
      loadConfig(file),
    );
    await d.start();
  });
  afterEach(async () => {
    await d?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `op` while pinging the control socket every 50 ms; returns the op's result and the worst ping. */
  async function whilePinging<T>(
    op: () => Promise<T>,
  ): Promise<{ result: T; worstPingMs: number; ms: number }> {
    let stop = false;
    let worst = 0;
    const loop = (async () => {
      while (!stop) {
        const t = performance.now();
        const r = await request(run, 'ping', undefined, 5000);
        assert.equal(r.ok, true);
        worst = Math.max(worst, performance.now() - t);
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const t0 = performance.now();
    pings.length = 0;
    const result = await op();
    const ms = performance.now() - t0;
    stop = true;
    await loop;
    return { result, worstPingMs: worst, ms };
  }

  const worstWatchdogGap = () => {
    let g = 0;
    for (let i = 1; i < pings.length; i++) g = Math.max(g, pings[i]! - pings[i - 1]!);
    return g;
  };

  for (const [name, text] of [
    ['20,000 nested virtual blocks (lvs.cf)', nestedBlocks(20_000)],
    ['20,000 unknown keys (YAML)', unknownKeys(20_000)],
  ] as const) {
    it(`${name}: the reload is refused in bounded time; control socket and watchdog keep going`, async () => {
      const model = d.model;
      writeFileSync(file, text);
      const { result, worstPingMs, ms } = await whilePinging(() => request(run, 'reload', undefined, 30_000));
      assert.equal(result.ok, true, 'the reload command itself answered');
      const r = result.result as { ok: boolean; errors: string[] };
      assert.equal(r.ok, false, 'refused');
      assert.ok(
        r.errors.length >= 1 && r.errors.length <= MAX_DIAGNOSTICS + 1,
        `${r.errors.length} errors kept`,
      );
      assert.ok(ms < VALIDATE_DEADLINE_MS + 3000, `refused after ${Math.round(ms)} ms`);
      assert.ok(worstPingMs < 1000, `a control ping took ${Math.round(worstPingMs)} ms`);
      assert.ok(worstWatchdogGap() < 1000, `watchdog gap ${Math.round(worstWatchdogGap())} ms`);
      assert.equal(d.model, model, 'the running configuration stays');
    });
  }

  it('check-config of /dev/zero, a FIFO, a directory or an oversized file: refused at once, nothing read', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, GOOD);
    truncateSync(big, MAX_CONFIG_BYTES + 1);
    const cases: [string, RegExp][] = [
      ['/dev/zero', /it is a device, not a regular file/],
      [fifo, /it is a FIFO, not a regular file/],
      [dir, /it is a directory, not a regular file/],
      [big, new RegExp(`larger than the ${MAX_CONFIG_BYTES}-byte limit`)],
    ];
    for (const [path, why] of cases) {
      const { result, worstPingMs, ms } = await whilePinging(() =>
        request(run, 'check-config', { path }, 10_000),
      );
      const r = result.result as { ok: boolean; text: string };
      assert.equal(r.ok, false, path);
      assert.match(r.text, why);
      assert.match(r.text, new RegExp(`^${path.replace(/[.]/g, '\\.')}:1:1: error: cannot read the file`));
      assert.ok(ms < 5000, `${path}: ${Math.round(ms)} ms`);
      assert.ok(worstPingMs < 1000, `${path}: a control ping took ${Math.round(worstPingMs)} ms`);
    }
  });

  it('a daemon config file swapped for an oversized one: the reload is refused, nothing read', async () => {
    truncateSync(file, MAX_CONFIG_BYTES + 1);
    const r = await d.reload();
    assert.equal(r.ok, false);
    assert.match(r.errors![0]!, /larger than the \d+-byte limit of a configuration file/);
  });
});
