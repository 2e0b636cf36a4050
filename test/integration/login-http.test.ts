import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:http';
import type { Gateway } from '../../server/gateway';
import { ErrorName } from '../../shared';
import { connectWithToken } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { decodePayload, postLogin, startLoginGateway, writeUsersFile } from '../helpers/login';

const bob = { username: 'bob', password: 'bob-password', sub: 'user-bob', channels: ['room:1'], claims: { tier: 'gold' } };
let usersFile: string;
let gw: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  usersFile = await writeUsersFile([bob]);
  gw = await suiteScope.gateway({ GATEHOUSE_USERS_FILE: usersFile });
});

test('POST /auth/login answers {token, expiresAt}; the token opens an authenticated socket', async () => {
  const res = await postLogin(gw, { username: 'bob', password: 'bob-password' });
  assert.is(res.status, 200);
  assert.is(res.headers.get('cache-control'), 'no-store');
  const claims = decodePayload(res.body.token!);
  assert.is(claims.sub, 'user-bob');
  assert.equal(claims.channels, ['room:1']);
  assert.is(claims.tier, 'gold');
  assert.type(claims.sid, 'string');
  assert.type(claims.jti, 'string');
  assert.is(res.body.expiresAt, claims.exp);
  const { client, status } = await connectWithToken(gw, res.body.token!);
  client.disconnect();
  assert.is(status.isAuthenticated, true);
});

test('wrong password and unknown user → 401 LoginError with the same message', async () => {
  const wrong = await postLogin(gw, { username: 'bob', password: 'nope' });
  const unknown = await postLogin(gw, { username: 'zed', password: 'nope' });
  for (const res of [wrong, unknown]) {
    assert.is(res.status, 401);
    assert.is(res.body.error?.name, ErrorName.Login);
  }
  assert.is(wrong.body.error?.message, unknown.body.error?.message);
});

const badRequests: [string, unknown, Record<string, string>?][] = [
  ['not JSON', '{"username": "bob", '],
  ['a JSON string', '"bob"'],
  ['a JSON array', '["bob","bob-password"]'],
  ['JSON null', 'null'],
  ['missing password', { username: 'bob' }],
  ['a number as username', { username: 1, password: 'x' }],
  ['a password over 256 characters', { username: 'bob', password: 'p'.repeat(257) }],
  ['a body over 8 KiB', { username: 'bob', password: 'bob-password', pad: 'x'.repeat(9000) }],
  ['text/plain', { username: 'bob', password: 'bob-password' }, { 'content-type': 'text/plain' }],
  ['a form', 'username=bob&password=bob-password', { 'content-type': 'application/x-www-form-urlencoded' }],
];
for (const [name, body, headers] of badRequests) {
  test(`POST /auth/login with ${name} → 400 BadRequestError`, async () => {
    const res = await postLogin(gw, body, headers);
    assert.is(res.status, 400);
    assert.is(res.body.error?.name, ErrorName.BadRequest);
  });
}

test('a huge body is refused without being read to the end', async () => {
  // Declares 10 MB and sends only a little: the gateway answers from the Content-Length alone.
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: gw.address().port,
        path: '/auth/login',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(10_000_000) },
        timeout: 3000,
      },
      (r) => {
        let body = '';
        r.on('data', (d) => {
          body += d;
        });
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.write('{"username":');
  });
  assert.is(res.status, 400);
  assert.is((JSON.parse(res.body) as { error: { name: string } }).error.name, ErrorName.BadRequest);
});

test('GET /auth/login → 405', async () => {
  const res = await fetch(`http://127.0.0.1:${gw.address().port}/auth/login`, { signal: AbortSignal.timeout(3000) });
  assert.is(res.status, 405);
  assert.is(res.headers.get('allow'), 'POST, OPTIONS');
  await res.text();
});

test('without a verifier there is no /auth/login', async () => {
  const g = await scope.gateway();
  const res = await postLogin(g, { username: 'bob', password: 'bob-password' });
  assert.is(res.status, 404);
});

test('429 with Retry-After once failures pass the limit', async () => {
  const g = scope.ownGateway(await startLoginGateway({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_LOGIN_MAX_FAILURES: '2' }));
  for (let i = 0; i < 2; i++) assert.is((await postLogin(g, { username: 'bob', password: 'x' })).status, 401);
  const res = await postLogin(g, { username: 'bob', password: 'bob-password' });
  assert.is(res.status, 429);
  assert.is(res.body.error?.name, ErrorName.RateLimited);
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 900);
});

test('X-Forwarded-For is ignored unless the peer is a trusted proxy', async () => {
  const g = scope.ownGateway(await startLoginGateway({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP: '2' }));
  // Each request claims a different client; all come from 127.0.0.1, which is not trusted, so they share one count.
  assert.is((await postLogin(g, { username: 'u1', password: 'x' }, { 'x-forwarded-for': '198.51.100.1' })).status, 401);
  assert.is((await postLogin(g, { username: 'u2', password: 'x' }, { 'x-forwarded-for': '198.51.100.2' })).status, 401);
  assert.is((await postLogin(g, { username: 'u3', password: 'x' }, { 'x-forwarded-for': '198.51.100.3' })).status, 429);
});

test('behind a trusted proxy the right-most untrusted X-Forwarded-For address is the client', async () => {
  const g = scope.ownGateway(
    await startLoginGateway({
      GATEHOUSE_USERS_FILE: usersFile,
      GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP: '2',
      GATEHOUSE_TRUST_PROXY: '127.0.0.1,10.0.0.0/8',
    }),
  );
  const as = (xff: string, username: string) => postLogin(g, { username, password: 'x' }, { 'x-forwarded-for': xff });
  // Client 198.51.100.1 through an inner proxy 10.1.2.3; forged entries to the left are not believed.
  assert.is((await as('6.6.6.1, 198.51.100.1, 10.1.2.3', 'u1')).status, 401);
  assert.is((await as('6.6.6.2, 198.51.100.1, 10.1.2.3', 'u2')).status, 401);
  assert.is((await as('6.6.6.3, 198.51.100.1', 'u3')).status, 429);
  // Another client behind the same proxy has its own count.
  assert.is((await as('198.51.100.2', 'u4')).status, 401);
  // Without the header the proxy itself is the client.
  assert.is((await postLogin(g, { username: 'u5', password: 'x' })).status, 401);
});

test.run();
