import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { CloseCode, ErrorName } from '../../shared';
import { configProblems, jwksOf, makeKeyPair, mintHs256, nextEvent, sleep, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { invokeLogin, startLoginGateway, writeUsersFile } from '../helpers/login';

const alice = {
  username: 'alice',
  password: 'correct horse',
  sub: 'user-alice',
  channels: ['chat:*'],
  claims: { role: 'admin', sub: 'mallory', exp: 1, iat: 1, nbf: 9_999_999_999, jti: 'x', sid: 'y', iss: 'evil', aud: 'evil', channels: ['*'] },
};
const bob = { username: 'bob', password: 'bob-password', sub: 'user-bob' };
let usersFile: string;
let gw: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  usersFile = await writeUsersFile([alice, bob]);
  // The attempt rates (10 a minute per username by default) are raised: these tests log the same users in many times;
  // test/integration/login-fairness.test.ts covers the rates.
  gw = await suiteScope.gateway({
    GATEHOUSE_USERS_FILE: usersFile,
    GATEHOUSE_LOGIN_MAX_FAILURES: '3',
    GATEHOUSE_ISSUER: 'https://gatehouse.test',
    GATEHOUSE_LOGIN_RATE_PER_USER: '1000',
    GATEHOUSE_LOGIN_RATE_PER_IP: '1000',
  });
});

async function anonymous(gateway: Gateway = gw): Promise<AGClientSocket> {
  const client = scope.client(gateway);
  await nextEvent(client, 'connect');
  return client;
}

test('login authenticates the socket with a gateway-signed token', async () => {
  const client = await anonymous();
  const { answer, error } = await invokeLogin(client, { username: 'alice', password: 'correct horse' });
  assert.is(error, undefined);
  assert.is(answer?.sub, 'user-alice');
  assert.type(answer?.sid, 'string');
  assert.type(answer?.expiresAt, 'number');
  assert.is(client.authState, 'authenticated');
  const token = client.authToken as Record<string, unknown>;
  assert.is(token.sub, 'user-alice');
  assert.is(token.sid, answer?.sid);
  assert.is(token.exp, answer?.expiresAt);
  assert.type(token.jti, 'string');
  assert.equal(token.channels, ['chat:*']);
  assert.is(token.role, 'admin');
  // Reserved claims from the users file never override what the gateway stamps.
  assert.is(token.iss, 'https://gatehouse.test');
  assert.is.not(token.jti, 'x');
  assert.is.not(token.sid, 'y');
  assert.is(token.nbf, undefined);
  assert.is(token.aud, undefined);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs((token.iat as number) - now) <= 2);
  assert.is((token.exp as number) - (token.iat as number), 15 * 60);
});

test('when login resolves, the stock client already holds the token and is authenticated (50 in a row)', async () => {
  for (let i = 0; i < 50; i++) {
    const client = await anonymous();
    const answer = (await client.invoke('login', { username: 'bob', password: 'bob-password' })) as { sid: string; expiresIn: number };
    // Read synchronously, in the same tick the call resolved.
    assert.is(client.authState, 'authenticated', `login ${i + 1}`);
    assert.type(client.signedAuthToken, 'string', `login ${i + 1}`);
    assert.is((client.authToken as { sid?: string }).sid, answer.sid, `login ${i + 1}`);
    client.disconnect();
  }
});

test("login answers expiresIn: the seconds the token has left by the gateway's clock", async () => {
  const client = await anonymous();
  const { answer } = await invokeLogin(client, { username: 'bob', password: 'bob-password' });
  assert.type(answer?.expiresIn, 'number');
  assert.ok(answer!.expiresIn > 15 * 60 - 3 && answer!.expiresIn <= 15 * 60, String(answer!.expiresIn));
});

test('the token a login gives is accepted at a later handshake; each login is a new session', async () => {
  const client = await anonymous();
  const first = await invokeLogin(client, { username: 'bob', password: 'bob-password' });
  const signed = client.signedAuthToken as string;
  const again = await scope.connect(gw, signed);
  assert.is(again.status.isAuthenticated, true);
  assert.is((again.client.authToken as { sid?: string }).sid, first.answer?.sid);
  const second = await invokeLogin(again.client, { username: 'bob', password: 'bob-password' });
  assert.is.not(second.answer?.sid, first.answer?.sid);
});

