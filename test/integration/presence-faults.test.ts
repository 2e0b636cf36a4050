// budget: 240s
// alone: its timings need the machine to itself
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import { ErrorName, type PresenceChanges, type PresenceEvent, type PresenceLeave } from '../../shared';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { subscribe } from '../helpers/channels';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import { GatewayProcess } from '../helpers/gateway-process';
import { allMembers, presenceError, presenceRulesFile, watchPresence } from '../helpers/presence';
import type { TestRedis } from '../helpers/redis-server';
import { useScope } from '../helpers/scope';

// Presence when nodes die, end gracefully, clients move between nodes, and Redis restarts: real gateway processes
// on one Redis, each test with its own nodes and channel.

const rules = presenceRulesFile({ presence: ['room:*'], authenticated: { 'room:*': ['subscribe'] } });

let redis: TestRedis;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

/** A gateway process on the shared Redis, killed with the test: nothing needs its graceful end once the test is over. */
async function node(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const started = await GatewayProcess.start({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_CHANNELS_FILE: rules, ...env });
  return scope.own(started, (n) => n.kill(), 'gateway process');
}

async function connectAs(on: GatewayProcess, sub: string, watcher = false): Promise<AGClientSocket> {
  const { client, status } = await scope.connect(on, mintHs256({ sub, ...(watcher ? { channels: { 'room:*': ['subscribe', 'presence'] } } : {}) }));
  assert.ok(status.isAuthenticated);
  return client;
}

async function watcher(on: GatewayProcess, channel: string, sub: string) {
  const client = await connectAs(on, sub, true);
  const seen = watchPresence(client);
  await subscribe(client, channel);
  await waitFor(() => changes(seen.events).some((e) => e.joins.some((j) => j.sub === sub)), 5000, `${sub}'s own join`);
  seen.events.length = 0;
  seen.times.length = 0;
  return { client, seen };
}

function changes(events: PresenceEvent[]): PresenceChanges[] {
  return (events as PresenceChanges[]).filter((e) => Array.isArray(e.joins));
}

function joinsOf(events: PresenceEvent[]): string[] {
  return changes(events).flatMap((e) => e.joins.map((j) => j.sub).filter((s) => !s.startsWith('watcher')));
}

function leavesOf(events: PresenceEvent[]): PresenceLeave[] {
  return changes(events).flatMap((e) => e.leaves.filter((l) => !l.sub.startsWith('watcher')));
}

test.before(async () => {
  redis = await suiteScope.redis();
});

test('SIGKILL a node: node-lost leaves on the others within 15 s; restarted, no ghost', async () => {
  const [a, b, c] = await Promise.all([node({ GATEHOUSE_PRESENCE_GRACE: '1s' }), node(), node()]);
  const onB = await watcher(b, 'room:kill', 'watcher-b');
  const onC = await watcher(c, 'room:kill', 'watcher-c');
  await subscribe(await connectAs(a, 'bob'), 'room:kill');
  await subscribe(await connectAs(a, 'bea'), 'room:kill');
  for (const w of [onB, onC]) await waitFor(() => joinsOf(w.seen.events).length === 2, 5000, 'both joins');
  const killedAt = Date.now();
  await a.kill();
  for (const w of [onB, onC]) await waitFor(() => leavesOf(w.seen.events).length === 2, 16_000, 'node-lost leaves');
  const elapsed = Math.max(...[onB, onC].map((w) => w.seen.times[w.seen.times.length - 1])) - killedAt;
  assert.ok(elapsed <= 15_000, `leaves ${elapsed} ms after the kill`);
  for (const w of [onB, onC]) {
    assert.equal(
      leavesOf(w.seen.events)
        .map((l) => `${l.sub}:${l.reason}`)
        .sort(),
      ['bea:node-lost', 'bob:node-lost'],
    );
  }
  const restarted = await node();
  const onRestarted = await watcher(restarted, 'room:kill', 'watcher-r');
  await sleep(2500);
  assert.equal((await allMembers(onRestarted.client, 'room:kill')).subs, ['watcher-b', 'watcher-c', 'watcher-r'], 'no ghost');
  assert.equal(leavesOf(onB.seen.events).length, 2, 'no second leave');
});

