// budget: 90s
// Reloading the users file (SIGHUP) ends the live sessions of users it removed, or whose password hash or sub
// changed, on every node sharing the Redis: a user revocation by sub. Unchanged users are untouched, and a bad file
// keeps the old users and ends nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { hashPassword } from '../../server/login/password-hash';
import { CloseCode, ErrorName, Procedure } from '../../shared';
import { SECRET, nextEvent, sleep } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { FAST_SCRYPT, invokeLogin, startLoginGateway, writeUsersFile } from '../helpers/login';
import { GatehouseProcess } from '../helpers/process';
import { TestRedis } from '../helpers/redis-server';

const USERS = ['alice', 'bob', 'carol', 'dave'].map((name) => ({ username: name, password: `${name}-password`, sub: `user-${name}` }));

let redis: TestRedis;
let usersFile: string;
/** `a` is reloaded; the users' sockets live on `b`, which learns of the revocations through Redis only. */
let a: Gateway;
let b: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

interface Session {
  readonly client: AGClientSocket;
  readonly token: string;
  readonly closed: Promise<number | undefined>;
}
const sessions = new Map<string, Session>();

test.before(async () => {
  redis = await suiteScope.redis();
  usersFile = await writeUsersFile(USERS);
  const env = { GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_CLOCK_TOLERANCE: '1s' };
  [a, b] = await Promise.all([startLoginGateway(env), startLoginGateway(env)]).then((nodes) => nodes.map((g) => suiteScope.ownGateway(g)));
  for (const { username, password } of USERS) {
    const client = suiteScope.client(b, { ackTimeout: 8000 });
    await nextEvent(client, 'connect');
    await client.invoke(Procedure.Login, { username, password });
    const closed = nextEvent<{ code: number }>(client, 'close', 30_000).then(
      ({ code }) => code,
      () => undefined,
    );
    sessions.set(username, { client, token: client.signedAuthToken!, closed });
  }
});

/** The users file as written, entry by entry (the hashes as they are, so an untouched user stays untouched). */
function entries(): { username: string; passwordHash: string; sub: string }[] {
  return JSON.parse(readFileSync(usersFile, 'utf8')) as { username: string; passwordHash: string; sub: string }[];
}

async function handshake(g: Gateway, token: string) {
  const r = await scope.connect(g, token);
  return r.status;
}

test('a bad users file on reload keeps the previous users and ends no session', async () => {
  const before = readFileSync(usersFile, 'utf8');
  writeFileSync(usersFile, '[{"username": "broken"');
  a.reload();
  await sleep(500);
  for (const { client } of sessions.values()) assert.is(client.authState, 'authenticated');
  writeFileSync(usersFile, before);
});

test('removed user, changed password, changed sub: their live sockets on the other node close with TokenRevoked and their tokens are refused; the unchanged user stays', async () => {
  const old = entries();
  const bobHash = await hashPassword('bob-new-password', FAST_SCRYPT);
  writeFileSync(
    usersFile,
    JSON.stringify(
      old
        .filter((e) => e.username !== 'alice')
        .map((e) => {
          if (e.username === 'bob') return { ...e, passwordHash: bobHash };
          if (e.username === 'dave') return { ...e, sub: 'user-dave-2' };
          return e;
        }),
    ),
  );
  a.reload(); // what SIGHUP does

  for (const name of ['alice', 'bob', 'dave']) {
    assert.is(await sessions.get(name)!.closed, CloseCode.TokenRevoked, name);
  }
  const carol = sessions.get('carol')!;
  await sleep(300);
  assert.is(carol.client.authState, 'authenticated');
  assert.is(carol.client.state, carol.client.OPEN);

  for (const g of [a, b]) {
    for (const name of ['alice', 'bob', 'dave']) {
      const status = await handshake(g, sessions.get(name)!.token);
      assert.is(status.authError?.name, ErrorName.AuthTokenRevoked, `${name} on ${g === a ? 'a' : 'b'}`);
    }
    assert.is((await handshake(g, carol.token)).isAuthenticated, true);
  }

  // On the reloaded node: alice is gone, bob's old password is refused and his new one logs in past the revocation.
  const client = scope.client(a, { ackTimeout: 8000 });
  await nextEvent(client, 'connect');
  assert.is((await invokeLogin(client, { username: 'alice', password: 'alice-password' })).error?.name, ErrorName.Login);
  assert.is((await invokeLogin(client, { username: 'bob', password: 'bob-password' })).error?.name, ErrorName.Login);
  assert.is((await invokeLogin(client, { username: 'bob', password: 'bob-new-password' })).answer?.sub, 'user-bob');
  await sleep(500);
  assert.is(client.authState, 'authenticated', 'the new session is not covered by the revocation');
});

test("a running node sent SIGHUP (one node, memory store) closes the removed user's socket and logs it", async () => {
  const file = await writeUsersFile([USERS[0], USERS[2]]);
  const node = scope.own(
    new GatehouseProcess(['start'], {
      GATEHOUSE_HOST: '127.0.0.1',
      GATEHOUSE_PORT: '0',
      GATEHOUSE_AUTH_KEY: SECRET,
      GATEHOUSE_USERS_FILE: file,
      GATEHOUSE_LOG_LEVEL: 'info',
      GATEHOUSE_SHUTDOWN_TIMEOUT: '2s',
    }),
    (p) => p.terminate(),
    'gatehouse process',
  );
  const port = await node.listeningPort(15_000);
  const login = async (username: string, password: string) => {
    const client = scope.client(port, { ackTimeout: 5000, connectTimeout: 5000 });
    await nextEvent(client, 'connect', 5000);
    await client.invoke(Procedure.Login, { username, password });
    return client;
  };
  const alice = await login('alice', 'alice-password');
  const carol = await login('carol', 'carol-password');
  const closed = nextEvent<{ code: number }>(alice, 'close', 10_000);
  writeFileSync(file, JSON.stringify((JSON.parse(readFileSync(file, 'utf8')) as { username: string }[]).filter((e) => e.username !== 'alice')));
  node.signal('SIGHUP');
  assert.is((await closed).code, CloseCode.TokenRevoked);
  const line = await node.waitForStdout(/^.*sessions of a removed or changed user revoked.*$/m, 5000);
  const logged = JSON.parse(line[0]) as { sub: string; users: unknown };
  assert.is(logged.sub, 'user-alice');
  assert.equal(logged.users, [{ username: 'alice', why: 'removed' }]);
  assert.not.ok(node.stdout.includes('alice-password'), 'no password in the log');
  await sleep(300);
  assert.is(carol.authState, 'authenticated');
});

test.run();
