// budget: 60s
// One contract, three transports: every case runs against the memory transport (a MemoryPubSubHub per test), classic
// pub/sub on a private redis-server, and sharded pub/sub on a private three-master Redis Cluster (started once).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryPubSubHub } from '../../server/cluster/memory-pubsub';
import { createPublisher, createRedisPubSub } from '../../server/cluster/redis-pubsub';
import type { PubSubTransport } from '../../server/cluster/transport';
import type { RedisSettings } from '../../server/redis/connection';
import { TestRedisCluster } from '../helpers/redis-cluster';
import { TestRedis } from '../helpers/redis-server';
import { sleep, waitFor } from '../helpers/gateway';

interface Backend {
  readonly name: string;
  readonly mode: PubSubTransport['mode'];
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A transport on the backend's shared state, not started. */
  make(nodeId: string): PubSubTransport;
  /** Forgets the state between tests. */
  reset(): void;
}

/** A started transport and everything it reported. */
interface Node {
  readonly transport: PubSubTransport;
  readonly messages: [string, string][];
  readonly ups: number[];
  readonly downs: number[];
}

let hub = new MemoryPubSubHub();
const memoryBackend: Backend = {
  name: 'memory',
  mode: 'memory',
  async setup() {},
  async teardown() {},
  make: () => hub.transport(),
  reset() {
    hub = new MemoryPubSubHub();
  },
};

let redis: TestRedis;
const redisBackend: Backend = {
  name: 'redis',
  mode: 'redis',
  async setup() {
    redis = await TestRedis.start();
  },
  async teardown() {
    await redis.close();
  },
  make: (nodeId) => createRedisPubSub(settingsOf({ redisUrl: redis.url }), nodeId)!,
  reset() {},
};

let cluster: TestRedisCluster | undefined;
const redisClusterBackend: Backend = {
  name: 'redis cluster',
  mode: 'redis-cluster',
  async setup() {
    cluster = await TestRedisCluster.start(3);
  },
  async teardown() {
    await cluster?.close();
  },
  make: (nodeId) => createRedisPubSub(settingsOf({ redisCluster: seedList(cluster!.seeds) }), nodeId)!,
  reset() {},
};

function settingsOf(over: Partial<RedisSettings>): RedisSettings {
  return { redisUrl: undefined, redisCluster: undefined, ...over };
}

function seedList(text: string) {
  return text.split(',').map((seed) => {
    const [host, port] = seed.split(':');
    return { host, port: Number(port) };
  });
}

const opened: PubSubTransport[] = [];

/** Starts a transport, recording what it reports, and waits until it is up. */
async function start(backend: Backend, nodeId: string, transport = backend.make(nodeId)): Promise<Node> {
  opened.push(transport);
  const node: Node = { transport, messages: [], ups: [], downs: [] };
  transport.start({
    message: (name, text) => node.messages.push([name, text]),
    up: () => node.ups.push(Date.now()),
    down: () => node.downs.push(Date.now()),
    error: () => {},
  });
  await waitFor(() => transport.up, 5000, `${nodeId} up`);
  // `up` is the subscriber's state; a cluster's publisher may join its shards a moment later, and says when.
  await waitFor(() => transport.canPublish, 5000, `${nodeId} able to publish`);
  return node;
}

/** Channel names spread over the slots of a cluster, fresh for each test. */
let k = 0;
const channel = (what: string) => `contract:${what}:${(k += 1)}`;

