// budget: 90s
// A node that missed a change converges: within its sweep interval, at once on its next subscribe, and at once when
// its Redis link comes back. A renewal, or a fresh token from the backend, does not bring a revoked grant back; a
// token that states grants_version ≥ the change's version does. Three gateway processes on one Redis (one of them
// reaches it through a proxy whose link the test cuts); "missed" changes are written to Redis directly, as a change
// whose announcement never reached the node.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type Redis from 'ioredis';
import type { AGClientSocket } from 'socketcluster-client';
import { KICK_MESSAGES, ServerEvent } from '../../shared';
import { grantKey } from '../../server/grants/redis-store';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { publishOutcome, subscribeOutcome } from '../helpers/channels';
import { mintHs256, nextEvent, sleep, waitFor } from '../helpers/gateway';
import type { GatewayProcess } from '../helpers/gateway-process';
import { CutProxy } from '../helpers/cut-proxy';
import type { TestRedis } from '../helpers/redis-server';
import { useScope } from '../helpers/scope';

let redis: TestRedis;
let direct: Redis;
let proxy: CutProxy;
let a: GatewayProcess;
let fast: GatewayProcess;
let slow: GatewayProcess;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  redis = await suiteScope.redis();
  direct = suiteScope.own(redis.client(), (c) => c.disconnect(), 'redis client');
  proxy = suiteScope.own(await CutProxy.start(redis.port), (p) => p.close(), 'cut proxy');
  const env = (id: string, url = redis.url) => ({ GATEHOUSE_REDIS_URL: url, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_NODE_ID: id });
  [a, fast, slow] = await Promise.all([
    suiteScope.process(env('node-a'), 30_000),
    suiteScope.process({ ...env('node-fast'), GATEHOUSE_GRANTS_SWEEP_INTERVAL: '1s', GATEHOUSE_RENEW_INTERVAL: '1s', GATEHOUSE_TOKEN_TTL: '10s' }, 30_000),
    suiteScope.process(env('node-slow', `redis://127.0.0.1:${proxy.port}`), 30_000),
  ]).catch((err: Error) => {
    console.error(err.message);
    throw err;
  });
});

async function user(node: GatewayProcess, sub: string, claims: Record<string, unknown>) {
  const { client, status } = await scope.connect(node, mintHs256({ sub, ...claims }));
  assert.is(status.isAuthenticated, true);
  return client;
}

/** Stores a change in Redis without announcing it: what a node that missed the announcement finds there. */
async function storeUnannounced(sub: string, version: number, channels: unknown): Promise<void> {
  await direct.set(grantKey(sub), JSON.stringify({ v: version, c: channels, x: Date.now() + 3_600_000 }), 'PX', 3_600_000);
}

function grantsChanged(client: AGClientSocket, ms: number): Promise<{ version: number }> {
  return (client.receiver(ServerEvent.GrantsChanged) as unknown as { once(ms: number): Promise<{ version: number }> }).once(ms);
}

test('a node that missed a change applies it within its sweep interval', async () => {
  const s = await user(fast, 'sweepy', { channels: ['room:*'] });
  assert.is(await subscribeOutcome(s, 'room:1'), 'subscribed');
  const kick = nextEvent<{ channel: string; message: string }>(s, 'kickOut', 2500);
  const notice = grantsChanged(s, 2500);
  const started = Date.now();
  await storeUnannounced('sweepy', 3, ['lobby']);
  assert.equal(await kick, { channel: 'room:1', message: KICK_MESSAGES['grants-changed'] });
  assert.equal(await notice, { version: 3 });
  assert.ok(Date.now() - started < 2000, `converged in ${Date.now() - started} ms`);
});

