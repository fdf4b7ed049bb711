/**
 * Program-naming keys live where the web console's user cannot write (issue 17 item 5, web half): the
 * daemon honours hooks, send_program, a load_monitor command or the ipvsadm path only from a file that only
 * root can change (config/filetrust.ts, applied by loadConfig / checkConfig when they read the file). A file
 * the console's user owns — the one it edits — may hold everything else. And the protected-key diff of
 * config/sensitive.ts that the peer push uses.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig, ConfigError, loadConfig } from '../../../src/config';
import { untrustedWriter } from '../../../src/config/filetrust';
import { changedKeys, programSites } from '../../../src/config/sensitive';
import { needRoot } from '../../helpers/need';

const T = { uids: [0], gids: [0] };
const st = (uid: number, gid: number, mode: number) => ({ uid, gid, mode });

describe('config: program-naming keys only from a file only root can write', () => {
  it('untrustedWriter: owner, group and other write bits of the file and each directory; sticky dirs are safe', () => {
    const chain = (dir: ReturnType<typeof st>, file: ReturnType<typeof st>) => [
      { path: '/', st: st(0, 0, 0o40755) },
      { path: '/etc', st: st(0, 0, 0o40755) },
      { path: '/etc/lvs-pulse', st: dir },
      { path: '/etc/lvs-pulse/lvs.yaml', st: file },
    ];
    assert.equal(untrustedWriter(chain(st(0, 0, 0o40755), st(0, 0, 0o100644)), T), undefined);
    assert.equal(untrustedWriter(chain(st(0, 0, 0o40775), st(0, 0, 0o100664)), T), undefined, 'group root');
    assert.equal(
      untrustedWriter(chain(st(0, 0, 0o40755), st(998, 998, 0o100640)), T),
      '/etc/lvs-pulse/lvs.yaml is owned by uid 998',
    );
    assert.equal(
      untrustedWriter(chain(st(0, 0, 0o40755), st(0, 998, 0o100660)), T),
      '/etc/lvs-pulse/lvs.yaml is writable by group 998',
    );
    assert.equal(
      untrustedWriter(chain(st(0, 0, 0o40755), st(0, 0, 0o100646)), T),
      '/etc/lvs-pulse/lvs.yaml is writable by every user',
    );
    assert.equal(
      untrustedWriter(chain(st(0, 998, 0o40770), st(0, 0, 0o100644)), T),
      'directory /etc/lvs-pulse is writable by group 998',
      'the group could replace the file',
    );
    assert.equal(
      untrustedWriter(chain(st(0, 998, 0o41770), st(0, 0, 0o100644)), T),
      undefined,
      'sticky: the group cannot replace a file root owns',
    );
    assert.equal(
      untrustedWriter(chain(st(998, 0, 0o40755), st(0, 0, 0o100644)), T),
      'directory /etc/lvs-pulse is owned by uid 998',
    );
    assert.equal(
      untrustedWriter(chain(st(0, 998, 0o41770), st(998, 998, 0o100600)), { uids: [0, 998], gids: [0, 998] }),
      undefined,
      'the reader trusts itself',
    );
  });

  describe('on disk (needs root to chown)', () => {
    let dir: string;
    const withHook = readFileSync('etc/lvs.yaml', 'utf8').replace(
      'legacy:\n',
      'hooks:\n  active_cmd: /usr/local/sbin/on-active\nlegacy:\n',
    );
    beforeEach(function () {
      needRoot(this);
      dir = mkdtempSync(join(tmpdir(), 'lp-trust-'));
      chmodSync(dir, 0o755);
    });
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('a file the console user owns cannot name a program: an error at its line, in loadConfig and --check-config', () => {
      const f = join(dir, 'lvs.yaml');
      writeFileSync(f, withHook);
      assert.ok(loadConfig(f).model.hooks.activeCmd, 'root-owned: honoured');
      chownSync(f, 65534, 65534);
      const line = withHook.split('\n').findIndex((l) => l.includes('active_cmd')) + 1;
      assert.throws(
        () => loadConfig(f),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          const d = e.diagnostics.find((x) => x.severity === 'error')!;
          assert.equal(d.line, line);
          assert.match(
            d.message,
            /hooks\.active_cmd: names a program that root runs, but .* is owned by uid 65534/,
          );
          return true;
        },
      );
      const c = checkConfig(f);
      assert.equal(c.ok, false);
      assert.ok(
        c.diagnostics.some(
          (d) => d.line === line && /honoured only from a file that only root/.test(d.message),
        ),
      );
      // Without program-naming keys the same file loads: the console may edit everything else.
      writeFileSync(f, readFileSync('etc/lvs.yaml', 'utf8'));
      assert.equal(loadConfig(f).model.virtualServers.length, 1);
    });

    it('a group-writable file, or a directory others can write, is refused the same way; lvs.cf names its key', () => {
      const f = join(dir, 'lvs.yaml');
      writeFileSync(f, withHook);
      chownSync(f, 0, 65534);
      chmodSync(f, 0o664);
      assert.throws(() => loadConfig(f), /is writable by group 65534/);
      chmodSync(f, 0o644);
      const sub = join(dir, 'sub');
      mkdirSync(sub);
      chmodSync(sub, 0o777);
      const g = join(sub, 'lvs.cf');
      writeFileSync(
        g,
        `${readFileSync('etc/lvs.cf', 'utf8')}\nvirtual extra {\n  address = 198.18.0.77 eth0:2\n  send_program = "/bin/probe %h"\n  server a {\n    address = 198.18.1.77\n  }\n}\n`,
      );
      assert.throws(
        () => loadConfig(g),
        /send_program: names a program that root runs, but directory .*sub is writable by every user/,
      );
      chmodSync(sub, 0o1777);
      assert.ok(loadConfig(g), 'sticky directory: others cannot replace a file root owns');
    });

    it('a file the console user owns cannot weaken security either (auth none, Piranha compat, metrics on 0.0.0.0); its key file path is fine', () => {
      const f = join(dir, 'lvs.yaml');
      const base = readFileSync('etc/lvs.yaml', 'utf8');
      const cases: [string, RegExp][] = [
        [base.replace('  key_file: /etc/lvs-pulse/heartbeat.key', '  auth: none'), /heartbeat\.auth: weakens/],
        [base.replace('  key_file:', '  piranha_compat: true\n  key_file:'), /heartbeat\.piranha_compat: weakens/],
        [`${base}metrics:\n  listen: 0.0.0.0:9539\n`, /metrics\.listen: weakens/],
      ];
      for (const [text, re] of cases) {
        writeFileSync(f, text);
        chownSync(f, 0, 0);
        assert.ok(loadConfig(f), `root-owned: honoured (${re})`);
        chownSync(f, 65534, 65534);
        assert.throws(() => loadConfig(f), re);
      }
      writeFileSync(f, base);
      chownSync(f, 65534, 65534);
      assert.equal(loadConfig(f).model.heartbeat.keyFile, '/etc/lvs-pulse/heartbeat.key');
    });

    it('a text given to loadConfig (the web editor validating a draft) is not checked: only the file read is', () => {
      const f = join(dir, 'lvs.yaml');
      writeFileSync(f, withHook);
      chownSync(f, 65534, 65534);
      assert.ok(loadConfig(f, withHook).model.hooks.activeCmd);
    });
  });
});

describe('config: protected-key diff (config/sensitive.ts)', () => {
  const base = () => loadConfig('etc/lvs.yaml', readFileSync('etc/lvs.yaml', 'utf8')).model;

  it('names every changed key by document path and names, and marks the protected ones', () => {
    const a = base();
    const b = structuredClone(a);
    b.virtualServers[0]!.realServers[0]!.weight = 3;
    b.heartbeat.piranhaCompat = true;
    b.hooks.notifyCmd = '/bin/true';
    b.virtualServers[0]!.monitor.loadMonitor = { kind: 'http', url: 'http://169.254.169.254/' };
    b.virtualServers[0]!.realServers.pop();
    assert.deepEqual(changedKeys(a, b), [
      { name: 'heartbeat.piranha_compat', protection: 'sensitive' },
      { name: 'hooks.notify_cmd', protection: 'program' },
      { name: 'virtual_servers[http].monitor.load_monitor', protection: 'sensitive' },
      { name: 'virtual_servers[http].real_servers[rs1].weight' },
      { name: 'virtual_servers[http].real_servers[rs2]' },
    ]);
    assert.deepEqual(changedKeys(a, structuredClone(a)), []);
  });

  it('an added virtual server is one change, protected when it names a program or sets a sensitive key', () => {
    const a = base();
    const plain = structuredClone(a);
    plain.virtualServers.push({ ...structuredClone(a.virtualServers[0]!), name: 'two' });
    assert.deepEqual(changedKeys(a, plain), [{ name: 'virtual_servers[two]' }]);
    const prog = structuredClone(plain);
    prog.virtualServers[1]!.monitor.sendProgram = '/bin/sh -c id';
    assert.deepEqual(changedKeys(a, prog), [{ name: 'virtual_servers[two]', protection: 'program' }]);
    assert.deepEqual(
      programSites(prog).map((s) => s.path),
      ['virtual_servers.1.monitor.send_program'],
    );
    const lm = structuredClone(plain);
    lm.virtualServers[1]!.monitor.loadMonitor = { kind: 'command', command: '/bin/load' };
    assert.deepEqual(changedKeys(a, lm), [{ name: 'virtual_servers[two]', protection: 'program' }]);
  });

  it('the default ipvsadm path names no program to refuse; another path does', () => {
    const a = base();
    assert.deepEqual(programSites(a), []);
    const b = structuredClone(a);
    b.lb.ipvsadmPath = '/tmp/ipvsadm';
    assert.deepEqual(
      programSites(b).map((s) => s.path),
      ['lb.ipvsadm'],
    );
  });
});
