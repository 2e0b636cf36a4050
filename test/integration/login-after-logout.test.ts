// budget: 60s
// A user revocation covers tokens issued up to the clock tolerance after it (so a signer whose clock runs ahead
// cannot escape it). A login right after "logout everywhere" therefore waits those seconds before it signs, and the
// new session holds, instead of being closed as revoked the moment it is set. Memory store and Redis.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Procedure } from '../../shared';
import { nextEvent, sleep } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { startLoginGateway, writeUsersFile } from '../helpers/login';
import { TestRedis } from '../helpers/redis-server';

const PASSWORD = 'correct horse battery staple';
let redis: TestRedis;
let usersFile: string;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  redis = await suiteScope.redis();
  usersFile = await writeUsersFile([{ username: 'alice', password: PASSWORD, sub: 'user-alice' }]);
});

for (const [store, extra] of [
  ['memory', {}],
  ['redis', { GATEHOUSE_REDIS_URL: '' }],
] as const) {
  test(`${store}: logout everywhere, then log in again at once: the new session is not closed`, async () => {
    const env: Record<string, string> = { GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_CLOCK_TOLERANCE: '2s', ...extra };
    if ('GATEHOUSE_REDIS_URL' in extra) env.GATEHOUSE_REDIS_URL = redis.url;
    const gw = scope.ownGateway(await startLoginGateway(env));
    const client = scope.client(gw, { ackTimeout: 8000 });
    await nextEvent(client, 'connect');
    await client.invoke(Procedure.Login, { username: 'alice', password: PASSWORD });
    assert.equal(await client.invoke(Procedure.Logout, { everywhere: true }), { revoked: 'sub' });

    let closedWith: number | undefined;
    void nextEvent<{ code: number }>(client, 'close', 6000).then(
      ({ code }) => {
        closedWith = code;
      },
      () => undefined,
    );
    const started = Date.now();
    await client.invoke(Procedure.Login, { username: 'alice', password: PASSWORD });
    const waited = Date.now() - started;
    assert.ok(waited <= 5000, `the login waited ${waited} ms (at most the tolerance and a second or so)`);
    await sleep(1000);
    assert.is(closedWith, undefined, 'the new session was closed');
    assert.is(client.authState, 'authenticated');
  });
}

test.run();
