/**
 * The web console's Control page shows the connection sync (docs/sync.md): the browser script still
 * parses, and the Peer card has its line, built with text only.
 */
import assert from 'node:assert/strict';
import { APP_JS } from '../../../src/web/static/app';

describe('web console: the connection-sync line of the Control page', () => {
  it('the script parses and the Peer card carries the sync line (mechanism, state, role, resync, hold)', () => {
    assert.doesNotThrow(() => new Function(APP_JS));
    assert.match(APP_JS, /\['Connection sync', syncText, 'sync-state'\]/);
    for (const f of [
      'y.mechanism',
      'y.state',
      'y.role',
      'y.entries',
      'y.last_update_ms',
      'y.resync',
      'y.hold',
      's.peer.resync_pending',
    ])
      assert.ok(APP_JS.includes(f), f);
    assert.doesNotMatch(APP_JS.slice(APP_JS.indexOf('var syncText')), /innerHTML/);
  });
});
