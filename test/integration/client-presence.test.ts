// budget: 90s
// The client's presence list (client.presence) against a real gateway: one member per user, leave reasons, info
// updates on renewal, refusals by name, a dropped batch found by its seq, a reconnect, occupancy mode. The list's
// rules on their own are in test/unit/client-presence-list.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, memoryStorage, type GatehouseClient, type PresenceEvents, type PresenceList } from '../../client';
import { ErrorName, PRESENCE_EVENT } from '../../shared';
import type { Gateway } from '../../server/gateway';
import { CutProxy } from '../helpers/cut-proxy';
import { DroppingProxy } from '../helpers/dropping-proxy';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

const rulesDir = mkdtempSync(join(tmpdir(), 'gatehouse-client-presence-'));
const rules = join(rulesDir, 'channels.json');
writeFileSync(
  rules,
  JSON.stringify({
    presence: ['room:*'],
    authenticated: { 'room:*': ['subscribe'], 'plain:*': ['subscribe', 'presence'] },
  }),
);

const scope = useScope(test);

function gateway(env: Record<string, string> = {}): Promise<Gateway> {
  return scope.gateway({ GATEHOUSE_CHANNELS_FILE: rules, GATEHOUSE_PRESENCE_GRACE: '0', ...env });
}

/** A client (one tab: its own storage, no tab sharing) authenticated as `sub`, watching presence when `watcher`. */
async function user(port: number, sub: string, options: { watcher?: boolean; info?: Record<string, unknown> } = {}): Promise<GatehouseClient> {
  const c = scope.own(
    createClient({ url: `http://127.0.0.1:${port}`, tabs: false, storage: memoryStorage(), ackTimeout: 3000 }),
    (client) => client.close(),
    'gatehouse client',
  );
  await c.authenticate(token(sub, options));
  return c;
}

function token(sub: string, { watcher = false, info }: { watcher?: boolean; info?: Record<string, unknown> } = {}): string {
  return mintHs256({ sub, ...(watcher ? { channels: { 'room:*': ['subscribe', 'presence'] } } : {}), ...(info ? { info } : {}) });
}

type Seen = { [K in 'join' | 'leave' | 'update' | 'sync' | 'occupancy' | 'error']: PresenceEvents[K][] };

function record(list: PresenceList): Seen {
  const seen: Seen = { join: [], leave: [], update: [], sync: [], occupancy: [], error: [] };
  list.on('join', (e) => seen.join.push(e));
  list.on('leave', (e) => seen.leave.push(e));
  list.on('update', (e) => seen.update.push(e));
  list.on('sync', (e) => seen.sync.push(e));
  list.on('occupancy', (e) => seen.occupancy.push(e));
  list.on('error', (e) => seen.error.push(e));
  return seen;
}

const subs = (list: PresenceList) => list.list.map((m) => m.sub).sort();

async function member(port: number, sub: string, channel = 'room:1', info?: Record<string, unknown>): Promise<GatehouseClient> {
  const c = await user(port, sub, { info });
  await c.subscribe(channel).ready;
  return c;
}

test('two tabs of one user are one member; closing one is no leave; closing the last is a leave with its reason', async () => {
  const gw = await gateway();
  const port = gw.address().port;
  const watcher = await user(port, 'watcher', { watcher: true });
  const lobby = watcher.presence('room:1');
  const seen = record(lobby);
  await lobby.ready;
  // The snapshot may be read before the watcher's own join is sent (the coalescing window): it comes as a batch.
  await waitFor(() => lobby.get('watcher') !== undefined, 3000, "the watcher's own join");
  const tab1 = await member(port, 'alice', 'room:1', { name: 'Alice' });
  const tab2 = await member(port, 'alice', 'room:1', { name: 'Alice' });
  await waitFor(() => lobby.get('alice') !== undefined, 3000, "alice's join");
  await sleep(300);
  assert.equal(lobby.get('alice'), { sub: 'alice', info: { name: 'Alice' } });
  assert.equal(
    seen.join.map((j) => j.member.sub).filter((sub) => sub !== 'watcher'),
    ['alice'],
  );
  assert.is(lobby.count, 2);
  tab1.close();
  await sleep(500);
  assert.is(seen.leave.length, 0, 'one tab of two closed: no leave');
  assert.ok(lobby.get('alice'));
  tab2.close();
  await waitFor(() => seen.leave.length === 1, 3000, "alice's leave");
  assert.equal(seen.leave[0], { member: { sub: 'alice', info: { name: 'Alice' } }, reason: 'disconnected' });
  assert.equal(subs(lobby), ['watcher']);
  assert.is(seen.sync.length, 1, 'no resync: every batch arrived in order');
  assert.ok(lobby.synced);
});