test('a node that missed a change applies it at once on the next subscribe of that user', async () => {
  const s = await user(slow, 'subby', { channels: ['room:*', 'lobby'] });
  assert.is(await subscribeOutcome(s, 'room:1'), 'subscribed');
  await storeUnannounced('subby', 4, ['lobby']);
  await sleep(300);
  assert.is(s.isSubscribed('room:1'), true, 'the node has not heard of the change yet (its sweep is 30 s)');
  const kick = nextEvent<{ channel: string }>(s, 'kickOut', 1000);
  const started = Date.now();
  assert.is(await subscribeOutcome(s, 'lobby'), 'subscribed');
  assert.is((await kick).channel, 'room:1');
  assert.ok(Date.now() - started < 500, `converged in ${Date.now() - started} ms`);
  assert.is(await subscribeOutcome(s, 'room:2'), 'SubscribeForbiddenError');
  const metrics = (await admin(slow.port, 'GET', '/metrics', undefined, null)).text;
  assert.match(metrics, /gatehouse_grants_caught_up_total\{[^}]*\} 1\b/);
  assert.match(metrics, /gatehouse_grants_kicked_total\{[^}]*\} 1\b/);
});

test('a node whose Redis link comes back reloads the records of its users at once', async () => {
  const s = await user(slow, 'linky', { channels: ['room:*'] });
  assert.is(await subscribeOutcome(s, 'room:1'), 'subscribed');
  proxy.cut();
  await sleep(200);
  await storeUnannounced('linky', 2, []);
  const kick = nextEvent<{ channel: string }>(s, 'kickOut', 5000);
  proxy.restore();
  assert.is((await kick).channel, 'room:1');
});

test('a node started after a change knows it before its first client', async () => {
  await storeUnannounced('newcomer', 6, ['lobby']);
  const late = await scope.process({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_NODE_ID: 'node-late', GATEHOUSE_GRANTS_SWEEP_INTERVAL: '30s' }, 30_000);
  const { client, status } = await scope.connect(late, mintHs256({ sub: 'newcomer', channels: ['room:*'] }));
  assert.is(status.isAuthenticated, true);
  assert.is(await publishOutcome(client, 'room:1', 'x'), 'PublishForbiddenError');
  assert.is(await subscribeOutcome(client, 'room:1'), 'SubscribeForbiddenError');
  assert.is(await subscribeOutcome(client, 'lobby'), 'subscribed');
});

test('a renewal, or a fresh token from the backend, does not bring a revoked grant back', async () => {
  const s = await user(fast, 'renny', { channels: ['room:*'] });
  assert.is(await subscribeOutcome(s, 'room:1'), 'subscribed');
  const kick = nextEvent(s, 'kickOut', 3000);
  assert.is((await admin(a.port, 'PUT', '/admin/grants/renny', { version: 11, channels: ['lobby'] })).status, 200);
  await kick;
  const before = s.signedAuthToken;
  // The gateway renews every second here.
  await waitFor(() => s.signedAuthToken !== before, 4000, 'a renewal');
  assert.is(await subscribeOutcome(s, 'room:1'), 'SubscribeForbiddenError');
  await s.authenticate(mintHs256({ sub: 'renny', channels: ['room:*'] }));
  assert.is(s.authState, 'authenticated');
  assert.is(await subscribeOutcome(s, 'room:1'), 'SubscribeForbiddenError');
  assert.is(await subscribeOutcome(s, 'lobby'), 'subscribed');
  // Older knowledge changes nothing; a token that knows this change (or a later one) is taken at its word.
  await s.authenticate(mintHs256({ sub: 'renny', channels: ['room:*'], grants_version: 10 }));
  assert.is(await subscribeOutcome(s, 'room:1'), 'SubscribeForbiddenError');
  await s.authenticate(mintHs256({ sub: 'renny', channels: ['room:*'], grants_version: 11 }));
  assert.is(await subscribeOutcome(s, 'room:1'), 'subscribed');
  // Another socket of that user with an older token keeps the override.
  const other = await user(fast, 'renny', { channels: ['room:*'] });
  assert.is(await subscribeOutcome(other, 'room:1'), 'SubscribeForbiddenError');
});

test.run();
