// budget: 150s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import { ErrorName, type PresenceChanges, type PresenceEvent, type PresenceLeave } from '../../shared';
import { subscribe } from '../helpers/channels';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import type { GatewayProcess } from '../helpers/gateway-process';
import { allMembers, presenceError, presenceOf, presenceRulesFile, watchPresence } from '../helpers/presence';
import type { TestRedis } from '../helpers/redis-server';
import { useScope } from '../helpers/scope';

// Presence across gateway processes on one Redis: joins seen everywhere, one member per user, crashes, graceful
// ends, reconnects within the grace, a Redis restart, and who may see members.

const rules = presenceRulesFile({ presence: ['room:*'], authenticated: { 'room:*': ['subscribe'] } });
const GRACE_MS = 1500;

let redis: TestRedis;
const nodes: GatewayProcess[] = [];
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

async function node(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const started = await suiteScope.process({
    GATEHOUSE_REDIS_URL: redis.url,
    GATEHOUSE_CHANNELS_FILE: rules,
    GATEHOUSE_PRESENCE_GRACE: `${GRACE_MS}ms`,
    ...env,
  });
  nodes.push(started);
  return started;
}

function token(sub: string, watcher: boolean, extra: Record<string, unknown> = {}): string {
  return mintHs256({ sub, ...(watcher ? { channels: { 'room:*': ['subscribe', 'presence'] } } : {}), ...extra });
}

async function connectAs(on: GatewayProcess, sub: string, watcher = false, extra: Record<string, unknown> = {}, opts = {}): Promise<AGClientSocket> {
  const { client, status } = await scope.connect(on, token(sub, watcher, extra), opts);
  assert.ok(status.isAuthenticated, `${sub} authenticated`);
  return client;
}

/** A watcher on `on` subscribed to `channel`, its own join already seen and dropped. */
async function watcher(on: GatewayProcess, channel: string, sub: string) {
  const client = await connectAs(on, sub, true);
  const seen = watchPresence(client);
  await subscribe(client, channel);
  await waitFor(() => (seen.events as PresenceChanges[]).some((e) => e.joins?.some((j) => j.sub === sub)), 5000, `${sub}'s own join`);
  seen.events.length = 0;
  return { client, seen };
}

/** The joins a watcher saw, other watchers' left out. */
function joinsOf(events: PresenceEvent[]): string[] {
  return (events as PresenceChanges[]).flatMap((e) => e.joins?.map((j) => j.sub).filter((s) => !s.startsWith('watcher')) ?? []);
}

function leavesOf(events: PresenceEvent[]): PresenceLeave[] {
  return (events as PresenceChanges[]).flatMap((e) => e.leaves ?? []);
}

test.before(async () => {
  redis = await suiteScope.redis();
});

test('a join on node A is seen on B and C; two tabs of one user are one join; closing one tab is no leave', async () => {
  const [a, b, c] = await Promise.all([node(), node(), node()]);
  const onB = await watcher(b, 'room:1', 'watcher-b');
  const onC = await watcher(c, 'room:1', 'watcher-c');
  const tab1 = await connectAs(a, 'alice', false, { info: { name: 'Alice' } });
  await subscribe(tab1, 'room:1');
  const tab2 = await connectAs(b, 'alice', false, { info: { name: 'Alice' } });
  await subscribe(tab2, 'room:1');
  for (const w of [onB, onC]) await waitFor(() => joinsOf(w.seen.events).includes('alice'), 5000, 'the join on every node');
  await sleep(400);
  for (const w of [onB, onC]) {
    assert.equal(joinsOf(w.seen.events), ['alice'], 'one join');
    assert.equal(
      (w.seen.events as PresenceChanges[]).flatMap((e) => e.joins).find((j) => j.sub === 'alice'),
      { sub: 'alice', info: { name: 'Alice' } },
    );
  }
  const alice = async () => (await presenceOf(onC.client, { channel: 'room:1' })).members.find((m) => m.sub === 'alice');
  await waitFor(async () => (await alice())?.connections === 2, 5000, "alice's two connections");
  assert.equal(await alice(), { sub: 'alice', info: { name: 'Alice' }, connections: 2 });
  tab1.disconnect();
  await sleep(GRACE_MS + 1500);
  assert.equal(leavesOf(onB.seen.events), [], 'closing one tab is no leave');
  assert.equal(leavesOf(onC.seen.events), []);
  const seqs = onC.seen.events.map((e) => e.seq);
  const again = await presenceOf(onB.client, { channel: 'room:1' });
  assert.is(again.members.find((m) => m.sub === 'alice')?.connections, 1);
  assert.ok(again.seq >= seqs[seqs.length - 1]);
  void tab2.unsubscribe('room:1');
  for (const w of [onB, onC]) await waitFor(() => leavesOf(w.seen.events).length === 1, 5000, 'the leave on every node');
  assert.equal(leavesOf(onB.seen.events), [{ sub: 'alice', reason: 'unsubscribed' }]);
  // Every node saw the same batches, numbered one after the other (B also saw C's watcher join).
  const seqsB = onB.seen.events.map((e) => e.seq);
  const seqsC = onC.seen.events.map((e) => e.seq);
  assert.equal(seqsB.slice(seqsB.length - seqsC.length), seqsC);
  for (const w of [onB, onC]) for (let i = 1; i < w.seen.events.length; i++) assert.is(w.seen.events[i].seq, w.seen.events[i - 1].seq + 1);
});

