// budget: 60s
// One contract, three stores: the memory store (embedded default), the Redis store on a private redis-server and on a
// private three-master Redis Cluster. Versions are compared and set atomically: of racing changes only one of each
// version wins, and a change not above the stored version changes nothing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Cluster } from 'ioredis';
import type Redis from 'ioredis';
import { createRedisConnection } from '../../server/redis/connection';
import { GrantBoard, MemoryGrantStore } from '../../server/grants/memory-store';
import type { GrantRecord } from '../../server/grants/record';
import { RedisGrantStore, grantKey } from '../../server/grants/redis-store';
import type { GrantStore } from '../../server/grants/store';
import { revocationCommandOptions } from '../../server/revocation/redis-store';
import { systemClock } from '../../server/clock';
import { TestRedisCluster } from '../helpers/redis-cluster';
import { TestRedis } from '../helpers/redis-server';
import { sleep } from '../helpers/gateway';

interface Backend {
  readonly name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A store on the backend's shared state, once its connection is ready. */
  open(): Promise<GrantStore>;
  reset(): Promise<void>;
  pttl?(sub: string): Promise<number>;
}

const opened: { store: GrantStore; conn?: { disconnect(): void } }[] = [];
let redis: TestRedis | undefined;
let redisAdmin: Redis | undefined;
let cluster: TestRedisCluster | undefined;
let clusterAdmin: Cluster | undefined;

/** The memory backend's shared state: a board every store of a test shares, like the nodes of one MemoryHub. */
let memoryBoard = new GrantBoard();

const backends: Backend[] = [
  {
    name: 'memory',
    setup: () => Promise.resolve(),
    teardown: () => Promise.resolve(),
    open() {
      const store = new MemoryGrantStore(systemClock, memoryBoard);
      opened.push({ store });
      return Promise.resolve(store);
    },
    reset() {
      memoryBoard = new GrantBoard();
      return Promise.resolve();
    },
  },
  {
    name: 'redis',
    async setup() {
      redis = await TestRedis.start();
      redisAdmin = redis.client();
    },
    async teardown() {
      redisAdmin?.disconnect();
      await redis?.close();
    },
    async open() {
      const conn = createRedisConnection({ url: redis!.url }, revocationCommandOptions('contract', 500));
      conn.on('error', () => undefined);
      await ready(conn);
      const store = new RedisGrantStore(conn, systemClock, 2000);
      opened.push({ store, conn });
      return store;
    },
    async reset() {
      await redisAdmin!.flushall();
    },
    pttl: (sub) => redisAdmin!.pttl(grantKey(sub)),
  },
  {
    name: 'redis cluster',
    async setup() {
      cluster = await TestRedisCluster.start(3);
      clusterAdmin = cluster.client();
    },
    async teardown() {
      clusterAdmin?.disconnect();
      await cluster?.close();
    },
    async open() {
      const seeds = cluster!.ports.map((port) => ({ host: '127.0.0.1', port }));
      const conn = createRedisConnection({ seeds }, revocationCommandOptions('contract', 500));
      conn.on('error', () => undefined);
      await ready(conn);
      const store = new RedisGrantStore(conn, systemClock, 3000);
      opened.push({ store, conn });
      return store;
    },
    async reset() {
      await Promise.all(clusterAdmin!.nodes('master').map((node) => node.flushall()));
    },
    pttl: (sub) => clusterAdmin!.pttl(grantKey(sub)),
  },
];