test('a renewal with another info is an update; a member that unsubscribes leaves as unsubscribed', async () => {
  const gw = await gateway();
  const port = gw.address().port;
  const watcher = await user(port, 'watcher', { watcher: true });
  const lobby = watcher.presence('room:1');
  const seen = record(lobby);
  await lobby.ready;
  const bob = await user(port, 'bob', { info: { name: 'Bob' } });
  const sub = bob.subscribe('room:1');
  await sub.ready;
  await waitFor(() => lobby.get('bob') !== undefined, 3000, "bob's join");
  await bob.authenticate(token('bob', { info: { name: 'Robert' } }));
  await waitFor(() => seen.update.length === 1, 3000, "bob's update");
  assert.equal(seen.update[0], { member: { sub: 'bob', info: { name: 'Robert' } }, previous: { sub: 'bob', info: { name: 'Bob' } } });
  sub.unsubscribe();
  await waitFor(() => seen.leave.length === 1, 3000, "bob's leave");
  assert.is(seen.leave[0].reason, 'unsubscribed');
});

test("the app's own subscription of the channel and the presence list let go of it apart", async () => {
  const gw = await gateway();
  const port = gw.address().port;
  const eye = await user(port, 'eye', { watcher: true });
  const observer = eye.presence('room:1');
  const seen = record(observer);
  await observer.ready;
  const watcher = await user(port, 'watcher', { watcher: true });
  const lobby = watcher.presence('room:1');
  await lobby.ready;
  const messages = watcher.subscribe<{ n: number }>('room:1');
  await messages.ready;
  const got: { n: number }[] = [];
  void (async () => {
    for await (const m of messages) got.push(m);
  })();
  // A third holder comes and goes: the list and the messages go on.
  const passing = watcher.subscribe('room:1');
  await passing.ready;
  passing.unsubscribe();
  assert.is(await passing.ended, undefined);
  lobby.close();
  assert.is(await lobby.ended, undefined);
  const publisher = scope.own(
    createClient({ url: `http://127.0.0.1:${port}`, tabs: false, storage: memoryStorage(), ackTimeout: 3000 }),
    (client) => client.close(),
    'gatehouse client',
  );
  await publisher.authenticate(mintHs256({ sub: 'publisher', channels: { 'room:*': ['publish'] } }));
  await publisher.publish('room:1', { n: 1 });
  await waitFor(() => got.length === 1, 3000, 'the message, after the list closed');
  await sleep(300);
  assert.ok(observer.get('watcher'), 'still a member while the app holds the channel');
  assert.equal(
    seen.leave.map((l) => l.member.sub),
    [],
  );
  // The last holder lets go: now the gateway hears the unsubscribe.
  messages.unsubscribe();
  await waitFor(() => seen.leave.length === 1, 3000, "the watcher's leave");
  assert.equal(seen.leave[0], { member: { sub: 'watcher' }, reason: 'unsubscribed' });
});

test('without the presence capability, or on a channel without presence: the list ends with the named error', async () => {
  const gw = await gateway();
  const port = gw.address().port;
  const plain = await user(port, 'plain');
  const refused = plain.presence('room:1');
  const err = await refused.ready.then(
    () => undefined,
    (e: Error) => e,
  );
  assert.is(err?.name, ErrorName.PresenceForbidden);
  assert.is((await refused.ended)?.name, ErrorName.PresenceForbidden);
  const elsewhere = plain.presence('plain:1');
  assert.is((await elsewhere.ended)?.name, ErrorName.PresenceNotEnabled);
});

