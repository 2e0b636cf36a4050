// budget: 60s
// One contract, five stores: every case runs against the memory store, the Redis store on a private redis-server,
// the Redis store on a private three-master Redis Cluster (started once for the file), and each Redis store behind
// the node's mirror of it. Expiry uses real time with short lifetimes (about 2 s a backend).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Redis, { type Cluster } from 'ioredis';
import { MAX_SUB_LENGTH, MAX_TOKEN_ID_LENGTH, type GatehouseClaims } from '../../shared';
import type { Clock } from '../../server/clock';
import { MemoryRevocationStore } from '../../server/revocation/memory-store';
import { MirroredRevocationStore } from '../../server/revocation/mirrored-store';
import { RedisRevocationStore, revocationKey } from '../../server/revocation/redis-store';
import { RevocationTargetError, StoreUnavailableError, type Revocation, type RevocationPolicy, type RevocationStore } from '../../server/revocation/store';
import { TestRedisCluster } from '../helpers/redis-cluster';
import { TestRedis } from '../helpers/redis-server';
import { sleep, waitFor } from '../helpers/gateway';

const DAY: RevocationPolicy = { maxTokenLifetimeMs: 86_400_000, clockToleranceMs: 5000 };

interface Backend {
  readonly name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A fresh store on the shared state (a Redis store per call shares one redis-server). */
  open(opts: { policy?: RevocationPolicy; origin?: string; clock?: Clock }): Promise<RevocationStore>;
  /** How many entries the backend holds now (after letting it drop what has expired). */
  count(store: RevocationStore): Promise<number>;
  /** Wipes every entry between tests. */
  reset(): Promise<void>;
  /** The remaining lifetime of a key, ms, where the backend has keys. */
  pttl?(key: string): Promise<number>;
}

let redis: TestRedis;
let admin: Redis;
const opened: RevocationStore[] = [];

const memoryBackend: Backend = {
  name: 'memory',
  async setup() {},
  async teardown() {},
  async open({ policy = DAY, origin = 'node-a', clock }) {
    const store = new MemoryRevocationStore({ policy, origin, clock, sweepIntervalMs: 50 });
    opened.push(store);
    return store;
  },
  async count(store) {
    (store as MemoryRevocationStore).sweep();
    return (store as MemoryRevocationStore).size;
  },
  async reset() {},
};

const redisBackend: Backend = {
  name: 'redis',
  async setup() {
    redis = await TestRedis.start();
    admin = redis.client();
  },
  async teardown() {
    admin.disconnect();
    await redis.close();
  },
  async open({ policy = DAY, origin = 'node-a', clock }) {
    const store = new RedisRevocationStore({ target: { url: redis.url }, timeoutMs: 300, policy, origin, clock, subscribe: true });
    opened.push(store);
    assert.ok(await store.ready(3000), 'redis store ready');
    return store;
  },
  async count() {
    return (await admin.keys('{gatehouse}:rv:*')).length;
  },
  async reset() {
    await admin.flushall();
  },
  pttl: (key) => admin.pttl(key),
};

let cluster: TestRedisCluster | undefined;
let clusterAdmin: Cluster;
/** The file's one Redis Cluster, started by the first suite that needs it and stopped by the last. */
async function sharedCluster(): Promise<TestRedisCluster> {
  if (!cluster) {
    cluster = await TestRedisCluster.start(3);
    clusterAdmin = cluster.client();
  }
  return cluster;
}

const redisClusterBackend: Backend = {
  name: 'redis cluster',
  async setup() {
    await sharedCluster();
  },
  async teardown() {},
  async open({ policy = DAY, origin = 'node-a', clock }) {
    const { seeds } = cluster!;
    const store = new RedisRevocationStore({ target: { seeds: seedList(seeds) }, timeoutMs: 300, policy, origin, clock, subscribe: true });
    opened.push(store);
    assert.ok(await store.ready(5000), 'redis cluster store ready');
    return store;
  },
  async count() {
    let total = 0;
    for (const node of clusterAdmin.nodes('master')) total += (await node.keys('{gatehouse}:rv:*')).length;
    return total;
  },
  async reset() {
    await Promise.all(clusterAdmin.nodes('master').map((node) => node.flushall()));
  },
  pttl: (key) => clusterAdmin.pttl(key),
};

/**
 * The same Redis backend, each store behind a mirror, opened once the mirror is current; every check asserts the
 * mirror is current when asked, so the contract is shown to hold for answers from memory, not from Redis.
 */