test('a login on a socket authenticated as someone else moves it to the new identity in the revocation index', async () => {
  const { client, status } = await scope.connect(
    gw,
    mintHs256({ sub: 'someone-else', sid: 'old-session', jti: 'old-jti' }, { issuer: 'https://gatehouse.test' }),
  );
  assert.is(status.isAuthenticated, true);
  const socket = gw.agServer.clients[client.id!];
  const login = await invokeLogin(client, { username: 'bob', password: 'bob-password' });
  assert.is(login.answer?.sub, 'user-bob');
  await waitFor(() => gw.revocation.enforcer.index.claimsOf(socket)?.sub === 'user-bob', 2000, 'the index to follow the login');
  const index = gw.revocation.enforcer.index;
  assert.equal(index.find({ kind: 'sid', id: 'old-session' }), [], 'the old session no longer names it');
  assert.equal(index.find({ kind: 'sub', id: 'someone-else' }), []);
  assert.is(index.find({ kind: 'sid', id: login.answer!.sid })[0]?.[0], socket);
  // Revoking what it was leaves it alone; revoking what it is now closes it.
  await gw.revocation.revoke({ kind: 'sid', id: 'old-session' });
  await gw.revocation.revoke({ kind: 'sub', id: 'someone-else' });
  await sleep(50);
  assert.is(client.state, client.OPEN);
  assert.is(client.authState, 'authenticated');
  const closed = nextEvent<{ code: number }>(client, 'close', 2000);
  await gw.revocation.revoke({ kind: 'sid', id: login.answer!.sid });
  assert.is((await closed).code, CloseCode.TokenRevoked);
});

test('unknown user and wrong password: LoginError with the same message; the socket stays anonymous', async () => {
  const client = await anonymous();
  const unknown = await invokeLogin(client, { username: 'nobody', password: 'whatever' });
  const wrong = await invokeLogin(client, { username: 'bob', password: 'not-bobs' });
  assert.is(unknown.error?.name, ErrorName.Login);
  assert.is(wrong.error?.name, ErrorName.Login);
  assert.is(unknown.error?.message, wrong.error?.message);
  assert.is(client.authState, 'unauthenticated');
});

const malformed: [string, unknown][] = [
  ['no payload', undefined],
  ['null', null],
  ['a string', 'alice:secret'],
  ['an array', ['alice', 'secret']],
  ['missing username', { password: 'x' }],
  ['missing password', { username: 'alice' }],
  ['numeric username', { username: 42, password: 'x' }],
  ['object password', { username: 'alice', password: { $ne: '' } }],
  ['empty username', { username: '', password: 'x' }],
  ['empty password', { username: 'alice', password: '' }],
  ['username over 256 characters', { username: 'a'.repeat(257), password: 'x' }],
  ['password over 256 characters', { username: 'alice', password: 'p'.repeat(257) }],
];
for (const [name, data] of malformed) {
  test(`malformed login payload (${name}) → BadRequestError`, async () => {
    const client = await anonymous();
    const { error } = await invokeLogin(client, data);
    assert.is(error?.name, ErrorName.BadRequest);
  });
}

test('256-character fields are accepted as input (and simply fail to match)', async () => {
  const client = await anonymous();
  const { error } = await invokeLogin(client, { username: 'a'.repeat(256), password: 'p'.repeat(256) });
  assert.is(error?.name, ErrorName.Login);
});

test('failed logins for a username pass the limit: RateLimitedError with retryAfter, even with the right password', async () => {
  const client = await anonymous();
  for (let i = 0; i < 3; i++) assert.is((await invokeLogin(client, { username: 'alice', password: `bad-${i}` })).error?.name, ErrorName.Login);
  const limited = await invokeLogin(client, { username: 'alice', password: 'correct horse' });
  assert.is(limited.error?.name, ErrorName.RateLimited);
  assert.type(limited.error?.retryAfter, 'number');
  assert.ok(limited.error!.retryAfter! >= 1 && limited.error!.retryAfter! <= 15 * 60);
  // Case variants of the username share the counter.
  assert.is((await invokeLogin(client, { username: 'ALICE', password: 'x' })).error?.name, ErrorName.RateLimited);
  // Another user is not affected.
  assert.ok((await invokeLogin(client, { username: 'bob', password: 'bob-password' })).answer);
});

