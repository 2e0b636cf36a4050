// budget: 90s
// Each node's mirror of the Redis revocations: answers from memory only while known to be whole, Redis (or fail
// closed) otherwise. Two gateways sharing one Redis; a feed held down by an ACL; a load racing revocations; expiry;
// the entry limit.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type Redis from 'ioredis';
import { ErrorName, type GatehouseClaims } from '../../shared';
import type { Gateway } from '../../server/gateway';
import { MirroredRevocationStore } from '../../server/revocation/mirrored-store';
import { RedisRevocationStore, revocationKey } from '../../server/revocation/redis-store';
import { StoreUnavailableError, type RevocationPolicy } from '../../server/revocation/store';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import type { TestRedis } from '../helpers/redis-server';
import { TestScope, useScope } from '../helpers/scope';

const DAY: RevocationPolicy = { maxTokenLifetimeMs: 86_400_000, clockToleranceMs: 5000 };
const now = () => Math.floor(Date.now() / 1000);
let n = 0;
function fresh() {
  n += 1;
  return { sub: `user-${n}`, sid: `sid-${n}`, jti: `jti-${n}` };
}
function claimsOf(ids: { sub: string; sid: string; jti: string }, over: Partial<GatehouseClaims> = {}): GatehouseClaims {
  return { ...ids, iat: now() - 5, exp: now() + 300, ...over };
}

let redis: TestRedis;
let admin: Redis;
/** The stores a test of the first suite makes, closed after it. */
const stores = new TestScope();

function redisStore(origin: string, url = redis.url, policy = DAY): RedisRevocationStore {
  return stores.own(
    new RedisRevocationStore({ target: { url }, timeoutMs: 300, policy, origin, subscribe: true }),
    (store) => store.close(),
    'revocation store',
  );
}

interface MirrorOptions {
  policy?: RevocationPolicy;
  maxEntries?: number;
  url?: string;
  maxFeedSilenceMs?: number;
}

function mirror(origin: string, opts: MirrorOptions = {}): MirroredRevocationStore {
  const policy = opts.policy ?? DAY;
  const redisSide = redisStore(origin, opts.url, policy);
  return stores.own(
    new MirroredRevocationStore({
      redis: redisSide,
      clockToleranceMs: policy.clockToleranceMs,
      sweepIntervalMs: 50,
      maxEntries: opts.maxEntries,
      maxFeedSilenceMs: opts.maxFeedSilenceMs,
      heartbeatIntervalMs: 50,
    }),
    (store) => store.close(),
    'mirrored store',
  );
}

/** A private Redis for one suite, and a client on it for the test's own reads and writes. */
async function setup(scope: TestScope): Promise<void> {
  redis = await scope.redis();
  admin = scope.own(redis.client(), (c) => c.disconnect(), 'redis client');
  admin.on('error', () => {});
}

const s = suite('revocation mirror: the store');
const storeSuiteScope = useScope(s, 'suite');
s.before(() => setup(storeSuiteScope));
s.after.each(async () => {
  await stores.close();
  await admin.flushall();
});

s('revocations in Redis before the node starts are loaded; the load races revocations made meanwhile and misses none', async () => {
  const writer = redisStore('writer');
  assert.ok(await writer.ready(3000));
  // Enough keys for the load to take many SCAN steps (1,000 keys each), so revocations land while it runs.
  const before = Array.from({ length: 20_000 }, (_, i) => `before-${i}`);
  const pipeline = admin.pipeline();
  for (const id of before) pipeline.set(`{gatehouse}:rv:jti:${id}`, String(Date.now()), 'PX', 600_000);
  await pipeline.exec();

  const store = mirror('node-b');
  const during: string[] = [];
  let whileLoading = 0;
  while (!store.current) {
    const id = `during-${during.length}`;
    await writer.revoke({ kind: 'jti', id });
    during.push(id);
    if (!store.current) whileLoading += 1;
    if (during.length > 20_000) assert.unreachable('the mirror never became current');
  }
  await writer.revoke({ kind: 'sub', id: 'after' });
  assert.ok(whileLoading > 0, 'some revocations were made while the mirror loaded');
  await waitFor(async () => store.check(claimsOf({ sub: 'after', sid: 'x', jti: 'y' })), 2000, 'the announcement after the load');
  const all = [...before, ...during].map((id) => claimsOf({ sub: 'nobody', sid: 'none', jti: id }));
  assert.ok(store.current, 'answering from memory');
  const hits = await store.checkMany(all);
  assert.is(hits.filter((hit) => !hit).length, 0, 'every revocation is in the mirror');
  assert.is(await store.check(claimsOf(fresh())), false, 'others pass');
});

