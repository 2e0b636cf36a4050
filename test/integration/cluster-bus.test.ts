// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import type { AGClientSocket } from 'socketcluster-client';
import { CHANNEL_PREFIX } from '../../server/cluster';
import { HEARTBEAT_CHANNEL_PREFIX } from '../../server/cluster/redis-pubsub';
import { REVOCATION_CHANNEL } from '../../server/revocation/redis-store';
import type { Gateway } from '../../server/gateway';
import { ErrorName } from '../../shared';
import { settle, subscribe, subscribeError } from '../helpers/channels';
import { mintHs256, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { freePort, TestRedis } from '../helpers/redis-server';
import { SlowProxy } from '../helpers/slow-proxy';

// Two in-process nodes on one private Redis, and one node without Redis. Tokens grant every channel so the tests
// keep passing once channel rules deny by default.
let redis: TestRedis;
let probe: Redis;
let a: Gateway;
let b: Gateway;
let solo: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);
const token = () => mintHs256({ sub: 'alice', channels: ['*'] });

test.before(async () => {
  redis = await suiteScope.redis();
  probe = suiteScope.own(redis.client(), (c) => c.disconnect(), 'redis client');
  probe.on('error', () => {});
  [a, b, solo] = await Promise.all([
    suiteScope.gateway({ GATEHOUSE_REDIS_URL: redis.url }),
    suiteScope.gateway({ GATEHOUSE_REDIS_URL: redis.url }),
    suiteScope.gateway(),
  ]);
  await waitFor(() => a.clusterBus!.connected && b.clusterBus!.connected, 5000, 'both buses to connect');
});

async function client(gw: Gateway): Promise<AGClientSocket> {
  const { client: c, status } = await scope.connect(gw, token());
  assert.is(status.isAuthenticated, true);
  return c;
}

/** How many Redis connections subscribe to a client channel. */
async function redisSubscribers(channel: string): Promise<number> {
  const reply = (await probe.pubsub('NUMSUB', CHANNEL_PREFIX + channel)) as [string, number];
  return Number(reply[1]);
}

test('each node has its own id', () => {
  assert.ok(a.nodeId.length > 0);
  assert.is.not(a.nodeId, b.nodeId);
  assert.is.not(a.clusterBus!.senderId, b.clusterBus!.senderId);
});

test('a server-side publish on A reaches clients on A and B and an exchange subscriber on B, once each', async () => {
  const onA = await subscribe(await client(a), 'news');
  const onB = await subscribe(await client(b), 'news');
  const exchangeOnB: unknown[] = [];
  const serverChannel = b.agServer.exchange.subscribe('news');
  void (async () => {
    for await (const data of serverChannel) exchangeOnB.push(data);
  })();
  await waitFor(async () => (await redisSubscribers('news')) === 2, 2000, 'both nodes to hold news');

  await a.agServer.exchange.transmitPublish('news', { n: 1 });
  await b.agServer.exchange.invokePublish('news', { n: 2 });
  await onA.waitFor(2);
  await onB.waitFor(2);
  await waitFor(() => exchangeOnB.length === 2, 2000, 'the exchange subscriber');
  await settle();
  // Publishes made on two nodes have no order between them; count, do not order.
  const byN = (list: unknown[]) => [...list].sort((x, y) => (x as { n: number }).n - (y as { n: number }).n);
  assert.equal(byN(onA.messages), [{ n: 1 }, { n: 2 }]);
  assert.equal(byN(onB.messages), [{ n: 1 }, { n: 2 }]);
  assert.equal(byN(exchangeOnB), [{ n: 1 }, { n: 2 }]);
  assert.ok(a.clusterBus!.stats.echoes > 0, 'A saw its own message come back from Redis and dropped it');
  serverChannel.close();
  await b.agServer.exchange.unsubscribe('news');
});

test('a client publish reaches subscribers on both nodes once, in both directions', async () => {
  const onA = await subscribe(await client(a), 'room');
  const onB = await subscribe(await client(b), 'room');
  const pubA = await client(a);
  const pubB = await client(b);
  await pubA.invokePublish('room', 'from A');
  await pubB.invokePublish('room', 'from B');
  await onA.waitFor(2);
  await onB.waitFor(2);
  await settle();
  assert.equal([...onA.messages].sort(), ['from A', 'from B']);
  assert.equal([...onB.messages].sort(), ['from A', 'from B']);
});

test('a message published on A right after a subscribe on B is acknowledged is not lost', async () => {
  // B reaches Redis over a slow link (100 ms each way) while A publishes directly: had B acknowledged before its
  // SUBSCRIBE held, A's publish would reach Redis first and be lost.
  const proxy = scope.own(await SlowProxy.start(redis.port, 100), (p) => p.close(), 'slow proxy');
  const slow = await scope.gateway({ GATEHOUSE_REDIS_URL: proxy.url });
  await waitFor(() => slow.clusterBus!.connected, 5000, 'the slow node to connect');
  const subscriber = await client(slow);
  for (let i = 0; i < 5; i++) {
    const channel = `fresh-${i}`;
    const inbox = await subscribe(subscriber, channel);
    await a.agServer.exchange.transmitPublish(channel, i);
    await inbox.waitFor(1, 2000);
    inbox.stop();
  }
});

