import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config';
import { buildRegistry, parseListen, serveMetrics } from '../../../src/daemon/metrics';

describe('metrics', () => {
  const src = {
    role: () => 'active',
    authenticated: () => false,
    transitions: () => ({ peer_silent: 2 }),
    heartbeat: () => ({ sent: 10, received: 9, rejected: { bad_mac: 3 }, peerLastSeenS: { public: 0.02 } }),
    realServers: () => [{ vs: 'web', rs: 'rs1', address: '198.18.1.21:80', up: true, weight: 3 }],
    probeDurations: () => [12],
    lbApply: () => ({ seconds: [0.01], errors: 1 }),
  };
  it('exposes role, auth, heartbeat, real server and LB metrics', async () => {
    const text = await buildRegistry(src).metrics();
    assert.match(text, /lvs_pulse_role\{role="active"\} 1/);
    assert.match(text, /lvs_pulse_role\{role="standby"\} 0/);
    assert.match(text, /lvs_pulse_heartbeat_authenticated 0/);
    assert.match(text, /lvs_pulse_heartbeats_rejected_total\{reason="bad_mac"\} 3/);
    assert.match(
      text,
      /lvs_pulse_real_server_weight\{virtual="web",server="rs1",address="198.18.1.21:80"\} 3/,
    );
    assert.match(text, /lvs_pulse_lb_apply_errors_total 1/);
    assert.match(text, /lvs_pulse_transitions_total\{reason="peer_silent"\} 2/);
  });
  it('serves on loopback and refuses listen strings without a port', async () => {
    assert.throws(() => parseListen('127.0.0.1'), /HOST:PORT/);
    assert.deepEqual(parseListen('[::1]:9539'), { host: '::1', port: 9539 });
    const server = await serveMetrics(buildRegistry(src), '127.0.0.1:0');
    const addr = server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${addr.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /lvs_pulse_role/);
    server.close();
  });
  it('defaults to 127.0.0.1:9539 (as README and docs/metrics.md say) in both front ends', () => {
    const cf = loadConfig('a.cf', 'primary = 198.18.0.11\nservice = lvs\nbackup_active = 0\n').model;
    assert.equal(cf.metrics.listen, '127.0.0.1:9539');
    const y = loadConfig('a.yaml', 'primary: { address: 198.18.0.11 }\nbackup_active: false\n').model;
    assert.equal(y.metrics.listen, '127.0.0.1:9539');
    const off = loadConfig('a.yaml', "primary: { address: 198.18.0.11 }\nmetrics: { listen: '' }\n").model;
    assert.equal(off.metrics.listen, '');
  });
});