test('what a client sends cannot change what others see: identity comes from the verified token only', async () => {
  const [a, b] = nodes.length >= 2 ? nodes : await Promise.all([node(), node()]);
  const onB = await watcher(b, 'room:6', 'watcher-b6');
  const mallory = await connectAs(a, 'mallory', false, { info: { name: 'Mallory' } });
  await subscribe(mallory, 'room:6');
  // Her own data, on the channel and to the procedures, claiming another name and another sub.
  await mallory.invokePublish('room:6', { sub: 'alice', info: { name: 'Alice' } }).catch(() => undefined);
  await mallory.invoke('presence', { channel: 'room:6', sub: 'alice', info: { name: 'Alice' } }).catch(() => undefined);
  void mallory.transmit('presence', { sub: 'alice', info: { name: 'Alice' } });
  await waitFor(() => joinsOf(onB.seen.events).includes('mallory'), 5000, "mallory's join");
  await sleep(300);
  assert.equal(joinsOf(onB.seen.events), ['mallory']);
  const { subs } = await allMembers(onB.client, 'room:6');
  assert.equal(subs, ['mallory', 'watcher-b6']);
  const list = await presenceOf(onB.client, { channel: 'room:6' });
  assert.equal(list.members[0], { sub: 'mallory', info: { name: 'Mallory' }, connections: 1 });
});

test('without the presence capability, on any node: no list, no events, a named error', async () => {
  const [a, b] = nodes;
  const plain = await connectAs(b, 'plain');
  const seen = watchPresence(plain);
  await subscribe(plain, 'room:7');
  const other = await connectAs(a, 'bob');
  await subscribe(other, 'room:7');
  await sleep(500);
  assert.is(seen.events.length, 0);
  assert.is((await presenceError(plain, { channel: 'room:7' })).name, ErrorName.PresenceForbidden);
});

test('on a Redis Cluster: joins and leaves across nodes, one member per user, seq in order', async () => {
  const cluster = await scope.redisCluster(3);
  const env = { GATEHOUSE_REDIS_CLUSTER: cluster.seeds, GATEHOUSE_CHANNELS_FILE: rules, GATEHOUSE_PRESENCE_GRACE: '0' };
  const [a, b] = await Promise.all([scope.process(env), scope.process(env)]);
  const onB = await watcher(b, 'room:{odd}slot', 'watcher-b');
  const tab1 = await connectAs(a, 'zoe');
  const tab2 = await connectAs(b, 'zoe');
  await subscribe(tab1, 'room:{odd}slot');
  await subscribe(tab2, 'room:{odd}slot');
  await waitFor(() => joinsOf(onB.seen.events).length === 1, 5000, 'the join');
  // The second tab makes no event: its count reaches the index in its own node's report.
  const zoe = async () => (await presenceOf(onB.client, { channel: 'room:{odd}slot' })).members.find((m) => m.sub === 'zoe');
  await waitFor(async () => (await zoe())?.connections === 2, 5000, 'two connections');
  tab1.disconnect();
  tab2.disconnect();
  await waitFor(() => leavesOf(onB.seen.events).length === 1, 5000, 'the leave');
  assert.equal(leavesOf(onB.seen.events), [{ sub: 'zoe', reason: 'disconnected' }]);
  for (let i = 1; i < onB.seen.events.length; i++) assert.is(onB.seen.events[i].seq, onB.seen.events[i - 1].seq + 1);
});

test.run();