test('a node subscribes in Redis only while it has local subscribers', async () => {
  const c1 = await client(a);
  const c2 = await client(a);
  assert.is(await redisSubscribers('lobby'), 0);
  await subscribe(c1, 'lobby');
  await subscribe(c2, 'lobby');
  assert.is(await redisSubscribers('lobby'), 1, 'one Redis subscription per node, however many local subscribers');

  await c1.unsubscribe('lobby');
  await settle(100);
  assert.is(await redisSubscribers('lobby'), 1, 'still one local subscriber');

  c2.disconnect(); // the last one leaves by disconnecting
  await waitFor(async () => (await redisSubscribers('lobby')) === 0, 2000, 'A to unsubscribe lobby in Redis');
  assert.not.ok(a.clusterBus!.heldChannels().includes('lobby'));
  const channels = (await probe.pubsub('CHANNELS', `${CHANNEL_PREFIX}lobby`)) as string[];
  assert.equal(channels, []);
});

test('a server-side exchange subscription subscribes in Redis too', async () => {
  const serverChannel = a.agServer.exchange.subscribe('internal');
  const got: unknown[] = [];
  void (async () => {
    for await (const data of serverChannel) got.push(data);
  })();
  await waitFor(async () => (await redisSubscribers('internal')) === 1, 2000, 'A to hold internal');
  await b.agServer.exchange.transmitPublish('internal', 'hello');
  await waitFor(() => got.length === 1, 2000, 'the message on A');
  serverChannel.close();
  await a.agServer.exchange.unsubscribe('internal');
  await waitFor(async () => (await redisSubscribers('internal')) === 0, 2000, 'A to let go of internal');
});

const notJson: [string, () => unknown][] = [
  ['undefined', () => undefined],
  ['undefined in an object', () => ({ a: undefined })],
  ['a hole in an array', () => [1, , 3]], // eslint-disable-line no-sparse-arrays
  ['a function', () => ({ f: () => 1 })],
  ['a BigInt', () => ({ n: 10n })],
  ['NaN', () => ({ n: NaN })],
  ['Infinity', () => [Infinity]],
  ['a Buffer', () => ({ b: Buffer.from('hi') })],
  ['a Date', () => ({ at: new Date(0) })],
  ['a Map', () => new Map([[1, 2]])],
  [
    'a cyclic object',
    () => {
      const o: Record<string, unknown> = {};
      o.self = o;
      return o;
    },
  ],
];

for (const [what, make] of notJson) {
  test(`a server-side publish of ${what} is refused with PublishPayloadError and reaches nobody`, async () => {
    const onA = await subscribe(await client(a), 'strict');
    const onB = await subscribe(await client(b), 'strict');
    const onSolo = await subscribe(await client(solo), 'strict');
    for (const gw of [a, solo]) {
      const err = await gw.agServer.exchange.transmitPublish('strict', make()).then(
        () => null,
        (e: Error) => e,
      );
      assert.is(err?.name, 'PublishPayloadError', `${gw === a ? 'with' : 'without'} Redis`);
    }
    await a.agServer.exchange.transmitPublish('strict', 'json');
    await onB.waitFor(1);
    await settle(50);
    assert.equal(onA.messages, ['json']);
    assert.equal(onB.messages, ['json']);
    assert.equal(onSolo.messages, []);
  });
}

test('messages on the prefix that are not ours are dropped', async () => {
  const onA = await subscribe(await client(a), 'guarded');
  const before = a.clusterBus!.stats.malformed;
  await probe.publish(`${CHANNEL_PREFIX}guarded`, 'not json');
  await probe.publish(`${CHANNEL_PREFIX}guarded`, JSON.stringify({ hello: 'world' }));
  await waitFor(() => a.clusterBus!.stats.malformed === before + 2, 2000, 'both to be dropped');
  assert.equal(onA.messages, []);
});

test('client channel names always travel under the prefix, never as raw Redis channels', async () => {
  const watcher = redis.client();
  watcher.on('error', () => {});
  const seen: string[] = [];
  // The nodes' own heartbeats go by too, on channels of their own.
  const heartbeat = (channel: string) => channel.startsWith(HEARTBEAT_CHANNEL_PREFIX) || channel.startsWith(`${REVOCATION_CHANNEL}:heartbeat:`);
  watcher.on('pmessage', (_pattern: string, channel: string) => {
    if (!heartbeat(channel)) seen.push(channel);
  });
  await watcher.psubscribe('*');
  try {
    const pub = await client(a);
    await pub.invokePublish('gatehouse:rv', 'x');
    await pub.invokePublish('*', 'y');
    await waitFor(() => seen.length >= 2, 2000, 'the publishes in Redis');
    assert.equal(seen.sort(), [`${CHANNEL_PREFIX}*`, `${CHANNEL_PREFIX}gatehouse:rv`]);
  } finally {
    watcher.disconnect();
  }
});