// " bob", "bob " and "\tbob" once had a budget each, multiplying an attacker's guesses (server/login/username-key.ts).
test('spellings of a username that differ by spacing, case or invisible characters share its failure budget', async () => {
  const g = scope.ownGateway(await startLoginGateway({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_LOGIN_MAX_FAILURES: '3' }));
  const client = await anonymous(g);
  for (const username of [' bob', 'bob ', '\tBOB\u200B']) {
    assert.is((await invokeLogin(client, { username, password: 'bob-password' })).error?.name, ErrorName.Login, JSON.stringify(username));
  }
  assert.is((await invokeLogin(client, { username: 'bob', password: 'bob-password' })).error?.name, ErrorName.RateLimited);
});

test('a success resets the username counter', async () => {
  const g = scope.ownGateway(await startLoginGateway({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_LOGIN_MAX_FAILURES: '3' }));
  const client = await anonymous(g);
  for (let i = 0; i < 2; i++) await invokeLogin(client, { username: 'bob', password: 'bad' });
  assert.ok((await invokeLogin(client, { username: 'bob', password: 'bob-password' })).answer);
  for (let i = 0; i < 3; i++) assert.is((await invokeLogin(client, { username: 'bob', password: 'bad' })).error?.name, ErrorName.Login);
  assert.is((await invokeLogin(client, { username: 'bob', password: 'bad' })).error?.name, ErrorName.RateLimited);
});

test('the counters reset when the window ends', async () => {
  const g = scope.ownGateway(
    await startLoginGateway({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_LOGIN_MAX_FAILURES: '1', GATEHOUSE_LOGIN_FAILURE_WINDOW: '1s' }),
  );
  const client = await anonymous(g);
  assert.is((await invokeLogin(client, { username: 'bob', password: 'bad' })).error?.name, ErrorName.Login);
  const limited = await invokeLogin(client, { username: 'bob', password: 'bob-password' });
  assert.is(limited.error?.name, ErrorName.RateLimited);
  assert.is(limited.error?.retryAfter, 1);
  await sleep(1100);
  assert.ok((await invokeLogin(client, { username: 'bob', password: 'bob-password' })).answer);
});

test('failed logins from one client IP pass the per-IP limit across usernames', async () => {
  const g = scope.ownGateway(await startLoginGateway({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP: '2' }));
  const client = await anonymous(g);
  assert.is((await invokeLogin(client, { username: 'u1', password: 'x' })).error?.name, ErrorName.Login);
  assert.is((await invokeLogin(client, { username: 'u2', password: 'x' })).error?.name, ErrorName.Login);
  assert.is((await invokeLogin(client, { username: 'bob', password: 'bob-password' })).error?.name, ErrorName.RateLimited);
});

test("attempts refused for their IP use up nothing of the username's budget (no lock-out from a blocked address)", async () => {
  const g = await startLoginGateway({
    GATEHOUSE_USERS_FILE: usersFile,
    GATEHOUSE_LOGIN_MAX_FAILURES: '3',
    GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP: '2',
    GATEHOUSE_TRUST_PROXY: '127.0.0.1',
  });
  scope.ownGateway(g);
  const attacker = scope.client(g, { wsOptions: { headers: { 'x-forwarded-for': '203.0.113.1' } } });
  const owner = scope.client(g, { wsOptions: { headers: { 'x-forwarded-for': '203.0.113.2' } } });
  await Promise.all([nextEvent(attacker, 'connect'), nextEvent(owner, 'connect')]);
  for (const username of ['u1', 'u2']) assert.is((await invokeLogin(attacker, { username, password: 'x' })).error?.name, ErrorName.Login);
  for (let i = 0; i < 5; i++) {
    assert.is((await invokeLogin(attacker, { username: 'bob', password: `guess-${i}` })).error?.name, ErrorName.RateLimited);
  }
  assert.ok((await invokeLogin(owner, { username: 'bob', password: 'bob-password' })).answer, 'bob still logs in from elsewhere');
});

