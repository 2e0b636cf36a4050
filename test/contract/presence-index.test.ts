// budget: 60s
// One contract, three presence indexes: every case runs against the memory index, the Redis index on a private
// redis-server, and on a private three-master Redis Cluster (started once), where each channel's keys share a slot.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryPresenceIndex } from '../../server/presence/memory-index';
import type { PresenceIndex } from '../../server/presence/presence-index';
import { RedisPresenceIndex } from '../../server/presence/redis-index';
import { RedisPresenceNodeBoard } from '../../server/presence/redis-node-board';
import { createRedisConnection, type RedisConnection, type RedisTarget } from '../../server/redis/connection';
import type { TestRedisCluster } from '../helpers/redis-cluster';
import type { TestRedis } from '../helpers/redis-server';
import { useScope, type TestScope } from '../helpers/scope';

interface Backend {
  readonly name: string;
  /** Starts what the backend needs, owned by `scope`, which closes after the backend's suite. */
  setup(scope: TestScope): Promise<void>;
  open(): PresenceIndex;
  reset(): Promise<void>;
  /** The Redis connection the index uses, for the cases only Redis has. */
  connection?(): RedisConnection;
}

/** A Redis connection for an index, disconnected with `scope`. */
function redisConnection(scope: TestScope, target: RedisTarget): RedisConnection {
  const connection = createRedisConnection(target, { connectionName: 'presence-contract', enableOfflineQueue: true });
  connection.on('error', () => {});
  return scope.own(connection, (c) => c.disconnect(), 'redis connection');
}

let memory = new MemoryPresenceIndex();
const memoryBackend: Backend = {
  name: 'memory',
  async setup() {},
  open: () => memory,
  reset() {
    memory = new MemoryPresenceIndex();
    return Promise.resolve();
  },
};

let redis: TestRedis;
let redisIndexConnection: RedisConnection;
let redisIndex: RedisPresenceIndex;
const redisBackend: Backend = {
  name: 'redis',
  async setup(scope) {
    redis = await scope.redis();
    redisIndexConnection = redisConnection(scope, { url: redis.url });
    redisIndex = new RedisPresenceIndex(redisIndexConnection);
  },
  open: () => redisIndex,
  connection: () => redisIndexConnection,
  async reset() {
    const admin = redis.client();
    await admin.flushall();
    admin.disconnect();
  },
};

let cluster: TestRedisCluster;
let clusterIndexConnection: RedisConnection;
let clusterIndex: RedisPresenceIndex;
const redisClusterBackend: Backend = {
  name: 'redis cluster',
  async setup(scope) {
    cluster = await scope.redisCluster(3);
    clusterIndexConnection = redisConnection(scope, { seeds: seedList(cluster.seeds) });
    clusterIndex = new RedisPresenceIndex(clusterIndexConnection);
  },
  open: () => clusterIndex,
  connection: () => clusterIndexConnection,
  async reset() {
    const admin = cluster.client();
    await Promise.all(admin.nodes('master').map((node) => node.flushall()));
    admin.disconnect();
  },
};

function seedList(text: string) {
  return text.split(',').map((seed) => {
    const [host, port] = seed.split(':');
    return { host, port: Number(port) };
  });
}

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';