test('SIGTERM a node with no grace: its members leave within 1 s', async () => {
  const [a, b] = await Promise.all([node({ GATEHOUSE_PRESENCE_GRACE: '0' }), node({ GATEHOUSE_PRESENCE_GRACE: '0' })]);
  const onB = await watcher(b, 'room:term', 'watcher-b');
  const carol = await connectAs(a, 'carol');
  await subscribe(carol, 'room:term');
  await waitFor(() => joinsOf(onB.seen.events).length === 1, 5000, 'the join');
  const closed = new Promise<number>((resolve) => {
    void (async () => {
      for await (const _ of carol.listener('close')) {
        resolve(Date.now());
        break;
      }
    })();
  });
  const stopping = a.stop();
  const closedAt = await closed;
  await waitFor(() => leavesOf(onB.seen.events).length === 1, 3000, 'the leave');
  await stopping;
  assert.equal(leavesOf(onB.seen.events), [{ sub: 'carol', reason: 'disconnected' }]);
  const after = onB.seen.times[onB.seen.times.length - 1] - closedAt;
  assert.ok(after <= 1000, `the leave came ${after} ms after the socket closed`);
});

test('SIGTERM a node whose clients reconnect elsewhere within the grace: no event at all', async () => {
  const [a, b] = await Promise.all([node({ GATEHOUSE_PRESENCE_GRACE: '3s' }), node({ GATEHOUSE_PRESENCE_GRACE: '3s' })]);
  const onB = await watcher(b, 'room:move', 'watcher-b');
  const dave = await connectAs(a, 'dave');
  await subscribe(dave, 'room:move');
  await waitFor(() => joinsOf(onB.seen.events).length === 1, 5000, 'the join');
  onB.seen.events.length = 0;
  await a.stop();
  await subscribe(await connectAs(b, 'dave'), 'room:move');
  await sleep(6000);
  assert.equal(joinsOf(onB.seen.events), [], 'no join');
  assert.equal(leavesOf(onB.seen.events), [], 'no leave');
  assert.equal((await allMembers(onB.client, 'room:move')).subs, ['dave', 'watcher-b']);
});

test('SIGTERM a node whose clients stay away: they leave as disconnected once the grace is over', async () => {
  const [a, b] = await Promise.all([node({ GATEHOUSE_PRESENCE_GRACE: '1500ms' }), node({ GATEHOUSE_PRESENCE_GRACE: '1500ms' })]);
  const onB = await watcher(b, 'room:gone', 'watcher-b');
  await subscribe(await connectAs(a, 'jana'), 'room:gone');
  await waitFor(() => joinsOf(onB.seen.events).length === 1, 5000, 'the join');
  const stoppedAt = Date.now();
  await a.stop();
  await waitFor(() => leavesOf(onB.seen.events).length === 1, 8000, 'the leave');
  const after = onB.seen.times[onB.seen.times.length - 1] - stoppedAt;
  assert.equal(leavesOf(onB.seen.events), [{ sub: 'jana', reason: 'disconnected' }]);
  assert.ok(after >= 1000, `not before the grace (${after} ms)`);
  assert.equal((await allMembers(onB.client, 'room:gone')).subs, ['watcher-b']);
});

test('a reconnect to another node within the grace makes zero events; staying away leaves once', async () => {
  const [a, b] = await Promise.all([node({ GATEHOUSE_PRESENCE_GRACE: '2s' }), node({ GATEHOUSE_PRESENCE_GRACE: '2s' })]);
  const onB = await watcher(b, 'room:grace', 'watcher-b');
  const first = await connectAs(a, 'erin');
  await subscribe(first, 'room:grace');
  await waitFor(() => joinsOf(onB.seen.events).length === 1, 5000, 'the join');
  onB.seen.events.length = 0;
  first.disconnect();
  await sleep(300);
  const second = await connectAs(b, 'erin');
  await subscribe(second, 'room:grace');
  await sleep(3000);
  assert.is(onB.seen.events.length, 0, `no event: ${JSON.stringify(onB.seen.events)}`);
  second.disconnect();
  await waitFor(() => leavesOf(onB.seen.events).length === 1, 5000, 'the leave');
  assert.equal(leavesOf(onB.seen.events), [{ sub: 'erin', reason: 'disconnected' }]);
});

