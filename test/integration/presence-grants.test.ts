// Presence and live grants together, on one gateway: a member whose grants change loses the channel and leaves with
// reason `deauthenticated`, and watchers stop getting events on a channel whose `presence` capability was taken.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { type PresenceChanges } from '../../shared';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { subscribe } from '../helpers/channels';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import { presenceRulesFile, watchPresence } from '../helpers/presence';
import { useScope } from '../helpers/scope';

const rules = presenceRulesFile({ presence: ['room:*'] });

let gw: Gateway;
const suiteScope = useScope(test, 'suite');

async function member(sub: string): Promise<AGClientSocket> {
  const { client, status } = await suiteScope.connect(gw, mintHs256({ sub, channels: { 'room:*': ['subscribe', 'presence'] } }));
  assert.ok(status.isAuthenticated);
  return client;
}

test.before(async () => {
  gw = await suiteScope.gateway({ GATEHOUSE_CHANNELS_FILE: rules, GATEHOUSE_PRESENCE_GRACE: '0', GATEHOUSE_ADMIN_KEY: ADMIN_KEY });
});

test('a grants change that takes the channel away makes its member leave as deauthenticated', async () => {
  const watcher = await member('watcher');
  const seen = watchPresence(watcher);
  await subscribe(watcher, 'room:1');
  const alice = await member('alice');
  await subscribe(alice, 'room:1');
  const batches = () => seen.events as PresenceChanges[];
  await waitFor(() => batches().some((e) => e.joins.some((j) => j.sub === 'alice')), 2000, "alice's join");

  const put = await admin(gw.address().port, 'PUT', '/admin/grants/alice', { version: 1, channels: ['lobby:*'] });
  assert.is(put.status, 200);
  await waitFor(() => batches().some((e) => e.leaves.length > 0), 2000, "alice's leave");
  const leaves = batches().flatMap((e) => e.leaves);
  assert.equal(leaves, [{ sub: 'alice', reason: 'deauthenticated' }]);
  assert.equal(alice.subscriptions(true), [], 'alice is out of room:1');
});

test('a watcher whose grants keep subscribe but drop presence gets no more events', async () => {
  const watcher = await member('watcher-2');
  const seen = watchPresence(watcher);
  await subscribe(watcher, 'room:2');
  await waitFor(() => seen.events.length >= 1, 2000, "the watcher's own join");
  const put = await admin(gw.address().port, 'PUT', '/admin/grants/watcher-2', { version: 1, channels: { 'room:*': ['subscribe'] } });
  assert.is(put.status, 200);
  assert.equal(watcher.subscriptions(true), ['room:2'], 'still subscribed');
  const before = seen.events.length;
  const bob = await member('bob');
  await subscribe(bob, 'room:2');
  await sleep(300);
  assert.is(seen.events.length, before, 'no presence events without the capability');
});

test.run();