s('an entry loaded from Redis and one announced both leave at their deadline', async () => {
  const policy: RevocationPolicy = { maxTokenLifetimeMs: 800, clockToleranceMs: 0 };
  const writer = redisStore('writer', redis.url, policy);
  assert.ok(await writer.ready(3000));
  const loaded = fresh();
  const announced = fresh();
  const r1 = await writer.revoke({ kind: 'sid', id: loaded.sid });
  const store = mirror('node-b', { policy });
  await waitFor(() => store.current, 3000, 'the mirror current');
  const r2 = await writer.revoke({ kind: 'sub', id: announced.sub });
  await waitFor(() => store.size === 2, 2000, 'the announcement');
  assert.equal(await store.checkMany([claimsOf(loaded), claimsOf(announced)]), [true, true]);
  await sleep(Math.max(r1.until, r2.until) - Date.now() + 50);
  assert.ok(store.current);
  assert.equal(await store.checkMany([claimsOf(loaded), claimsOf(announced)]), [false, false]);
  await waitFor(() => store.size === 0, 2000, 'the sweep to give the entries back');
});

s("a node's own revocation is in its mirror when revoke() resolves", async () => {
  const store = mirror('node-a');
  await waitFor(() => store.current, 3000, 'the mirror current');
  for (let i = 0; i < 20; i++) {
    const ids = fresh();
    await store.revoke({ kind: 'jti', id: ids.jti });
    assert.is(await store.check(claimsOf(ids)), true, `revocation ${i}`);
  }
});

s('while Redis is down the mirror is not current and checks fail closed with StoreUnavailableError', async () => {
  const store = mirror('node-a');
  await waitFor(() => store.current, 3000, 'the mirror current');
  const ids = fresh();
  await redis.stop();
  try {
    await waitFor(() => !store.current, 3000, 'the mirror to know its feed is gone');
    for (const ask of [() => store.check(claimsOf(ids)), () => store.checkMany([claimsOf(ids)])]) {
      try {
        await ask();
        assert.unreachable('a check with Redis down must not answer');
      } catch (err) {
        assert.instance(err, StoreUnavailableError);
      }
    }
  } finally {
    await redis.start();
  }
  await waitFor(() => store.current, 5000, 'the mirror current again');
  assert.is(await store.check(claimsOf(ids)), false);
});

s('a feed gone silent without dropping (Redis paused) stops the mirror answering within its silence bound; checks then fail closed', async () => {
  const store = mirror('node-a', { maxFeedSilenceMs: 400 });
  await waitFor(() => store.current, 3000, 'the mirror current');
  await sleep(800);
  assert.ok(store.current, 'heartbeats keep a live feed current');
  await admin.call('CLIENT', 'PAUSE', '2500', 'ALL');
  const pausedAt = Date.now();
  await waitFor(() => !store.current, 2000, 'the mirror to stop answering');
  assert.ok(store.redis.feedUp, 'the subscription never dropped');
  assert.ok(Date.now() - pausedAt < 2000, 'noticed within the bound and some slack');
  try {
    await store.check(claimsOf(fresh()));
    assert.unreachable('a check while Redis is silent must not answer');
  } catch (err) {
    assert.instance(err, StoreUnavailableError);
  }
  await waitFor(() => store.current, 6000, 'the mirror current once Redis answers');
});

s('over its entry limit the mirror empties itself and every check asks Redis, still answering right', async () => {
  const store = mirror('node-a', { maxEntries: 5 });
  await waitFor(() => store.current, 3000, 'the mirror current');
  const tokens = Array.from({ length: 7 }, () => fresh());
  for (const ids of tokens) await store.revoke({ kind: 'sid', id: ids.sid });
  assert.is(store.current, false, 'no longer answering from memory');
  assert.is(store.size, 0, 'its memory given back');
  assert.equal(
    await store.checkMany(tokens.map((ids) => claimsOf(ids))),
    tokens.map(() => true),
  );
  assert.is(await store.check(claimsOf(fresh())), false);
});

s.run();

const g = suite('revocation mirror: two gateways sharing one Redis');
let gwA: Gateway;
let gwB: Gateway;
const gatewaysScope = useScope(g, 'suite');
const scope = useScope(g);
const BOB = 'node-b-user';
g.before(async () => {
  await setup(gatewaysScope);
  // Node B reaches Redis as its own ACL user, so the test can cut B's feed (and only B's) and hold it down.
  await admin.call('ACL', 'SETUSER', BOB, 'on', '>bob-password', '~*', '&*', '+@all');
  gwA = await gatewaysScope.gateway({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_CLOCK_TOLERANCE: '1s' });
  gwB = await gatewaysScope.gateway({
    GATEHOUSE_REDIS_URL: `redis://${BOB}:bob-password@127.0.0.1:${redis.port}`,
    GATEHOUSE_CLOCK_TOLERANCE: '1s',
    GATEHOUSE_REDIS_TIMEOUT: '300ms',
  });
});