function contract(backend: Backend): void {
  const t = suite(`cluster transport contract: ${backend.name}`);
  t.before(() => backend.setup());
  t.after(async () => {
    for (const transport of opened.splice(0)) await transport.close();
    await backend.teardown();
  });
  t.after.each(async () => {
    for (const transport of opened.splice(0)) await transport.close();
    backend.reset();
  });

  t('a transport reports up once after start, and says which backend it is', async () => {
    const made = backend.make('node-a');
    assert.is(made.canPublish, false, 'no publishing before start');
    const a = await start(backend, 'node-a', made);
    await a.transport.publish(channel('first'), 'sent at once');
    assert.is(a.transport.mode, backend.mode);
    await sleep(50);
    assert.is(a.ups.length, 1);
    assert.is(a.downs.length, 0);
  });

  t("a publish on one node reaches every node subscribed to its channel, the publisher's own included", async () => {
    const a = await start(backend, 'node-a');
    const b = await start(backend, 'node-b');
    const news = channel('news');
    await a.transport.subscribe(news);
    await b.transport.subscribe(news);
    await a.transport.publish(news, 'hello');
    await waitFor(() => a.messages.length === 1 && b.messages.length === 1, 2000, 'both to hear it');
    assert.equal(a.messages, [[news, 'hello']]);
    assert.equal(b.messages, [[news, 'hello']]);
  });

  t('a node hears only the channels it subscribed to, and nothing once it unsubscribed', async () => {
    const a = await start(backend, 'node-a');
    const b = await start(backend, 'node-b');
    const kept = channel('kept');
    const other = channel('other');
    await b.transport.subscribe(kept);
    await a.transport.publish(other, 'not for b');
    await a.transport.publish(kept, 'for b');
    await waitFor(() => b.messages.length >= 1, 2000, 'b to hear its channel');
    await b.transport.unsubscribe(kept);
    await a.transport.publish(kept, 'after unsubscribe');
    await sleep(200);
    assert.equal(b.messages, [[kept, 'for b']]);
  });

  t('subscriptions made the moment the transport is up all hold, on every shard', async () => {
    const b = backend.make('node-b');
    opened.push(b);
    const heard: string[] = [];
    b.start({ message: (name) => heard.push(name), up: () => {}, down: () => {}, error: () => {} });
    await waitFor(() => b.up, 5000, 'b up');
    const names = Array.from({ length: 32 }, (_, i) => channel(`early-${i}`));
    await Promise.all(names.map((name) => b.subscribe(name)));
    const a = await start(backend, 'node-a');
    for (const name of names) await a.transport.publish(name, 'hello');
    await waitFor(() => heard.length === names.length, 3000, 'every early subscription to hear its message');
    assert.equal([...heard].sort(), [...names].sort());
  });

  t('a batch delivers every text on its own channel, in order, after what was published before', async () => {
    const a = await start(backend, 'node-a');
    const b = await start(backend, 'node-b');
    const one = channel('one');
    const two = channel('two');
    await b.transport.subscribe(one);
    await b.transport.subscribe(two);
    await a.transport.publish(one, '0');
    await a.transport.publishBatch([one, '1', two, 'x', one, '2', two, 'y']);
    await a.transport.publishBatch([one, '3']);
    await waitFor(() => b.messages.length === 6, 2000, 'the whole batch');
    // Order holds per channel (on a cluster two channels may sit on two shards, with no order between them).
    assert.equal(
      b.messages.filter(([name]) => name === one).map(([, text]) => text),
      ['0', '1', '2', '3'],
    );
    assert.equal(
      b.messages.filter(([name]) => name === two).map(([, text]) => text),
      ['x', 'y'],
    );
  });

  t('a healthy feed reports no silence', async () => {
    const a = await start(backend, 'node-a');
    await sleep(100);
    assert.is(a.transport.feed.warning(), undefined);
    assert.is(a.transport.feed.silences, 0);
  });

  t('close is idempotent: the transport is down, its commands fail, and it hears nothing more', async () => {
    const a = await start(backend, 'node-a');
    const b = await start(backend, 'node-b');
    const news = channel('closing');
    await b.transport.subscribe(news);
    await b.transport.close();
    await b.transport.close();
    assert.is(b.transport.up, false);
    assert.is(b.transport.canPublish, false);
    await a.transport.publish(news, 'after close');
    await sleep(200);
    assert.equal(b.messages, []);
    const failed = await b.transport.subscribe(channel('late')).then(
      () => false,
      () => true,
    );
    assert.ok(failed, 'a subscribe after close fails');
  });

  t.run();
}

contract(memoryBackend);
contract(redisBackend);
contract(redisClusterBackend);

// A node's buses share one publisher (server/backends/): a transport given it must not close it.
const s = suite('a shared publisher');
let shared: TestRedis;
s.before(async () => {
  shared = await TestRedis.start();
});
s.after(async () => {
  for (const transport of opened.splice(0)) await transport.close();
  await shared.close();
});

s('two transports on one publisher each hear their own, and closing one leaves the publisher to the other', async () => {
  const settings = settingsOf({ redisUrl: shared.url });
  const publisher = createPublisher({ url: shared.url }, 'node-a');
  publisher.on('error', () => {});
  try {
    const bus = await start(redisBackend, 'node-a', createRedisPubSub(settings, 'node-a', { name: 'cluster bus' }, publisher));
    const admin = await start(redisBackend, 'node-a', createRedisPubSub(settings, 'node-a', { name: 'admin bus' }, publisher));
    await bus.transport.subscribe('shared:bus');
    await admin.transport.subscribe('shared:admin');
    await bus.transport.publish('shared:admin', 'to admin');
    await admin.transport.publish('shared:bus', 'to bus');
    await waitFor(() => bus.messages.length === 1 && admin.messages.length === 1, 2000, 'each to hear the other');
    await admin.transport.close();
    assert.is(publisher.status, 'ready', 'the shared publisher stays open');
    await bus.transport.publish('shared:bus', 'still');
    await waitFor(() => bus.messages.length === 2, 2000, 'the bus publishing on');
    assert.equal(bus.messages, [
      ['shared:bus', 'to bus'],
      ['shared:bus', 'still'],
    ]);
  } finally {
    publisher.disconnect();
  }
});

s.run();