test('Redis restarted: the set is right again within 10 s, with no leave or join in between', async () => {
  const [a, b] = await Promise.all([node({ GATEHOUSE_PRESENCE_GRACE: '1s' }), node({ GATEHOUSE_PRESENCE_GRACE: '1s', GATEHOUSE_ADMIN_KEY: ADMIN_KEY })]);
  const onB = await watcher(b, 'room:redis', 'watcher-b');
  const members = ['m1', 'm2', 'm3', 'm4'];
  for (const [i, sub] of members.entries()) await subscribe(await connectAs(i % 2 ? a : b, sub), 'room:redis');
  await waitFor(() => joinsOf(onB.seen.events).length === members.length, 5000, 'the joins');
  onB.seen.events.length = 0;
  await redis.stop();
  const stoppedAt = Date.now();
  // While the index is away a list would be this node's part only: the client gets a name it can retry on.
  const refused = await presenceError(onB.client, { channel: 'room:redis' });
  assert.is(refused.name, ErrorName.PresenceUnavailable);
  assert.is(refused.channel, 'room:redis');
  const stats = await admin(b.port, 'GET', '/admin/presence/stats?channel=room:redis');
  assert.is(stats.status, 503);
  assert.is(stats.body.error.name, ErrorName.AdminUnavailable);
  await sleep(Math.max(0, 1000 - (Date.now() - stoppedAt)));
  await redis.start();
  const back = Date.now();
  await waitFor(
    async () => {
      try {
        return (await allMembers(onB.client, 'room:redis')).subs.join() === [...members, 'watcher-b'].join();
      } catch {
        return false;
      }
    },
    10_000,
    'the set, right again',
  );
  const took = Date.now() - back;
  await sleep(1500);
  assert.equal(joinsOf(onB.seen.events), [], 'no join storm');
  assert.equal(leavesOf(onB.seen.events), [], 'no leave storm');
  assert.ok(took <= 10_000, `${took} ms`);
});

test('a node stalled past its lease comes back under a new epoch: no ghost, the others not declared dead', async () => {
  const [a, b] = await Promise.all([node({ GATEHOUSE_PRESENCE_GRACE: '1s' }), node({ GATEHOUSE_PRESENCE_GRACE: '1s' })]);
  const onB = await watcher(b, 'room:stall', 'watcher-b');
  await subscribe(await connectAs(b, 'ivan'), 'room:stall');
  const hal = await connectAs(a, 'hal', false);
  await subscribe(hal, 'room:stall');
  await waitFor(() => joinsOf(onB.seen.events).length === 2, 5000, 'the joins');
  onB.seen.events.length = 0;
  a.pause();
  try {
    await waitFor(() => leavesOf(onB.seen.events).length === 1, 15_000, "the stalled node's member leaves");
  } finally {
    a.resume();
  }
  assert.equal(leavesOf(onB.seen.events), [{ sub: 'hal', reason: 'node-lost' }]);
  const before = onB.seen.events.length;
  // Back, the node re-asserts its members quietly under a new epoch: a gap for the watchers, who read the list again.
  await waitFor(async () => (await allMembers(onB.client, 'room:stall')).subs.join() === 'hal,ivan,watcher-b', 10_000, 'hal back in the list');
  // The list reads the index at once; the quiet batch that announces the gap reaches the watcher a moment later.
  await waitFor(() => onB.seen.events.length > before, 5000, 'the re-assertion reaches the watcher');
  const after = onB.seen.events.slice(before);
  assert.equal(joinsOf(after), [], 'no join storm');
  assert.ok(
    after.some((e, i) => e.seq !== (i === 0 ? onB.seen.events[before - 1].seq : after[i - 1].seq) + 1),
    'a seq gap tells the watcher',
  );
  await sleep(2000);
  assert.equal(leavesOf(onB.seen.events.slice(before)), [], 'nobody on the healthy node was declared gone');
});

test.run();
