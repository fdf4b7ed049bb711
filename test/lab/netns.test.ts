import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { isRoot, labDown, listLabNamespaces } from '../../lab/netns';
import { buildLvsLab, LAB_NET, type LvsLab } from '../../lab/topology';
import { need } from '../helpers/need';

describe('lab: namespace topology', function () {
  this.timeout(60000);
  let lvs: LvsLab | undefined;
  before(function () {
    if (!isRoot()) {
      need(this, 'needs root');
    }
  });
  after(async () => {
    await lvs?.destroy();
  });

  it('builds client, routers, real servers on two bridges and passes real packets', async () => {
    lvs = await buildLvsLab({ prefix: 'lbt', realServers: 2 });
    const { lab } = lvs;
    assert.equal(listLabNamespaces('lbt').filter((n) => n.startsWith(lab.id)).length, 6);
    await lab.exec('client', 'ping', ['-c1', '-W1', LAB_NET.routers.r1.public]);
    await lab.exec('r2', 'ping', ['-c1', '-W1', LAB_NET.realServer(2)]);
    // A real HTTP server in rs1, reached from r1 over the private bridge.
    const srv = lab.spawn('rs1', process.execPath, [
      '--import',
      'tsx',
      'lab/whoami-server.ts',
      'rs1',
      '8080',
    ]);
    await once(srv.stdout!, 'data');
    const { stdout } = await lab.exec('r1', 'curl', [
      '-s',
      '--max-time',
      '2',
      `http://${LAB_NET.realServer(1)}:8080/`,
    ]);
    assert.equal(stdout.trim(), 'rs1');
    // Never linked to the root namespace: the client cannot reach a root-namespace address.
    const root = execFileSync('ip', ['-j', 'addr'], { encoding: 'utf8' });
    assert.ok(!root.includes(LAB_NET.client), 'lab address leaked into the root namespace');
  });

  it('destroy() removes every namespace and process it made', async () => {
    const id = lvs!.lab.id;
    await lvs!.destroy();
    lvs = undefined;
    assert.deepEqual(
      listLabNamespaces('lbt').filter((n) => n.startsWith(id)),
      [],
    );
  });

  it('labDown removes leftovers of an earlier run by name', async () => {
    const leftover = await buildLvsLab({ prefix: 'lbt', realServers: 1 });
    const id = leftover.lab.id;
    // Simulate a crashed run: forget the lab object, then clean up by name.
    const removed = labDown('lbt');
    assert.ok(removed.some((n) => n.startsWith(id)));
    assert.deepEqual(
      listLabNamespaces('lbt').filter((n) => n.startsWith(id)),
      [],
    );
    leftover.lab.destroySync();
  });
});
