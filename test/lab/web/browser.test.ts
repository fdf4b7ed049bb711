/**
 * The web console in a real browser: Debian's chromium, headless, driven by playwright-core (no browser
 * download). A FAKE daemon (a real control socket) plays the router: the test logs in, watches a failover
 * arrive on the page without a reload, makes a config edit that the validator refuses (error shown at the
 * field), fixes it, and drains a real server. Screenshots of each panel: `UPDATE_SCREENSHOTS=1` writes
 * them to docs/web-*.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { loadConfig } from '../../../src/config';
import { startWeb, type WebServer } from '../../../src/web/server';
import { type Env, makeEnv, PASSWORD, TEST_SCRYPT } from '../../unit/web/fixture';
import { need } from '../../helpers/need';

const CHROMIUM = '/usr/bin/chromium';
/**
 * Screenshots go to docs/ only with UPDATE_SCREENSHOTS=1 (so an ordinary test run leaves the work tree
 * clean); otherwise to a temp dir, still taken so the code path is exercised.
 */
const DOCS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? join(__dirname, '../../../docs')
    : mkdtempSync(join(tmpdir(), 'pulse-web-shots-'));

describe('web console in chromium (lab)', function () {
  this.timeout(60_000);
  let env: Env;
  let server: WebServer;
  let browser: Browser;
  let page: Page;
  /** Script errors and console errors (CSP violations included) seen on any page. */
  const problems: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      need(this, 'chromium not installed');
    }
    mkdirSync(DOCS, { recursive: true });
    env = await makeEnv();
    await env.web.close();
    server = await startWeb({
      runDir: env.runDir,
      passwordFile: env.passwordFile,
      log: env.log,
      port: 0,
      scrypt: TEST_SCRYPT,
      statusIntervalMs: 1000,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.setDefaultTimeout(5000);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (
        m.type() === 'error' &&
        !/^Failed to load resource: the server responded with a status of (401|422)/.test(m.text())
      )
        problems.push(`console: ${m.text()}`);
    });
    page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    if (process.env.UPDATE_SCREENSHOTS !== '1') rmSync(DOCS, { recursive: true, force: true });
    await browser?.close();
    await server?.close();
    await env?.cleanup();
  });

  it('redirects to the login page, refuses a wrong password, logs in', async () => {
    await page.goto(`${server.url}/`);
    assert.match(page.url(), /\/login$/);
    await page.fill('#password', 'not the password');
    await page.click('#login-submit');
    await page.waitForSelector('#login-message');
    assert.match((await page.textContent('#login-message')) ?? '', /Wrong password/);
    await page.screenshot({ path: join(DOCS, 'web-login.png') });
    await page.fill('#password', PASSWORD);
    await page.click('#login-submit');
    await page.waitForSelector('#role');
    assert.equal(new URL(page.url()).pathname, '/');
  });

  it('shows the live status and a failover as it happens, without reloading the page', async () => {
    await page.waitForFunction(() => document.querySelector('#role')?.textContent === 'active');
    await page.waitForSelector('#live.on');
    assert.match((await page.textContent('#lb-table')) ?? '', /198\.18\.1\.22:80/);
    await page.screenshot({ path: join(DOCS, 'web-control.png'), fullPage: true });
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });
    // Wait until the console follows the daemon's event stream, then fail over.
    for (let i = 0; i < 100 && env.daemon.followers === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    env.daemon.failover('standby', 'peer 198.18.0.12 took over: operator release');
    await page.waitForFunction(() => document.querySelector('#role')?.textContent === 'standby', undefined, {
      timeout: 5000,
    });
    const ms = Date.now() - t0;
    console.log(`      failover shown on the page ${ms} ms after the daemon's event`);
    assert.equal(
      await page.evaluate(() => (window as unknown as { marker: number }).marker),
      42,
      'same page: no reload',
    );
    assert.match((await page.textContent('#events')) ?? '', /transition: active -> standby/);
    assert.match(
      (await page.textContent('#transitions')) ?? '',
      /active → standby: peer 198\.18\.0\.12 took over/,
    );
    assert.match((await page.textContent('#header-role')) ?? '', /standby/);
    await page.screenshot({ path: join(DOCS, 'web-failover.png'), fullPage: true });
  });

  it('drains a real server from the LB table', async () => {
    await page.click('tr[data-rs="http/rs1"] button');
    await page.waitForFunction(() => /drain/.test(document.querySelector('#control-msg')?.textContent ?? ''));
    assert.deepEqual(env.daemon.commands, [{ cmd: 'drain', server: 'http/rs1' }]);
  });

  it('shows the GLOBAL SETTINGS and REDUNDANCY panels', async () => {
    await page.click('a[data-view="global"]');
    await page.waitForSelector('#form-global');
    assert.equal(await page.inputValue('#form-global [name="primary.address"]'), '198.18.0.11');
    assert.equal(
      await page.isDisabled('#form-global [name="hooks.activeCmd"]'),
      true,
      'program fields are read-only',
    );
    await page.screenshot({ path: join(DOCS, 'web-global.png'), fullPage: true });
    await page.click('a[data-view="redundancy"]');
    await page.waitForSelector('#form-redundancy');
    assert.equal(await page.inputValue('#form-redundancy [name="backup.address"]'), '198.18.0.12');
    await page.screenshot({ path: join(DOCS, 'web-redundancy.png'), fullPage: true });
  });

  it('edits a real server: the validator error is shown at the field, then a fix is saved and reloaded', async () => {
    const before = readFileSync(env.configPath, 'utf8');
    await page.click('a[data-view="virtual"]');
    await page.click('tr[data-vs="http"] button:text("Edit")');
    await page.waitForSelector('#form-vs');
    await page.screenshot({ path: join(DOCS, 'web-virtual.png'), fullPage: true });
    await page.click('tr[data-rs="rs2"] button:text("Edit")');
    await page.waitForSelector('#form-rs');
    await page.fill('#form-rs [name="weight"]', '-5');
    await page.click('#form-rs button[type="submit"]');
    const err = page.locator('#form-rs [data-field="weight"].invalid .error');
    await err.waitFor();
    const text = (await err.textContent()) ?? '';
    assert.match(text, /must be an integer ≥ 0.*\(line \d+/);
    assert.equal(await page.getAttribute('#form-rs [name="weight"]', 'aria-invalid'), 'true');
    assert.equal(readFileSync(env.configPath, 'utf8'), before, 'nothing written');
    await page.locator('#form-rs').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(DOCS, 'web-validation.png'), fullPage: true });

    await page.fill('#form-rs [name="weight"]', '3');
    await page.click('#form-rs button[type="submit"]');
    await page.waitForSelector('#flash.ok');
    assert.match(
      (await page.textContent('#flash')) ?? '',
      /Saved to .*previous version kept as .*\.prev.*reload applied/,
    );
    assert.equal(loadConfig(env.configPath).model.virtualServers[0]!.realServers[1]!.weight, 3);
    assert.deepEqual(env.daemon.commands.at(-1), { cmd: 'reload' });
    assert.ok(
      env.log.records.some(
        (r) =>
          r.msg === 'web: config saved' && /"field":"weight","from":1,"to":3/.test(String(r.fields.changes)),
      ),
    );
  });

  it('ran without script errors or CSP violations', () => {
    assert.deepEqual(problems, []);
  });

  it('logs out', async () => {
    await page.click('#logout-form button');
    await page.waitForSelector('#login-form');
    assert.equal(
      (await page.context().cookies()).some((c) => c.name === 'pulse_session'),
      false,
    );
    const status = await page.evaluate(() => fetch('/api/status').then((r) => r.status));
    assert.equal(status, 401);
    await page.goto(`${server.url}/#virtual`);
    assert.match(page.url(), /\/login(#virtual)?$/, 'a page load goes back to the login form');
  });
});