function contract(backend: Backend): void {
  const t = suite(`presence index contract: ${backend.name}`);
  const scope = useScope(t, 'suite');
  t.before(() => backend.setup(scope));
  t.after.each(() => backend.reset());

  t('a user is one member across nodes: one join, no leave until its last entry goes', async () => {
    const index = backend.open();
    const first = await index.apply(A, 'room:1', { changes: [{ sub: 'alice', connections: 1, info: '{"name":"Alice"}' }] });
    assert.equal(first, { channel: 'room:1', seq: 1, joins: [{ sub: 'alice', info: { name: 'Alice' } }], leaves: [], updates: [], count: 1 });
    assert.is(await index.apply(B, 'room:1', { changes: [{ sub: 'alice', connections: 2, info: '{"name":"Alice"}' }] }), undefined, 'no second join');
    assert.equal((await index.page('room:1', undefined, 10)).members, [{ sub: 'alice', info: { name: 'Alice' }, connections: 3 }]);
    assert.is(await index.apply(A, 'room:1', { changes: [{ sub: 'alice', connections: 0, reason: 'disconnected' }] }), undefined);
    const left = await index.apply(B, 'room:1', { changes: [{ sub: 'alice', connections: 0, reason: 'unsubscribed' }] });
    assert.equal(left, { channel: 'room:1', seq: 2, joins: [], leaves: [{ sub: 'alice', reason: 'unsubscribed' }], updates: [], count: 0 });
    assert.equal(await index.stats('room:1'), { members: 0, connections: 0, anonymous: 0 });
  });

  t('another info is an update; the same is nothing', async () => {
    const index = backend.open();
    await index.apply(A, 'room:2', { changes: [{ sub: 'bob', connections: 1, info: '{"v":1}' }] });
    assert.is(await index.apply(A, 'room:2', { changes: [{ sub: 'bob', connections: 1, info: '{"v":1}' }] }), undefined);
    const updated = await index.apply(A, 'room:2', { changes: [{ sub: 'bob', connections: 1, info: '{"v":2}' }] });
    assert.equal(updated?.updates, [{ sub: 'bob', info: { v: 2 } }]);
    assert.is(updated?.seq, 2);
  });

  t('pages in sub order through the cursor; stats are the counts', async () => {
    const index = backend.open();
    const subs = Array.from({ length: 25 }, (_, i) => `u${String(i).padStart(2, '0')}`);
    await index.apply(A, 'room:3', { changes: subs.map((sub) => ({ sub, connections: 1 })), anonymous: 2 });
    await index.apply(B, 'room:3', { changes: [{ sub: 'u00', connections: 1 }], anonymous: 1 });
    const seen: string[] = [];
    let cursor: string | undefined;
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const answer = await index.page('room:3', after, 10);
      assert.is(answer.count, 25);
      seen.push(...answer.members.map((m) => m.sub));
      cursor = answer.cursor;
      if (!cursor) break;
      after = Buffer.from(cursor, 'base64url').toString('utf8');
    }
    assert.equal(seen, subs);
    assert.equal(await index.stats('room:3'), { members: 25, connections: 26, anonymous: 3 });
  });

  t("a reap removes one epoch's entries with its reason; the others' stay", async () => {
    const index = backend.open();
    await index.apply(A, 'room:4', {
      changes: [
        { sub: 'x', connections: 1 },
        { sub: 'y', connections: 1 },
      ],
      anonymous: 1,
    });
    await index.apply(B, 'room:4', { changes: [{ sub: 'y', connections: 1 }] });
    const reaped = await index.reap(A, 'room:4', 'node-lost');
    assert.equal(reaped?.leaves, [{ sub: 'x', reason: 'node-lost' }]);
    assert.equal(await index.stats('room:4'), { members: 1, connections: 1, anonymous: 0 });
    assert.is(await index.reap(A, 'room:4', 'node-lost'), undefined, 'nothing left to reap');
  });

  t('a quiet, complete re-assertion makes no join or leave, removes what is not listed, and skips a seq', async () => {
    const index = backend.open();
    await index.apply(A, 'room:5', {
      changes: [
        { sub: 'p', connections: 1 },
        { sub: 'q', connections: 1 },
      ],
    });
    const quiet = await index.apply(
      A,
      'room:5',
      {
        changes: [
          { sub: 'p', connections: 2 },
          { sub: 'r', connections: 1 },
        ],
        complete: true,
      },
      true,
    );
    assert.equal(quiet, { channel: 'room:5', seq: 3, joins: [], leaves: [], updates: [], count: 2, reset: true });
    assert.equal(
      (await index.page('room:5', undefined, 10)).members.map((m) => `${m.sub}:${m.connections}`),
      ['p:2', 'r:1'],
    );
    const complete = await index.apply(A, 'room:5', { changes: [{ sub: 'p', connections: 2 }], complete: true });
    assert.equal(complete?.leaves, [{ sub: 'r', reason: 'expired' }]);
  });

  t('a snapshot names the seq it contains', async () => {
    const index = backend.open();
    await index.apply(A, 'room:6', { changes: [{ sub: 'm', connections: 1 }] });
    await index.apply(A, 'room:6', { changes: [{ sub: 'n', connections: 1 }] });
    assert.is((await index.page('room:6', undefined, 1)).seq, 2);
    assert.equal(await index.page('room:none', undefined, 5), { channel: 'room:none', seq: 0, members: [], count: 0 });
  });

  if (backend.name !== 'memory') {
    t("an empty channel's counter is kept a day, then goes; one in use is kept", async () => {
      const index = backend.open();
      const connection = backend.connection!();
      await index.apply(A, 'room:8', { changes: [{ sub: 'e', connections: 1 }] });
      assert.is(await connection.pttl('gatehouse:presence:{room:8}:seq'), -1);
      await index.apply(A, 'room:8', { changes: [{ sub: 'e', connections: 0, reason: 'unsubscribed' }] });
      const ttl = await connection.pttl('gatehouse:presence:{room:8}:seq');
      assert.ok(ttl > 23 * 3600_000 && ttl <= 24 * 3600_000, `${ttl} ms`);
      assert.is(await connection.exists('gatehouse:presence:{room:8}:connections'), 0);
      const again = await index.apply(A, 'room:8', { changes: [{ sub: 'e', connections: 1 }] });
      assert.is(again?.seq, 3, 'seq carries on');
      assert.is(await connection.pttl('gatehouse:presence:{room:8}:seq'), -1);
    });

    t('the node board: leases lapse, dead epochs are found with their channels, one reaper holds the lock', async () => {
      const connection = backend.connection!();
      const board = new RedisPresenceNodeBoard(connection);
      await board.register(A, 5000);
      await board.register(B, 150);
      await board.noteChannel(B, 'room:7');
      await board.noteChannel(B, '{odd}channel');
      assert.ok(await board.lock(A, 1000));
      assert.not.ok(await board.lock(B, 1000), 'one reaper at a time');
      await new Promise((r) => setTimeout(r, 250));
      assert.not.ok(await board.renew(B, 150), 'a lapsed lease is not renewed');
      assert.ok(await board.renew(A, 5000));
      const dead = await board.deadEpochs(A);
      assert.equal(dead.length, 1);
      assert.is(dead[0].epoch, B);
      assert.is(dead[0].reason, 'node-lost');
      assert.equal([...dead[0].channels].sort(), ['room:7', '{odd}channel'].sort());
      await board.forget(B);
      assert.equal(await board.deadEpochs(A), []);
      await board.leave(A, 0);
      await board.unlock(A);
      const left = await board.deadEpochs(B);
      assert.equal(
        left.map((d) => `${d.epoch}:${d.reason}`),
        [`${A}:disconnected`],
      );
    });
  }

  t.run();
}

contract(memoryBackend);
contract(redisBackend);
contract(redisClusterBackend);