test('X-Forwarded-For on the WebSocket upgrade is ignored without GATEHOUSE_TRUST_PROXY', async () => {
  const g = scope.ownGateway(await startLoginGateway({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP: '1' }));
  const a = scope.client(g, { wsOptions: { headers: { 'x-forwarded-for': '203.0.113.1' } } });
  const b = scope.client(g, { wsOptions: { headers: { 'x-forwarded-for': '203.0.113.2' } } });
  await Promise.all([nextEvent(a, 'connect'), nextEvent(b, 'connect')]);
  assert.is((await invokeLogin(a, { username: 'u1', password: 'x' })).error?.name, ErrorName.Login);
  assert.is((await invokeLogin(b, { username: 'u2', password: 'x' })).error?.name, ErrorName.RateLimited);
});

test('X-Forwarded-For on the WebSocket upgrade is honoured from a trusted proxy', async () => {
  const g = scope.ownGateway(
    await startLoginGateway({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP: '1', GATEHOUSE_TRUST_PROXY: '127.0.0.1' }),
  );
  const a = scope.client(g, { wsOptions: { headers: { 'x-forwarded-for': '203.0.113.1' } } });
  const b = scope.client(g, { wsOptions: { headers: { 'x-forwarded-for': '203.0.113.2' } } });
  await Promise.all([nextEvent(a, 'connect'), nextEvent(b, 'connect')]);
  assert.is((await invokeLogin(a, { username: 'u1', password: 'x' })).error?.name, ErrorName.Login);
  assert.is((await invokeLogin(b, { username: 'u2', password: 'x' })).error?.name, ErrorName.Login);
  assert.is((await invokeLogin(a, { username: 'u3', password: 'x' })).error?.name, ErrorName.RateLimited);
});

test('reload() picks up a changed users file; a bad file keeps the previous users', async () => {
  const file = await writeUsersFile([bob]);
  const g = scope.ownGateway(await startLoginGateway({ GATEHOUSE_USERS_FILE: file }));
  const client = await anonymous(g);
  assert.is((await invokeLogin(client, { username: 'carol', password: 'carol-pw' })).error?.name, ErrorName.Login);

  // bob keeps his hash as it was: a new one would end his sessions (users-reload.test.ts) and delay his next login.
  const readEntries = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as unknown[];
  const carol = readEntries(await writeUsersFile([{ username: 'carol', password: 'carol-pw', sub: 'user-carol' }]));
  writeFileSync(file, JSON.stringify([...readEntries(file), ...carol]));
  g.reload();
  assert.is((await invokeLogin(client, { username: 'carol', password: 'carol-pw' })).answer?.sub, 'user-carol');

  writeFileSync(file, JSON.stringify([{ username: 'dave', passwordHash: 'plaintext!', sub: 'user-dave' }]));
  g.reload();
  assert.is((await invokeLogin(client, { username: 'carol', password: 'carol-pw' })).answer?.sub, 'user-carol');
  writeFileSync(file, '[{"username": "broken"');
  g.reload();
  assert.is((await invokeLogin(client, { username: 'bob', password: 'bob-password' })).answer?.sub, 'user-bob');
});

test('without GATEHOUSE_USERS_FILE or GATEHOUSE_LOGIN_URL there is no login procedure', async () => {
  const g = await scope.gateway();
  const client = await anonymous(g);
  const { error } = await invokeLogin(client, { username: 'alice', password: 'correct horse' });
  assert.is(error?.name, ErrorName.ProcedureNotFound);
});

test('a gateway with login and no key to sign with refuses to start, naming the variables', async () => {
  const jwksFile = join(mkdtempSync(join(tmpdir(), 'gatehouse-jwks-')), 'jwks.json');
  writeFileSync(jwksFile, jwksOf(makeKeyPair('ES256', 'ec-1')));
  const problems = configProblems({ GATEHOUSE_AUTH_KEY: undefined, GATEHOUSE_JWKS_FILE: jwksFile, GATEHOUSE_USERS_FILE: usersFile });
  assert.equal(
    problems.map((p) => p.split(':')[0]),
    ['GATEHOUSE_USERS_FILE'],
  );
  assert.match(problems[0], /GATEHOUSE_SIGNING_KEY_FILE .* or GATEHOUSE_AUTH_KEY/);
});

test.run();
