import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { ErrorName, isOccupancy, type PresenceChanges, type PresenceSnapshot } from '../../shared';
import type { PresenceStats } from '../../server/presence/presence-index';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { subscribe } from '../helpers/channels';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import { allMembers, presenceError, presenceOf, presenceRulesFile, watchPresence } from '../helpers/presence';
import { useScope } from '../helpers/scope';

const rules = presenceRulesFile({
  presence: ['room:*', 'user:{sub}:desk'],
  authenticated: { 'room:*': ['subscribe'], 'plain:*': ['subscribe', 'presence'], 'user:*': ['subscribe', 'presence'] },
  anyone: { 'room:open': ['subscribe'] },
});

const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

function gateway(env: Record<string, string> = {}): Promise<Gateway> {
  return suiteScope.gateway({ GATEHOUSE_CHANNELS_FILE: rules, GATEHOUSE_PRESENCE_GRACE: '0', GATEHOUSE_ADMIN_KEY: ADMIN_KEY, ...env });
}

/** A watcher may list members; a plain member may only subscribe. */
function claims(sub: string, watcher: boolean, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { sub, ...(watcher ? { channels: { 'room:*': ['subscribe', 'presence'] } } : {}), ...extra };
}

async function connectAs(gw: Gateway, claimSet: Record<string, unknown> | null): Promise<AGClientSocket> {
  const { client, status } = await scope.connect(gw, claimSet ? mintHs256(claimSet) : null);
  assert.is(status.isAuthenticated, claimSet !== null);
  return client;
}

/** The change batches a watcher saw, without its own join (it joins the channels it watches too). */
function changes(events: unknown[]): PresenceChanges[] {
  return (events as PresenceChanges[])
    .map((e) => ({ ...e, joins: e.joins.filter((j) => j.sub !== 'watcher') }))
    .filter((e) => e.joins.length + e.leaves.length + e.updates.length > 0);
}

test('two tabs of one user are one member; the last one leaving is one leave', async () => {
  const gw = await gateway();
  const watcher = await connectAs(gw, claims('watcher', true));
  const seen = watchPresence(watcher);
  await subscribe(watcher, 'room:1');
  await waitFor(() => seen.events.length === 1, 2000, "the watcher's own join");
  seen.events.length = 0;
  const tab1 = await connectAs(gw, claims('alice', false, { info: { name: 'Alice' } }));
  const tab2 = await connectAs(gw, claims('alice', false, { info: { name: 'Alice' } }));
  await subscribe(tab1, 'room:1');
  await subscribe(tab2, 'room:1');
  await waitFor(() => seen.events.length >= 1, 2000, 'the join');
  await sleep(200);
  const joins = changes(seen.events).flatMap((e) => e.joins);
  assert.equal(joins, [{ sub: 'alice', info: { name: 'Alice' } }]);

  const snapshot = await presenceOf(watcher, { channel: 'room:1' });
  assert.equal(snapshot.members, [
    { sub: 'alice', info: { name: 'Alice' }, connections: 2 },
    { sub: 'watcher', connections: 1 },
  ]);
  assert.is(snapshot.count, 2);
  assert.is(snapshot.seq, seen.events[seen.events.length - 1].seq);

  tab1.disconnect();
  await sleep(250);
  assert.is(seen.events.length, 1, 'closing one tab is no leave');
  void tab2.unsubscribe('room:1');
  await waitFor(() => seen.events.length >= 2, 2000, 'the leave');
  const last = changes(seen.events)[1];
  assert.equal(last.leaves, [{ sub: 'alice', reason: 'unsubscribed' }]);
  assert.is(last.seq, seen.events[0].seq + 1);
});

test('without the presence capability: no list, no events, a named error', async () => {
  const gw = await gateway();
  const plain = await connectAs(gw, claims('plain', false));
  await subscribe(plain, 'room:2');
  const seen = watchPresence(plain);
  const other = await connectAs(gw, claims('bob', false));
  await subscribe(other, 'room:2');
  await sleep(300);
  assert.is(seen.events.length, 0);
  const err = await presenceError(plain, { channel: 'room:2' });
  assert.is(err.name, ErrorName.PresenceForbidden);
  assert.is(err.channel, 'room:2');
  const anonymous = await connectAs(gw, null);
  assert.is((await presenceError(anonymous, { channel: 'room:2' })).name, ErrorName.PresenceForbidden);
});

test('a channel without presence is refused by name; bad requests are BadRequestError', async () => {
  const gw = await gateway();
  const client = await connectAs(gw, claims('carol', true, { channels: ['plain:*'] }));
  const err = await presenceError(client, { channel: 'plain:x' });
  assert.is(err.name, ErrorName.PresenceNotEnabled);
  assert.is(err.channel, 'plain:x');
  assert.is((await presenceError(client, { channel: 'room:1', limit: 0 })).name, ErrorName.BadRequest);
  assert.is((await presenceError(client, { channel: 'room:1', limit: 1001 })).name, ErrorName.BadRequest);
  assert.is((await presenceError(client, { channel: 'room:1', cursor: '!!' })).name, ErrorName.BadRequest);
  assert.is((await presenceError(client, { channel: '' })).name, ErrorName.BadRequest);
});