function mirrored(base: Backend): Backend {
  return {
    ...base,
    name: `${base.name}, mirrored`,
    async open(opts) {
      const redisStore = (await base.open(opts)) as RedisRevocationStore;
      opened.splice(opened.indexOf(redisStore), 1);
      const { policy = DAY, clock } = opts;
      // A silence allowed long enough that a loaded machine's slow heartbeat does not send a check to Redis.
      const store = new MirroredRevocationStore({
        redis: redisStore,
        clockToleranceMs: policy.clockToleranceMs,
        clock,
        sweepIntervalMs: 50,
        maxFeedSilenceMs: 5000,
      });
      opened.push(store);
      await waitFor(() => store.current, 3000, 'the mirror to be current');
      const fromMemory =
        <A extends unknown[], R>(ask: (...args: A) => R) =>
        (...args: A): R => {
          assert.ok(store.current, 'the mirror answers');
          return ask(...args);
        };
      return Object.assign(store, { check: fromMemory(store.check.bind(store)), checkMany: fromMemory(store.checkMany.bind(store)) });
    },
  };
}

function seedList(text: string) {
  return text.split(',').map((seed) => {
    const [host, port] = seed.split(':');
    return { host, port: Number(port) };
  });
}

const now = () => Math.floor(Date.now() / 1000);
let n = 0;
/** A token's claims with fresh ids unless given. */
function token(over: Partial<GatehouseClaims> = {}): GatehouseClaims {
  n += 1;
  return { sub: `user-${n}`, sid: `sid-${n}`, jti: `jti-${n}`, iat: now(), exp: now() + 300, ...over };
}

/** A clock fixed at a chosen moment (ms). */
function fixedClock(ms: number): Clock {
  return { now: () => ms };
}