/** Resolves once a connection is ready (the store's connection sends nothing before: no offline queue). */
async function ready(conn: { status: string; once(event: 'ready', listener: () => void): unknown }): Promise<void> {
  if (conn.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis connection not ready within 5 s')), 5000);
    conn.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const HOUR = 3_600_000;
const record = (sub: string, version: number, channels: GrantRecord['channels'] = ['room:*'], ttl = HOUR): GrantRecord => ({
  sub,
  version,
  channels,
  expiresAt: Date.now() + ttl,
});
const keep = () => Date.now() + HOUR;

for (const backend of backends) {
  const s = suite(`grant store: ${backend.name}`);
  s.before(() => backend.setup());
  s.after(async () => {
    for (const { store, conn } of opened.splice(0)) {
      await store.close();
      conn?.disconnect();
    }
    await backend.teardown();
  });
  s.before.each(() => backend.reset());

  s('a first change is stored and read back as written', async () => {
    const store = await backend.open();
    assert.equal(await store.put([record('alice', 3, { 'room:{sub}': ['subscribe'] })], keep), [{ stored: true }]);
    const [got] = await store.get(['alice']);
    assert.is(got?.version, 3);
    assert.equal(got?.channels, { 'room:{sub}': ['subscribe'] });
    assert.equal(await store.get(['nobody']), [undefined]);
  });

  s('a version not above the stored one is refused and changes nothing (duplicate, older)', async () => {
    const store = await backend.open();
    await store.put([record('bob', 5, ['a'])], keep);
    assert.equal(await store.put([record('bob', 5, ['dup'])], keep), [{ stored: false, current: 5 }]);
    assert.equal(await store.put([record('bob', 4, ['old'])], keep), [{ stored: false, current: 5 }]);
    assert.equal((await store.get(['bob']))[0]?.channels, ['a']);
    assert.equal(await store.put([record('bob', 6, null)], keep), [{ stored: true }]);
    const [after] = await store.get(['bob']);
    assert.is(after?.version, 6);
    assert.is(after?.channels, null);
  });

  s('racing changes from two stores: each version wins once and the highest stays', async () => {
    const a = await backend.open();
    const b = await backend.open();
    const tries = [];
    for (let v = 1; v <= 40; v++) tries.push((v % 2 ? a : b).put([record('carol', v)], keep), (v % 2 ? b : a).put([record('carol', v)], keep));
    const outcomes = (await Promise.all(tries)).map(([o]) => o);
    // Of the two puts of each version, at most one is stored.
    for (let v = 0; v < 40; v++) assert.ok(!(outcomes[2 * v].stored && outcomes[2 * v + 1].stored), `version ${v + 1} stored twice`);
    assert.is((await a.get(['carol']))[0]?.version, 40);
  });

  s('a batch answers each record in order; many users in one call', async () => {
    const store = await backend.open();
    await store.put([record('u1', 10)], keep);
    const many = Array.from({ length: 2500 }, (_, i) => record(`u${i}`, 2));
    const outcomes = await store.put(many, keep);
    assert.is(outcomes.length, 2500);
    assert.equal(outcomes[1], { stored: false, current: 10 });
    assert.is(outcomes.filter((o) => o.stored).length, 2499);
    const got = await store.get(many.map((r) => r.sub));
    assert.is(got.filter((r) => r?.version === 2).length, 2499);
  });

  s('all() reads back every stored record, DELETEs included', async () => {
    const store = await backend.open();
    const many = Array.from({ length: 2500 }, (_, i) => record(`all${i}`, i + 1, i % 2 ? null : ['x']));
    await store.put(many, keep);
    const all = await (await backend.open()).all();
    assert.is(all.length, 2500);
    const bySub = new Map(all.map((r) => [r.sub, r]));
    assert.is(bySub.get('all7')?.version, 8);
    assert.is(bySub.get('all7')?.channels, null);
    assert.equal(bySub.get('all8')?.channels, ['x']);
  });

  if (backend.pttl) {
    s('a record lives until the later of its expiry and keepUntil', async () => {
      const store = await backend.open();
      await store.put([record('dave', 1, ['x'], 1000)], () => Date.now() + 60_000);
      const ttl = await backend.pttl!('dave');
      // keepUntil reads the clock a moment after the store does, so the TTL may round up by a millisecond or so.
      assert.ok(ttl > 55_000 && ttl <= 60_050, String(ttl));
    });
  } else {
    s('a record past keepUntil is forgotten', async () => {
      const store = await backend.open();
      await store.put([record('dave', 1, ['x'], 50)], () => Date.now() + 50);
      await sleep(80);
      assert.equal(await store.get(['dave']), [undefined]);
    });
  }

  s.run();
}
