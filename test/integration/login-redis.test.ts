// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { ErrorName } from '../../shared';
import { nextEvent, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { invokeLogin, postLogin, startLoginGateway, writeUsersFile } from '../helpers/login';
import { TestRedis } from '../helpers/redis-server';

let redis: TestRedis;
let gwA: Gateway;
let gwB: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  redis = await suiteScope.redis();
  const usersFile = await writeUsersFile([
    { username: 'alice', password: 'alice-pw', sub: 'user-alice' },
    { username: 'bob', password: 'bob-pw', sub: 'user-bob' },
  ]);
  const env = { GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_LOGIN_MAX_FAILURES: '4' };
  gwA = suiteScope.ownGateway(await startLoginGateway(env));
  gwB = suiteScope.ownGateway(await startLoginGateway(env));
});

async function socketOn(g: Gateway): Promise<AGClientSocket> {
  const c = scope.client(g);
  await nextEvent(c, 'connect');
  return c;
}

test('failed logins on two gateways sharing Redis count against one limit', async () => {
  const [a, b] = await Promise.all([socketOn(gwA), socketOn(gwB)]);
  assert.is((await invokeLogin(a, { username: 'alice', password: 'x1' })).error?.name, ErrorName.Login);
  assert.is((await invokeLogin(b, { username: 'alice', password: 'x2' })).error?.name, ErrorName.Login);
  assert.is((await postLogin(gwA, { username: 'alice', password: 'x3' })).status, 401);
  assert.is((await postLogin(gwB, { username: 'alice', password: 'x4' })).status, 401);
  const limited = await invokeLogin(a, { username: 'alice', password: 'alice-pw' });
  assert.is(limited.error?.name, ErrorName.RateLimited);
  assert.ok((limited.error?.retryAfter ?? 0) >= 1);
  assert.is((await invokeLogin(b, { username: 'alice', password: 'alice-pw' })).error?.name, ErrorName.RateLimited);
  const keys = await withClient((r) => r.keys('gatehouse:login-fail:*'));
  assert.ok(keys.includes('gatehouse:login-fail:user:alice'), `keys: ${keys.join(', ')}`);
});

test('a success on one gateway resets the username counter for the other', async () => {
  const [a, b] = await Promise.all([socketOn(gwA), socketOn(gwB)]);
  for (let i = 0; i < 3; i++) await invokeLogin(a, { username: 'bob', password: 'bad' });
  assert.is((await invokeLogin(b, { username: 'bob', password: 'bob-pw' })).answer?.sub, 'user-bob');
  assert.is(await withClient((r) => r.exists('gatehouse:login-fail:user:bob')), 0);
});

test('Redis down: login fails closed with LoginUnavailableError, no crash; Redis back: login works', async () => {
  const a = await socketOn(gwA);
  await withClient((r) => r.flushall());
  await redis.stop();
  try {
    const rpc = await invokeLogin(a, { username: 'bob', password: 'bob-pw' });
    assert.is(rpc.error?.name, ErrorName.LoginUnavailable);
    assert.is(a.authState, 'unauthenticated');
    const http = await postLogin(gwB, { username: 'bob', password: 'bob-pw' });
    assert.is(http.status, 503);
    assert.is(http.body.error?.name, ErrorName.LoginUnavailable);
  } finally {
    await redis.start();
  }
  await waitFor(async () => (await invokeLogin(a, { username: 'bob', password: 'bob-pw' })).answer?.sub === 'user-bob', 10_000, 'login to work again');
  assert.is((await postLogin(gwB, { username: 'bob', password: 'bob-pw' })).status, 200);
});

async function withClient<T>(fn: (r: ReturnType<TestRedis['client']>) => Promise<T>): Promise<T> {
  const r = redis.client();
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

test.run();
