// Redis going away: fail closed, /readyz 503, no crash, recovery; and revocations missed by a node's subscriber.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type Redis from 'ioredis';
import { CloseCode, ErrorName, Procedure } from '../../shared';
import type { Gateway } from '../../server/gateway';
import { RedisRevocationStore, revocationKey } from '../../server/revocation/redis-store';
import { mintHs256, nextEvent, sleep, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { TestRedis } from '../helpers/redis-server';

let redis: TestRedis;
let admin: Redis;
let gw: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  redis = await suiteScope.redis();
  admin = suiteScope.own(redis.client(), (c) => c.disconnect(), 'redis client');
  admin.on('error', () => {});
  gw = await suiteScope.gateway({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_REDIS_TIMEOUT: '200ms' });
});

let n = 0;
function fresh() {
  n += 1;
  return { sub: `user-${n}`, sid: `sid-${n}`, jti: `jti-${n}` };
}

const handshake = (token: string | null) => scope.connect(gw, token);

async function readyz(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${gw.address().port}/readyz`);
  await res.arrayBuffer();
  return res.status;
}

test('with Redis down, authentication fails closed with AuthUnavailableError, the client keeps its token, /readyz is 503; all is well once Redis is back', async () => {
  const before = await handshake(mintHs256(fresh()));
  assert.is(before.status.isAuthenticated, true);
  assert.is(await readyz(), 200);

  await redis.stop();
  await waitFor(async () => (await readyz()) === 503, 3000, '/readyz to turn 503');

  const token = mintHs256(fresh());
  const refused = await handshake(token);
  assert.is(refused.status.isAuthenticated, false);
  assert.is(refused.status.authError?.name, ErrorName.AuthUnavailable);
  await sleep(100);
  assert.is(refused.auth.current, token, 'the client keeps its token to retry with');

  const later = await handshake(null);
  const status = (await later.client.authenticate(token)) as unknown as { isAuthenticated: boolean; authError?: { name: string } };
  assert.is(status.isAuthenticated, false);
  assert.is(status.authError?.name, ErrorName.AuthUnavailable);
  await sleep(50);
  assert.is(later.auth.current, token, 'authenticate() keeps the token too');

  // Logging out needs the revocation stored: it fails and changes nothing.
  try {
    await before.client.invoke(Procedure.Logout, undefined);
    assert.unreachable('logout should fail while Redis is down');
  } catch (err) {
    assert.is((err as Error).name, ErrorName.AuthUnavailable);
  }
  assert.is(before.client.authState, 'authenticated');
  assert.is(before.client.state, 'open', 'sockets admitted before the outage stay');
  const healthz = await fetch(`http://127.0.0.1:${gw.address().port}/healthz`);
  assert.is(healthz.status, 200, 'the process is alive and serving');

  await redis.start();
  await waitFor(async () => (await readyz()) === 200, 5000, '/readyz to turn 200 again');
  const again = await handshake(token);
  assert.is(again.status.isAuthenticated, true);
  assert.is(again.status.authError, undefined);
});

test('a revocation the node never heard of (written while its subscription was down) closes its socket once it resubscribes', async () => {
  const claims = fresh();
  const { client, status, auth } = await handshake(mintHs256(claims));
  assert.is(status.isAuthenticated, true);
  await waitFor(() => gw.revocation.enforcer.index.size >= 1, 2000, 'the socket indexed');

  // As if announced while the node was not listening: the entry is there, the announcement is not.
  await admin.set(revocationKey('sid', claims.sid), String(Date.now()), 'PX', 60_000);
  await sleep(300);
  assert.is(client.state, 'open', 'nothing told the node yet');

  const closed = nextEvent<{ code: number }>(client, 'close', 5000);
  await admin.client('KILL', 'TYPE', 'pubsub');
  assert.is((await closed).code, CloseCode.TokenRevoked);
  assert.is(auth.current, null, 'the client dropped its token');
  await waitFor(async () => (await readyz()) === 200, 5000, 'the node ready again');
});

test("a revocation announced while the node's subscriber is reconnecting still closes its socket", async () => {
  const claims = fresh();
  const { client, status } = await handshake(mintHs256(claims));
  assert.is(status.isAuthenticated, true);
  await waitFor(() => gw.revocation.enforcer.index.size >= 1, 2000, 'the socket indexed');
  const other = new RedisRevocationStore({
    target: { url: redis.url },
    timeoutMs: 500,
    origin: 'other',
    subscribe: false,
    policy: { maxTokenLifetimeMs: 86_400_000, clockToleranceMs: 5000 },
  });
  try {
    assert.ok(await other.ready(3000));
    const closed = nextEvent<{ code: number }>(client, 'close', 5000);
    await admin.client('KILL', 'TYPE', 'pubsub');
    await other.revoke({ kind: 'sub', id: claims.sub });
    assert.is((await closed).code, CloseCode.TokenRevoked);
  } finally {
    await other.close();
  }
});

test.run();