function contract(backend: Backend): void {
  const t = suite(`revocation store contract: ${backend.name}`);
  t.before(() => backend.setup());
  t.after(async () => {
    for (const s of opened.splice(0)) await s.close();
    await backend.teardown();
  });
  t.after.each(async () => {
    for (const s of opened.splice(0)) await s.close();
    await backend.reset();
  });

  t('a token nobody revoked passes', async () => {
    const store = await backend.open({});
    assert.is(await store.check(token()), false);
  });

  t('revoking a jti refuses that token only', async () => {
    const store = await backend.open({});
    const a = token();
    const sameSession = { ...a, jti: 'another-jti' };
    await store.revoke({ kind: 'jti', id: a.jti! });
    assert.is(await store.check(a), true);
    assert.is(await store.check(sameSession), false);
  });

  t("revoking a sid refuses every token of the session, not the user's other sessions", async () => {
    const store = await backend.open({});
    const a = token();
    const renewed = { ...a, jti: 'renewed-jti', iat: a.iat! + 60, exp: a.exp + 60 };
    const otherSession = { ...a, sid: 'other-sid', jti: 'other-jti' };
    await store.revoke({ kind: 'sid', id: a.sid! });
    assert.is(await store.check(a), true);
    assert.is(await store.check(renewed), true);
    assert.is(await store.check(otherSession), false);
  });

  t('revoking a sub refuses tokens issued up to that second plus the clock tolerance (a signer ahead by it), not later ones', async () => {
    const at = 1_900_000_000_500; // 0.5 s into the second 1_900_000_000
    const store = await backend.open({ clock: fixedClock(at) });
    const sec = Math.floor(at / 1000);
    const tolerance = DAY.clockToleranceMs / 1000;
    const user = token().sub;
    await store.revoke({ kind: 'sub', id: user });
    assert.is(await store.check(token({ sub: user, iat: sec - 100, exp: sec + 200 })), true, 'earlier');
    assert.is(await store.check(token({ sub: user, iat: sec, exp: sec + 200 })), true, 'same second');
    assert.is(await store.check(token({ sub: user, iat: sec + 3, exp: sec + 200 })), true, 'renewed by a node 3 s ahead');
    assert.is(await store.check(token({ sub: user, iat: sec + tolerance, exp: sec + 200 })), true, 'the tolerance included');
    assert.is(await store.check(token({ sub: user, iat: sec + tolerance + 1, exp: sec + 200 })), false, 'after the tolerance');
    assert.is(await store.check(token({ sub: user, iat: undefined, exp: sec + 200 })), true, 'no iat: cannot prove it newer');
    assert.is(await store.check(token({ iat: sec - 100 })), false, 'another user');
  });

  t('a second revocation of a user keeps the later moment', async () => {
    const later = 1_900_000_100_000;
    let current = later;
    const store = await backend.open({ clock: { now: () => current } });
    const user = token().sub;
    await store.revoke({ kind: 'sub', id: user });
    current = later - 100_000; // a node with a slow clock revokes the same user again
    await store.revoke({ kind: 'sub', id: user });
    assert.is(await store.check(token({ sub: user, iat: later / 1000 - 10 })), true);
  });

  t('checkMany answers in order', async () => {
    const store = await backend.open({});
    const tokens = [token(), token(), token(), token()];
    await store.revoke({ kind: 'jti', id: tokens[1].jti! });
    await store.revoke({ kind: 'sub', id: tokens[3].sub });
    assert.equal(await store.checkMany(tokens), [false, true, false, true]);
    assert.equal(await store.checkMany([]), []);
  });

  t('a jti or sid that is not a string is no id: such a token is checked by sub only', async () => {
    const store = await backend.open({});
    await store.revoke({ kind: 'jti', id: '42' });
    assert.is(await store.check(token({ jti: 42 as unknown as string })), false);
  });

  t('ids longer than a token may carry are refused alike, before anything is stored; the longest accepted are revocable', async () => {
    const store = await backend.open({});
    const refused: [string, string][] = [
      ['jti', 'j'.repeat(MAX_TOKEN_ID_LENGTH + 1)],
      ['sid', 's'.repeat(MAX_TOKEN_ID_LENGTH + 1)],
      ['sub', 'u'.repeat(MAX_SUB_LENGTH + 1)],
      ['sid', ''],
      ['kid', 'x'],
    ];
    for (const [kind, id] of refused) {
      const err = await store.revoke({ kind, id } as never).then(
        () => undefined,
        (e: Error) => e,
      );
      assert.instance(err, RevocationTargetError, `${kind} of ${id.length}`);
      assert.is(err!.name, 'RevocationTargetError');
      assert.match(
        err!.message,
        kind === 'kid' ? /a kind \(jti, sid or sub\) and a non-empty id$/ : `at most ${kind === 'sub' ? MAX_SUB_LENGTH : MAX_TOKEN_ID_LENGTH} characters`,
      );
    }
    assert.is(await backend.count(store), 0, 'nothing stored');
    const longest = token({ jti: 'j'.repeat(MAX_TOKEN_ID_LENGTH), sid: 's'.repeat(MAX_TOKEN_ID_LENGTH), sub: 'u'.repeat(MAX_SUB_LENGTH) });
    for (const kind of ['jti', 'sid', 'sub'] as const) {
      await backend.reset();
      const fresh = await backend.open({});
      await fresh.revoke({ kind, id: longest[kind]! });
      assert.is(await fresh.check(longest), true, kind);
    }
  });

  t('every revocation is announced with its moment, deadline and origin', async () => {
    const store = await backend.open({ origin: 'node-a' });
    const heard: Revocation[] = [];
    store.onRevocation((r) => heard.push(r));
    const before = Date.now();
    const returned = await store.revoke({ kind: 'sid', id: 'announced' }, { exp: now() + 60 });
    await waitFor(() => heard.length === 1, 2000, 'the announcement');
    assert.equal(heard[0], returned);
    assert.is(heard[0].kind, 'sid');
    assert.is(heard[0].id, 'announced');
    assert.is(heard[0].origin, 'node-a');
    assert.ok(heard[0].at >= before && heard[0].at <= Date.now());
    assert.ok(heard[0].until >= heard[0].at + DAY.maxTokenLifetimeMs, 'a session entry outlives any token of it');
  });

  t('entries expire by themselves: a jti at its exp, a sid or sub after the longest token lifetime', async () => {
    const policy: RevocationPolicy = { maxTokenLifetimeMs: 1000, clockToleranceMs: 0 };
    const store = await backend.open({ policy });
    // now() is whole seconds, so now() + 1 may be a few ms away and gone before its TTL is read; + 2 is 1–2 s away.
    const a = token({ exp: now() + 2 });
    const b = token();
    const c = token();
    const ra = await store.revoke({ kind: 'jti', id: a.jti! }, { exp: a.exp });
    const rb = await store.revoke({ kind: 'sid', id: b.sid! });
    const rc = await store.revoke({ kind: 'sub', id: c.sub });
    assert.is(ra.until, a.exp * 1000, "a jti entry lives until the token's exp");
    assert.is(rb.until, rb.at + 1000);
    assert.is(rc.until, rc.at + 1000);
    assert.equal(await store.checkMany([a, b, c]), [true, true, true]);
    assert.is(await backend.count(store), 3);
    if (backend.pttl) {
      for (const [kind, id] of [
        ['jti', a.jti!],
        ['sid', b.sid!],
        ['sub', c.sub],
      ] as const) {
        const ttl = await backend.pttl(revocationKey(kind, id));
        assert.ok(ttl > 0 && ttl <= 2000, `${kind} key has a TTL (${ttl} ms)`);
      }
    }
    await sleep(Math.max(ra.until, rb.until, rc.until) - Date.now() + 50);
    assert.equal(await store.checkMany([a, b, c]), [false, false, false]);
    await waitFor(async () => (await backend.count(store)) === 0, 2000, 'the entries to be gone');
  });

  t.run();
}