test('a renewal without the presence capability ends the list with PresenceForbiddenError', async () => {
  const gw = await gateway();
  const port = gw.address().port;
  const watcher = await user(port, 'watcher', { watcher: true });
  const lobby = watcher.presence('room:1');
  await lobby.ready;
  await watcher.authenticate(token('watcher'));
  assert.is((await lobby.ended)?.name, ErrorName.PresenceForbidden);
});

test('a dropped batch is found by its seq and the list is loaded again, exact', async () => {
  const gw = await gateway();
  const port = gw.address().port;
  const proxy = scope.own(await DroppingProxy.start(port), (p) => p.close(), 'dropping proxy');
  const watcher = await user(proxy.port, 'watcher', { watcher: true });
  const lobby = watcher.presence('room:1');
  const seen = record(lobby);
  await lobby.ready;
  await waitFor(() => lobby.get('watcher') !== undefined, 3000, "the watcher's own join");
  const dropped = proxy.dropNext((text) => text.includes(PRESENCE_EVENT) && text.includes('"bob"'));
  await member(port, 'bob');
  await dropped;
  await sleep(200);
  assert.is(lobby.get('bob'), undefined, 'the batch with bob never arrived');
  await member(port, 'carol');
  await waitFor(() => seen.sync.length === 2 && lobby.synced, 3000, 'the resync');
  assert.is(seen.sync[1].cause, 'gap');
  assert.equal(subs(lobby), ['bob', 'carol', 'watcher']);
  assert.equal(
    seen.sync[1].joined.map((m) => m.sub),
    ['bob', 'carol'],
  );
});

test('after a reconnect the list is loaded again; who came and went meanwhile is in the sync', async () => {
  const gw = await gateway();
  const port = gw.address().port;
  const proxy = scope.own(await CutProxy.start(port), (p) => p.close(), 'cut proxy');
  const bob = await member(port, 'bob');
  const watcher = await user(proxy.port, 'watcher', { watcher: true });
  const lobby = watcher.presence('room:1');
  const seen = record(lobby);
  await lobby.ready;
  await waitFor(() => lobby.get('watcher') !== undefined, 3000, "the watcher's own join");
  assert.equal(subs(lobby), ['bob', 'watcher']);
  proxy.cut();
  await waitFor(() => !lobby.synced, 3000, 'the list to notice the cut');
  bob.close();
  await member(port, 'carol');
  await sleep(300);
  proxy.restore();
  await waitFor(() => seen.sync.length === 2 && lobby.synced, 10_000, 'the resync after the reconnect');
  assert.is(seen.sync[1].cause, 'reconnect');
  // The watcher left too (its socket was cut, no grace here) and joins again with its new socket.
  await waitFor(() => lobby.get('watcher') !== undefined, 3000, "the watcher's own join again");
  assert.equal(subs(lobby), ['carol', 'watcher']);
  assert.ok(seen.sync[1].left.some((m) => m.sub === 'bob'));
  assert.equal(
    seen.sync[1].joined.map((m) => m.sub),
    ['carol'],
  );
  assert.is(seen.leave.length, 0, 'the leaves sent while the socket was away were never received');
});

test('past the member limit the list keeps the count only, and loads the members again below it', async () => {
  const gw = await gateway({ GATEHOUSE_PRESENCE_MAX_MEMBERS: '3' });
  const port = gw.address().port;
  const watcher = await user(port, 'watcher', { watcher: true });
  const lobby = watcher.presence('room:1');
  const seen = record(lobby);
  await lobby.ready;
  const many = [];
  for (const sub of ['a', 'b', 'c', 'd']) many.push(await member(port, sub));
  await waitFor(() => lobby.mode === 'occupancy' && lobby.count === 5, 5000, 'occupancy mode');
  assert.equal(lobby.list, []);
  for (const c of many.slice(0, 3)) c.close();
  await waitFor(() => lobby.mode === 'members' && lobby.synced, 5000, 'members mode again');
  assert.equal(subs(lobby), ['d', 'watcher']);
  assert.ok(seen.occupancy.length >= 1);
  assert.ok(seen.sync.some((s) => s.cause === 'members-mode'));
});

test.run();