test('without Redis a node delivers locally, needs no bus, and never refuses a subscribe as unavailable', async () => {
  assert.is(solo.clusterBus, undefined);
  const inbox = await subscribe(await client(solo), 'local');
  await (await client(solo)).invokePublish('local', 42);
  await inbox.waitFor(1);
  assert.equal(inbox.messages, [42]);
});

test('a subscribe Redis does not confirm within 1 s fails with SubscribeUnavailableError and leaves nothing behind', async () => {
  const c = await client(b);
  const started = Date.now();
  await probe.call('CLIENT', 'PAUSE', '1500', 'ALL'); // Redis holds every command, B's SUBSCRIBE included
  const err = await subscribeError(c, 'paused', 4000);
  assert.is(err.name, ErrorName.SubscribeUnavailable);
  assert.not.ok(b.broker.isSubscribed('paused'), 'the broker forgot the refused subscriber');
  // Once the pause ends Redis runs the late SUBSCRIBE; B has nobody on the channel, so it lets go again.
  await settle(Math.max(0, started + 1600 - Date.now()));
  await waitFor(
    async () => (await redisSubscribers('paused')) === 0 && !b.clusterBus!.heldChannels().includes('paused'),
    3000,
    'B to drop the late subscription',
  );
  const inbox = await subscribe(c, 'paused');
  await a.agServer.exchange.transmitPublish('paused', 'works again');
  await inbox.waitFor(1);
});

test('a node whose Redis is unreachable at start stays out of the load balancer, refuses subscribes by name, and closes', async () => {
  // Revocations cannot be checked either, so tokens are refused (fail closed): use anonymous sockets that the
  // operator's rules let publish and subscribe.
  const rules = join(mkdtempSync(join(tmpdir(), 'gatehouse-bus-')), 'channels.json');
  writeFileSync(rules, JSON.stringify({ anyone: ['*'] }));
  const nowhere = await scope.gateway({ GATEHOUSE_REDIS_URL: `redis://127.0.0.1:${await freePort()}`, GATEHOUSE_CHANNELS_FILE: rules });
  const anonymous = async () => {
    const { client: c, status } = await scope.connect(nowhere, null);
    assert.is(status.isAuthenticated, false);
    return c;
  };
  await settle(300); // a few failed connection attempts
  assert.ok(
    nowhere.notReadyReasons().some((r) => r.includes('Redis')),
    nowhere.notReadyReasons().join('; '),
  );
  const { status } = await scope.connect(nowhere, token());
  assert.is(status.authError?.name, ErrorName.AuthUnavailable);
  const c = await anonymous();
  const err = await subscribeError(c, 'anything');
  assert.is(err.name, ErrorName.SubscribeUnavailable);
  const pub = await anonymous();
  await pub.invokePublish('anything', 'still accepted locally');
});

// Last: it takes Redis away.
test('while Redis is down local delivery goes on and new subscribes fail by name; after it is back delivery resumes', async () => {
  const subA = await client(a);
  const subB = await client(b);
  const pubA = await client(a);
  const onA = await subscribe(subA, 'outage');
  const onB = await subscribe(subB, 'outage');

  await redis.stop();
  await waitFor(() => !a.clusterBus!.connected && !b.clusterBus!.connected, 5000, 'both buses to notice');
  await pubA.invokePublish('outage', 'during');
  await onA.waitFor(1);
  const err = await subscribeError(subB, 'new-during-outage');
  assert.is(err.name, ErrorName.SubscribeUnavailable);
  assert.not.ok(b.broker.isSubscribed('new-during-outage'), 'the refused subscribe left nothing behind');
  // Revocations cannot be checked while Redis is down, so the node reports itself unready (revocation/install.ts).
  assert.ok(a.notReadyReasons().length > 0, 'an outage makes /readyz 503');

  await redis.start();
  await waitFor(async () => (await redisSubscribers('outage').catch(() => 0)) === 2, 10_000, 'both nodes to resubscribe');
  await pubA.invokePublish('outage', 'after');
  await onB.waitFor(1);
  await onA.waitFor(2);
  await settle();
  assert.equal(onA.messages, ['during', 'after']);
  assert.equal(onB.messages, ['after'], 'B missed the message published during the outage, and only that one');
  const late = await subscribe(subB, 'after-outage');
  await a.agServer.exchange.transmitPublish('after-outage', 'ok');
  await late.waitFor(1);
});

test.run();