contract(memoryBackend);
contract(redisBackend);
contract(redisClusterBackend);
contract(mirrored(redisBackend));
contract(mirrored(redisClusterBackend));

const r = suite('redis store specifics');
let rs: TestRedis;
let rAdmin: Redis;
const rOpened: RedisRevocationStore[] = [];
r.before(async () => {
  rs = await TestRedis.start();
  rAdmin = rs.client();
});
r.after(async () => {
  for (const s of rOpened.splice(0)) await s.close();
  rAdmin.disconnect();
  await rs.close();
});
async function openRedis(origin: string, timeoutMs = 300): Promise<RedisRevocationStore> {
  const store = new RedisRevocationStore({ target: { url: rs.url }, timeoutMs, policy: DAY, origin, subscribe: true });
  rOpened.push(store);
  assert.ok(await store.ready(3000));
  return store;
}

r('keys and the channel share the {gatehouse} hash tag, and every key has a TTL', async () => {
  const store = await openRedis('node-a');
  await store.revoke({ kind: 'jti', id: 'j' }, { exp: now() + 60 });
  await store.revoke({ kind: 'sid', id: 's' });
  await store.revoke({ kind: 'sub', id: 'u' });
  const keys = (await rAdmin.keys('*')).sort();
  assert.equal(keys, ['{gatehouse}:rv:jti:j', '{gatehouse}:rv:sid:s', '{gatehouse}:rv:sub:u']);
  for (const key of keys) assert.ok((await rAdmin.pttl(key)) > 0, `${key} expires`);
});

r('another node hears the announcement', async () => {
  const a = await openRedis('node-a');
  const b = await openRedis('node-b');
  const heard: Revocation[] = [];
  b.onRevocation((x) => heard.push(x));
  const sent = await a.revoke({ kind: 'sub', id: 'someone' });
  await waitFor(() => heard.length === 1, 2000, 'node b to hear it');
  assert.equal(heard[0], sent);
});

r('a check Redis does not answer in time fails with StoreUnavailableError', async () => {
  const store = await openRedis('node-a', 150);
  await rAdmin.client('PAUSE', 1000, 'ALL');
  const started = Date.now();
  try {
    await store.check(token());
    assert.unreachable('the check should have failed');
  } catch (err) {
    assert.instance(err, StoreUnavailableError);
  }
  assert.ok(Date.now() - started < 900, 'it gave up at its timeout, not when Redis woke up');
  await rAdmin.client('UNPAUSE');
});

r('while Redis is down every call fails at once; all works again once it is back', async () => {
  const store = await openRedis('node-a');
  let resyncs = 0;
  store.onResync(() => {
    resyncs += 1;
  });
  await redis_stop_start(async () => {
    await waitFor(() => store.unavailableReason() !== undefined, 2000, 'the store to notice');
    for (const call of [() => store.check(token()), () => store.revoke({ kind: 'sub', id: 'x' }), () => store.checkMany([token()])]) {
      try {
        await call();
        assert.unreachable('should fail while Redis is down');
      } catch (err) {
        assert.instance(err, StoreUnavailableError);
      }
    }
  });
  assert.ok(await store.ready(5000), 'ready again');
  await waitFor(() => resyncs >= 1, 3000, 'a resync after the subscriber came back');
  await store.revoke({ kind: 'jti', id: 'after' });
  assert.is(await store.check(token({ jti: 'after' })), true);
});

async function redis_stop_start(whileDown: () => Promise<void>): Promise<void> {
  await rs.stop();
  try {
    await whileDown();
  } finally {
    await rs.start();
  }
}

r.run();