const mirrorOf = (gw: Gateway) => gw.revocation.store as MirroredRevocationStore;

async function handshakeOn(gw: Gateway, token: string) {
  const r = await scope.connect(gw, token);
  return r.status;
}

g("a revocation made on node A reaches node B's mirror, and B refuses the token with AuthTokenRevokedError", async () => {
  await waitFor(() => mirrorOf(gwA).current && mirrorOf(gwB).current, 5000, 'both mirrors current');
  for (const kind of ['jti', 'sid', 'sub'] as const) {
    const ids = fresh();
    const token = mintHs256({ ...ids, iat: now() - 5 });
    const before = mirrorOf(gwB).size;
    await gwA.revocation.revoke({ kind, id: ids[kind] });
    await waitFor(() => mirrorOf(gwB).size > before, 2000, `B's mirror to hear the ${kind} revocation`);
    assert.ok(mirrorOf(gwB).current, 'B answers from its mirror');
    const status = await handshakeOn(gwB, token);
    assert.is(status.isAuthenticated, false);
    assert.is(status.authError?.name, ErrorName.AuthTokenRevoked, kind);
  }
  const ok = await handshakeOn(gwB, mintHs256(fresh()));
  assert.is(ok.isAuthenticated, true, 'a token nobody revoked still passes');
});

g("a revocation made while B's feed is cut: B checks Redis during the gap, and its mirror holds it once B resyncs", async () => {
  await waitFor(() => mirrorOf(gwB).current, 5000, 'B current');
  // B's subscriber is disconnected, and cannot subscribe again while its user may not use the channel.
  await admin.call('ACL', 'SETUSER', BOB, 'resetchannels');
  await waitFor(() => !mirrorOf(gwB).current, 3000, 'B to know its feed is gone');
  const ids = fresh();
  const token = mintHs256({ ...ids, iat: now() - 5 });
  await gwA.revocation.revoke({ kind: 'sid', id: ids.sid });
  const sizeAfterGap = mirrorOf(gwB).size;

  for (let i = 0; i < 3; i++) {
    const status = await handshakeOn(gwB, token);
    assert.is(status.authError?.name, ErrorName.AuthTokenRevoked, 'refused from Redis during the gap');
    assert.is(mirrorOf(gwB).current, false);
  }
  const other = await handshakeOn(gwB, mintHs256(fresh()));
  assert.is(other.isAuthenticated, true, 'Redis answers the others meanwhile');

  await admin.call('ACL', 'SETUSER', BOB, 'allchannels');
  // The subscription retries on its next connection; end the one that was refused.
  await admin.client('KILL', 'USER', BOB, 'SKIPME', 'yes');
  await waitFor(() => mirrorOf(gwB).current, 5000, 'B current again after reloading');
  assert.ok(mirrorOf(gwB).size > sizeAfterGap, 'the reload brought the missed revocation');
  const status = await handshakeOn(gwB, token);
  assert.is(status.authError?.name, ErrorName.AuthTokenRevoked, 'refused from the mirror after the resync');
});

g('with Redis down and back, B never accepts a token revoked meanwhile', async () => {
  await waitFor(() => mirrorOf(gwB).current, 5000, 'B current');
  const ids = fresh();
  const token = mintHs256({ ...ids, iat: now() - 5 });
  await redis.stop();
  await waitFor(() => !mirrorOf(gwB).current, 3000, 'B to know its feed is gone');
  const down = await handshakeOn(gwB, token);
  assert.is(down.authError?.name, ErrorName.AuthUnavailable, 'fails closed while Redis is down');
  await redis.start();
  // Redis came back empty (the test's Redis persists nothing), without B's user: B cannot reconnect yet. The entry is
  // written as the revoke script writes it, its announcement lost in B's gap.
  await admin.set(revocationKey('jti', ids.jti), String(Date.now()), 'PX', 60_000);
  await admin.call('ACL', 'SETUSER', BOB, 'on', '>bob-password', '~*', '&*', '+@all');
  await waitFor(() => gwB.revocation.store.unavailableReason() === undefined, 5000, "B's Redis back");
  for (let i = 0; i < 20 && !mirrorOf(gwB).current; i++) {
    const status = await handshakeOn(gwB, token);
    assert.is(status.isAuthenticated, false, `attempt ${i} while B reconnects`);
  }
  await waitFor(() => mirrorOf(gwB).current, 5000, 'B current again');
  const status = await handshakeOn(gwB, token);
  assert.is(status.authError?.name, ErrorName.AuthTokenRevoked);
});

g.run();
