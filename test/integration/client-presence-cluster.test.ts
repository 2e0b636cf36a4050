// budget: 120s
// The client's presence list across gateway processes on one Redis: one member per user whichever node its tabs are
// on, joins and leaves from other nodes, and a crashed node's members leaving the list as node-lost.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createClient, memoryStorage, type GatehouseClient, type PresenceEvents, type PresenceList } from '../../client';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import type { GatewayProcess } from '../helpers/gateway-process';
import { presenceRulesFile } from '../helpers/presence';
import type { TestRedis } from '../helpers/redis-server';
import { useScope } from '../helpers/scope';

const rules = presenceRulesFile({ presence: ['room:*'], authenticated: { 'room:*': ['subscribe'] } });

let redis: TestRedis;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  redis = await suiteScope.redis();
});

function node(): Promise<GatewayProcess> {
  return scope.process({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_CHANNELS_FILE: rules, GATEHOUSE_PRESENCE_GRACE: '0' });
}

/** One tab of `sub` on `on`: its own client, authenticated, subscribed to room:1 unless it is a watcher. */
async function tab(on: GatewayProcess, sub: string, watcher = false): Promise<GatehouseClient> {
  const c = scope.own(
    createClient({ url: `http://127.0.0.1:${on.port}`, tabs: false, storage: memoryStorage(), ackTimeout: 3000 }),
    (client) => client.close(),
    'gatehouse client',
  );
  await c.authenticate(mintHs256({ sub, info: { name: sub.toUpperCase() }, ...(watcher ? { channels: { 'room:*': ['subscribe', 'presence'] } } : {}) }));
  if (!watcher) await c.subscribe('room:1').ready;
  return c;
}

type Seen = { join: PresenceEvents['join'][]; leave: PresenceEvents['leave'][]; sync: PresenceEvents['sync'][] };

async function watch(on: GatewayProcess, sub: string): Promise<{ list: PresenceList; seen: Seen }> {
  const list = (await tab(on, sub, true)).presence('room:1');
  const seen: Seen = { join: [], leave: [], sync: [] };
  list.on('join', (e) => seen.join.push(e));
  list.on('leave', (e) => seen.leave.push(e));
  list.on('sync', (e) => seen.sync.push(e));
  await list.ready;
  await waitFor(() => list.get(sub) !== undefined, 5000, `${sub}'s own join`);
  return { list, seen };
}

const others = (list: PresenceList) =>
  list.list
    .map((m) => m.sub)
    .filter((s) => !s.startsWith('watcher'))
    .sort();

test('tabs of one user on two nodes are one member; joins and leaves from another node reach the list', async () => {
  const [a, b] = await Promise.all([node(), node()]);
  const { list, seen } = await watch(b, 'watcher-b');
  const aliceOnA = await tab(a, 'alice');
  const aliceOnB = await tab(b, 'alice');
  const bob = await tab(a, 'bob');
  await waitFor(() => others(list).length === 2, 5000, 'alice and bob');
  await sleep(300);
  assert.equal(others(list), ['alice', 'bob']);
  assert.equal(list.get('alice'), { sub: 'alice', info: { name: 'ALICE' } });
  assert.equal(
    seen.join
      .map((j) => j.member.sub)
      .filter((s) => !s.startsWith('watcher'))
      .sort(),
    ['alice', 'bob'],
  );
  aliceOnA.close();
  bob.close();
  await waitFor(() => seen.leave.length === 1, 5000, "bob's leave");
  await sleep(300);
  assert.equal(
    seen.leave.map((l) => [l.member.sub, l.reason]),
    [['bob', 'disconnected']],
  );
  assert.equal(others(list), ['alice']);
  aliceOnB.close();
  await waitFor(() => seen.leave.length === 2, 5000, "alice's leave");
  assert.ok(list.synced);
});

test("a crashed node's members leave the list as node-lost, within 15 s", async () => {
  const [a, b] = await Promise.all([node(), node()]);
  const { list, seen } = await watch(b, 'watcher-b');
  await tab(a, 'carol');
  await waitFor(() => list.get('carol') !== undefined, 5000, "carol's join");
  const killed = Date.now();
  await a.kill();
  await waitFor(() => seen.leave.some((l) => l.member.sub === 'carol'), 20_000, "carol's node-lost leave");
  const tookMs = Date.now() - killed;
  assert.ok(tookMs <= 15_000, `the leave came ${tookMs} ms after the kill`);
  assert.equal(
    seen.leave.map((l) => [l.member.sub, l.reason]),
    [['carol', 'node-lost']],
  );
  assert.equal(others(list), []);
});

test.run();