const c = suite('redis cluster store specifics');
const cOpened: RedisRevocationStore[] = [];
c.before(async () => {
  await sharedCluster();
});
c.after.each(async () => {
  for (const s of cOpened.splice(0)) await s.close();
});
c.after(async () => {
  clusterAdmin?.disconnect();
  await cluster?.close();
});
async function openOnCluster(origin: string, timeoutMs = 300): Promise<RedisRevocationStore> {
  const store = new RedisRevocationStore({ target: { seeds: seedList(cluster!.seeds) }, timeoutMs, policy: DAY, origin, subscribe: true });
  cOpened.push(store);
  assert.ok(await store.ready(5000), 'redis cluster store ready');
  return store;
}
/** Runs `ask` on a plain connection to one cluster node. */
async function onNode<T>(port: number, ask: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  try {
    return await ask(r);
  } finally {
    r.disconnect();
  }
}
/** The port of the master holding the `{gatehouse}` slot. */
async function slotOwner(): Promise<number> {
  const slot = await clusterAdmin.cluster('KEYSLOT', '{gatehouse}');
  const ranges = (await clusterAdmin.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
  return ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
}
/** The port of the node a store's subscriber connection is on (by its connection name), if any. */
async function subscriberNode(origin: string): Promise<number | undefined> {
  for (const port of cluster!.ports) {
    const list = await onNode(port, (r) => r.client('LIST') as Promise<string>);
    if (list.split('\n').some((line) => line.includes(`name=gatehouse:${origin}:sub `) && / sub=[1-9]\d* /.test(line))) return port;
  }
  return undefined;
}

c("every key sits on the {gatehouse} slot's master, with a TTL", async () => {
  const store = await openOnCluster('node-a');
  await store.revoke({ kind: 'jti', id: 'cj' }, { exp: now() + 60 });
  await store.revoke({ kind: 'sid', id: 'cs' });
  await store.revoke({ kind: 'sub', id: 'cu' });
  const owner = await slotOwner();
  for (const port of cluster!.ports) {
    const keys = (await onNode(port, (r) => r.keys('{gatehouse}:rv:*'))).sort();
    assert.equal(keys, port === owner ? ['{gatehouse}:rv:jti:cj', '{gatehouse}:rv:sid:cs', '{gatehouse}:rv:sub:cu'] : [], `node ${port}`);
    for (const key of keys) assert.ok((await onNode(port, (r) => r.pttl(key))) > 0, `${key} expires`);
  }
});

c('a lost subscriber connection is noticed and resynced, and announcements reach a subscriber on every node', async () => {
  const a = await openOnCluster('cl-a');
  const b = await openOnCluster('cl-b');
  const heard: Revocation[] = [];
  let resyncs = 0;
  b.onRevocation((x) => heard.push(x));
  b.onResync(() => {
    resyncs += 1;
  });
  const visited = new Set<number>();
  // Each kill moves b's subscriber on to the next node, so three rounds visit the slot's master and both others.
  for (let round = 0; round < cluster!.ports.length; round++) {
    let port: number | undefined;
    await waitFor(async () => (port = await subscriberNode('cl-b')) !== undefined, 3000, "b's subscriber connection");
    visited.add(port!);
    const sent = await a.revoke({ kind: 'sid', id: `round-${round}` });
    await waitFor(() => heard.some((x) => x.id === sent.id), 2000, `b to hear round ${round} (subscribed on ${port})`);
    const before = resyncs;
    await onNode(port!, (r) => r.client('KILL', 'TYPE', 'pubsub'));
    await waitFor(() => resyncs > before, 3000, "a resync once b's subscription holds again");
    assert.ok(await b.ready(3000));
  }
  assert.is(visited.size, cluster!.ports.length, `subscribed on ${[...visited].join(', ')}`);
  assert.ok(visited.has(await slotOwner()));
});

c("a check the slot's master does not answer in time fails with StoreUnavailableError", async () => {
  const store = await openOnCluster('node-a', 150);
  const owner = new Redis(await slotOwner(), '127.0.0.1', { maxRetriesPerRequest: 1 });
  try {
    await owner.client('PAUSE', 1000, 'ALL');
    const started = Date.now();
    try {
      await store.check(token());
      assert.unreachable('the check should have failed');
    } catch (err) {
      assert.instance(err, StoreUnavailableError);
    }
    assert.ok(Date.now() - started < 900, 'it gave up at its timeout, not when Redis woke up');
  } finally {
    await owner.client('UNPAUSE');
    owner.disconnect();
  }
});

c.run();