test('identity is the verified claims: a large or non-object info is left out, the client cannot send one', async () => {
  const gw = await gateway();
  const watcher = await connectAs(gw, claims('watcher', true));
  await subscribe(watcher, 'room:3');
  const big = await connectAs(gw, claims('big', false, { info: { blob: 'x'.repeat(1100) } }));
  const list = await connectAs(gw, claims('list', false, { info: ['not', 'an', 'object'] }));
  await subscribe(big, 'room:3');
  await subscribe(list, 'room:3');
  await waitFor(async () => (await presenceOf(watcher, { channel: 'room:3' })).count === 3, 2000, 'three members');
  // Whatever a client sends on the channel or as its own data is not presence.
  await list.invokePublish('room:3', { info: { name: 'Mallory' }, sub: 'watcher' }).catch(() => undefined);
  const { members } = await presenceOf(watcher, { channel: 'room:3' });
  assert.equal(members, [
    { sub: 'big', connections: 1 },
    { sub: 'list', connections: 1 },
    { sub: 'watcher', connections: 1 },
  ]);
});

test('anonymous sockets are never members; they are counted apart in the stats', async () => {
  const gw = await gateway();
  const anon = await connectAs(gw, null);
  await subscribe(anon, 'room:open');
  const member = await connectAs(gw, claims('dave', true));
  await subscribe(member, 'room:open');
  const statsOf = async () => (await admin(gw.address().port, 'GET', '/admin/presence/stats?channel=room:open')).json as PresenceStats;
  await waitFor(async () => (await statsOf()).members === 1, 2000, 'stats');
  const stats = await admin(gw.address().port, 'GET', '/admin/presence/stats?channel=room:open');
  assert.equal(stats.body, { members: 1, connections: 1, anonymous: 1 });
  const list = await admin(gw.address().port, 'GET', '/admin/presence?channel=room:open');
  assert.is(list.status, 200);
  assert.equal((list.json as PresenceSnapshot).members, [{ sub: 'dave', connections: 1 }]);
  const none = await admin(gw.address().port, 'GET', '/admin/presence/stats?channel=plain:x');
  assert.is(none.status, 404);
  assert.is((none.body as { error: { name: string } }).error.name, ErrorName.PresenceNotEnabled);
  const bad = await admin(gw.address().port, 'GET', '/admin/presence?channel=room:open&limit=abc');
  assert.is(bad.status, 400);
  const noKey = await admin(gw.address().port, 'GET', '/admin/presence?channel=room:open', undefined, null);
  assert.is(noKey.status, 401);
  const metrics = (await admin(gw.address().port, 'GET', '/metrics')).text;
  assert.match(metrics, /gatehouse_presence_batches_total\{node="[^"]+"\} [1-9]/);
  assert.match(metrics, /gatehouse_presence_channels\{node="[^"]+"\} 1/);
});

test('a large set is paged through the cursor', async () => {
  const gw = await gateway();
  const watcher = await connectAs(gw, claims('watcher', true));
  await subscribe(watcher, 'room:4');
  for (const sub of ['u1', 'u2', 'u3', 'u4', 'u5']) await subscribe(await connectAs(gw, claims(sub, false)), 'room:4');
  await waitFor(async () => (await presenceOf(watcher, { channel: 'room:4' })).count === 6, 2000, 'six members');
  const first = await presenceOf(watcher, { channel: 'room:4', limit: 4 });
  assert.equal(
    first.members.map((m) => m.sub),
    ['u1', 'u2', 'u3', 'u4'],
  );
  assert.type(first.cursor, 'string');
  const second = await presenceOf(watcher, { channel: 'room:4', limit: 4, cursor: first.cursor });
  assert.equal(
    second.members.map((m) => m.sub),
    ['u5', 'watcher'],
  );
  assert.is(second.cursor, undefined);
  assert.equal((await allMembers(watcher, 'room:4', 2)).subs, ['u1', 'u2', 'u3', 'u4', 'u5', 'watcher']);
});

test('joins are coalesced: forty users joining at once reach a watcher in a few frames', async () => {
  const gw = await gateway();
  const watcher = await connectAs(gw, claims('watcher', true));
  await subscribe(watcher, 'room:5');
  const seen = watchPresence(watcher);
  const joiners = await Promise.all(Array.from({ length: 40 }, (_, i) => connectAs(gw, claims(`j${i}`, false))));
  await Promise.all(joiners.map((c) => subscribe(c, 'room:5')));
  await waitFor(() => changes(seen.events).flatMap((e) => e.joins).length === 40, 3000, 'forty joins');
  assert.ok(seen.events.length <= 5, `${seen.events.length} frames`);
  const seqs = seen.events.map((e) => e.seq);
  for (let i = 1; i < seqs.length; i++) assert.is(seqs[i], seqs[i - 1] + 1);
});

test('deauthentication and revocation leave with their reasons', async () => {
  const gw = await gateway();
  const watcher = await connectAs(gw, claims('watcher', true));
  await subscribe(watcher, 'room:open');
  const seen = watchPresence(watcher);
  const erin = await connectAs(gw, claims('erin', false, { sid: 'erin-session' }));
  const frank = await connectAs(gw, claims('frank', false));
  await subscribe(erin, 'room:open');
  await subscribe(frank, 'room:open');
  await waitFor(() => changes(seen.events).flatMap((e) => e.joins).length === 2, 2000, 'two joins');
  await frank.deauthenticate();
  await waitFor(() => changes(seen.events).some((e) => e.leaves.length > 0), 2000, "frank's leave");
  assert.equal(
    changes(seen.events).flatMap((e) => e.leaves),
    [{ sub: 'frank', reason: 'deauthenticated' }],
  );
  const revoked = await admin(gw.address().port, 'POST', '/admin/revoke', { sub: 'erin' });
  assert.is(revoked.status, 200);
  await waitFor(() => changes(seen.events).flatMap((e) => e.leaves).length === 2, 2000, "erin's leave");
  assert.equal(changes(seen.events).flatMap((e) => e.leaves)[1], { sub: 'erin', reason: 'revoked' });
  const stats = await admin(gw.address().port, 'GET', '/admin/presence/stats?channel=room:open');
  assert.equal(stats.body, { members: 1, connections: 1, anonymous: 1 }, 'frank stays subscribed, anonymously');
});

test('a renewal with another info is an update; one without the presence capability stops events and the list', async () => {
  const gw = await gateway();
  const watcher = await connectAs(gw, claims('watcher', true));
  const seen = watchPresence(watcher);
  await subscribe(watcher, 'room:8');
  await waitFor(() => seen.events.length === 1, 2000, "the watcher's own join");
  const hana = await connectAs(gw, claims('hana', false, { info: { status: 'away' } }));
  await subscribe(hana, 'room:8');
  await waitFor(() => changes(seen.events).length === 1, 2000, "hana's join");
  await hana.authenticate(mintHs256(claims('hana', false, { info: { status: 'here' } })));
  await waitFor(() => changes(seen.events).length === 2, 2000, "hana's update");
  assert.equal(changes(seen.events)[1].updates, [{ sub: 'hana', info: { status: 'here' } }]);
  assert.equal(changes(seen.events)[1].joins, []);

  // The watcher's renewed token keeps the subscribe grant but not the presence capability.
  await watcher.authenticate(mintHs256({ sub: 'watcher', channels: { 'room:*': ['subscribe'] } }));
  const before = seen.events.length;
  await subscribe(await connectAs(gw, claims('ivo', false)), 'room:8');
  await sleep(400);
  assert.is(seen.events.length, before, 'no events without the capability');
  assert.is((await presenceError(watcher, { channel: 'room:8' })).name, ErrorName.PresenceForbidden);
});

test('past the member limit, events carry counts only, at most once a second', async () => {
  const gw = await gateway({ GATEHOUSE_PRESENCE_MAX_MEMBERS: '3' });
  const watcher = await connectAs(gw, claims('watcher', true));
  await subscribe(watcher, 'room:6');
  const seen = watchPresence(watcher);
  for (let i = 0; i < 6; i++) {
    await subscribe(await connectAs(gw, claims(`o${i}`, false)), 'room:6');
    await sleep(80);
  }
  await waitFor(() => seen.events.some((e) => isOccupancy(e) && e.count === 7), 3000, 'the count of seven');
  const occupancy = seen.events.filter(isOccupancy);
  assert.ok(occupancy.length >= 1);
  for (let i = 1; i < occupancy.length; i++)
    assert.ok(seen.times[seen.events.indexOf(occupancy[i])] - seen.times[seen.events.indexOf(occupancy[i - 1])] >= 900);
  assert.is((await allMembers(watcher, 'room:6', 2)).subs.length, 7, 'the list is still paged');
});

test('reconnecting within the grace makes no event; staying away past it leaves as disconnected', async () => {
  const gw = await gateway({ GATEHOUSE_PRESENCE_GRACE: '1500ms' });
  const watcher = await connectAs(gw, claims('watcher', true));
  const seen = watchPresence(watcher);
  await subscribe(watcher, 'room:7');
  await waitFor(() => seen.events.length === 1, 2000, "the watcher's own join");
  seen.events.length = 0;
  const first = await connectAs(gw, claims('gina', false));
  await subscribe(first, 'room:7');
  await waitFor(() => seen.events.length === 1, 2000, 'the join');
  first.disconnect();
  const again = await connectAs(gw, claims('gina', false));
  await subscribe(again, 'room:7');
  await sleep(1800);
  assert.equal(seen.events.length, 1, `no leave, no join: ${JSON.stringify(seen.events)}`);
  again.disconnect();
  await waitFor(() => seen.events.length === 2, 3000, 'the leave');
  assert.equal((seen.events[1] as PresenceChanges).leaves, [{ sub: 'gina', reason: 'disconnected' }]);
});

test.run();
