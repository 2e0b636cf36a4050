// budget: 90s
// The client library (client/) in Node against real gateways: login, channels, errors by class, and what each close
// code makes it do. Browser-only behaviour (tabs, online, clocks) is in test/browser/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createClient,
  memoryStorage,
  PublishForbiddenError,
  storageKey,
  SubscribeForbiddenError,
  type ClientEvents,
  type ConnectionEvent,
  type GatehouseClient,
} from '../../client';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { Gateway } from '../../server/gateway';
import { buildClient } from '../helpers/browser';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { writeUsersFile } from '../helpers/login';

const root = join(__dirname, '..', '..');
let usersFile: string;
let gw: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  usersFile = await writeUsersFile([
    { username: 'alice', password: 'alice-pw', sub: 'alice', channels: ['room:*'] },
    { username: 'bob', password: 'bob-pw', sub: 'bob' },
  ]);
  gw = await suiteScope.gateway({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_ADMIN_KEY: ADMIN_KEY });
});

function client(target: Gateway = gw, options: Parameters<typeof createClient>[0] = {}): GatehouseClient {
  return scope.own(createClient({ url: `http://127.0.0.1:${target.address().port}`, ackTimeout: 3000, ...options }), (c) => c.close(), 'client');
}

/** Records every event the client emits, in order. */
function record(c: GatehouseClient): { name: string; data: unknown; at: number }[] {
  const seen: { name: string; data: unknown; at: number }[] = [];
  for (const name of ['authenticated', 'renewed', 'expiring', 'deauthenticated', 'connection', 'error'] as (keyof ClientEvents)[]) {
    c.on(name, (data) => seen.push({ name: String(name), data, at: Date.now() }));
  }
  return seen;
}

const closes = (seen: ReturnType<typeof record>) =>
  seen
    .filter((e) => e.name === 'connection' && (e.data as ConnectionEvent).state === 'closed')
    .map((e) => e.data as Extract<ConnectionEvent, { state: 'closed' }>);

test('login resolves authenticated; channels work between two clients; refusals are the shared classes', async () => {
  const alice = client();
  const bob = client();
  const seen = record(alice);
  const answer = await alice.login('alice', 'alice-pw');
  assert.is(answer.sub, 'alice');
  assert.ok(answer.expiresIn > 0);
  assert.is(alice.state.authenticated, true);
  assert.is(alice.state.claims?.sub, 'alice');
  assert.ok(seen.some((e) => e.name === 'authenticated'));
  await bob.login('bob', 'bob-pw');

  const room = alice.subscribe<{ text: string }>('room:1');
  await room.ready;
  const got: unknown[] = [];
  void (async () => {
    for await (const m of room) got.push(m);
  })();
  await alice.publish('room:1', { text: 'hi' });
  await waitFor(() => got.length === 1, 2000, 'the message');
  assert.equal(got, [{ text: 'hi' }]);

  const err = await bob.publish('room:1', 'no').catch((e: unknown) => e);
  assert.ok(err instanceof PublishForbiddenError);
  assert.is((err as Error).name, 'PublishForbiddenError');
  const refused = bob.subscribe('room:1');
  const subErr = await refused.ready.catch((e: unknown) => e);
  assert.ok(subErr instanceof SubscribeForbiddenError);
  let thrown: unknown;
  try {
    for await (const _ of refused) break;
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown instanceof SubscribeForbiddenError, 'the iteration throws the refusal');
  room.unsubscribe();
});

test('a wrong password is a LoginError; logout deauthenticates with reason logout and the socket stays connected', async () => {
  const c = client();
  const seen = record(c);
  const wrong = await c.login('alice', 'nope').catch((e: unknown) => e);
  assert.is((wrong as Error).name, 'LoginError');
  await c.login('alice', 'alice-pw');
  await c.logout();
  await waitFor(() => seen.some((e) => e.name === 'deauthenticated'), 2000, 'deauthenticated');
  assert.equal(
    seen.filter((e) => e.name === 'deauthenticated').map((e) => e.data),
    [{ reason: 'logout' }],
  );
  assert.is(c.state.authenticated, false);
  assert.is(c.state.connection, 'open');
});

test('a revocation from the admin API: closed with TokenRevoked, deauthenticated as revoked, no reconnect, the token never sent again', async () => {
  const storage = memoryStorage();
  const c = client(gw, { storage });
  const seen = record(c);
  await c.login('alice', 'alice-pw');
  const token = String(await storage.get(storageKey(`http://127.0.0.1:${gw.address().port}`)));
  assert.ok(token.length > 20);
  const res = await admin(gw.address().port, 'POST', '/admin/revoke', { sub: 'alice' });
  assert.is(res.status, 200);
  await waitFor(() => seen.some((e) => e.name === 'deauthenticated') && closes(seen).length > 0, 2000, 'deauthenticated and closed');
  assert.equal(
    closes(seen).map((c) => [c.name, c.action]),
    [['TokenRevoked', 'stop']],
  );
  assert.equal(
    seen.filter((e) => e.name === 'deauthenticated').map((e) => e.data),
    [{ reason: 'revoked' }],
  );
  await sleep(1500);
  assert.is(seen.filter((e) => e.name === 'connection' && (e.data as ConnectionEvent).state === 'connecting').length, 0, 'no reconnect');
  assert.is(await storage.get(storageKey(`http://127.0.0.1:${gw.address().port}`)), null, 'the revoked token is gone from storage');
  // Offered again (by a careless app, or another tab), it is refused locally.
  const again = await c.authenticate(token).catch((e: unknown) => e);
  assert.is((again as Error).name, 'AuthTokenRevokedError');
});

test('after ShuttingDown the client reconnects within 0.5-2 s, to the node that took over the port', async () => {
  const first = await scope.gateway({ GATEHOUSE_USERS_FILE: usersFile });
  const port = first.address().port;
  const c = client(first);
  const seen = record(c);
  await c.login('alice', 'alice-pw');
  await first.close();
  await scope.gateway({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_PORT: String(port) });
  const closedAt = closes(seen)[0] ? seen.find((e) => e.name === 'connection' && (e.data as ConnectionEvent).state === 'closed')!.at : 0;
  assert.equal(
    closes(seen).map((e) => [e.name, e.action]),
    [['ShuttingDown', 'retry']],
  );
  await waitFor(() => c.state.connection === 'open' && c.state.authenticated, 4000, 'reconnected and authenticated');
  const openedAt = seen.filter((e) => e.name === 'connection' && (e.data as ConnectionEvent).state === 'open').at(-1)!.at;
  assert.ok(openedAt - closedAt < 2500, `reconnected after ${openedAt - closedAt} ms`);
});

test('a refused Origin stops with OriginNotAllowed and does not loop', async () => {
  const strict = await scope.gateway({ GATEHOUSE_ORIGINS: 'https://app.example.com' });
  const c = client(strict, { wsOptions: { origin: 'https://evil.example' } });
  const seen = record(c);
  await waitFor(() => closes(seen).length > 0, 3000, 'the close');
  await sleep(1500);
  assert.equal(
    closes(seen).map((e) => [e.code, e.name, e.action]),
    [[4504, 'OriginNotAllowed', 'stop']],
  );
  assert.is(c.state.connection, 'closed');
});

test('an expired stored token makes exactly one getToken call, then the client is authenticated', async () => {
  const renewOff = await scope.gateway({ GATEHOUSE_RENEW_INTERVAL: '0' });
  const storage = memoryStorage();
  await storage.set(
    storageKey(`http://127.0.0.1:${renewOff.address().port}`),
    mintHs256({ sub: 'carol', iat: Math.floor(Date.now() / 1000) - 60, exp: Math.floor(Date.now() / 1000) - 5 }),
  );
  let calls = 0;
  const c = client(renewOff, {
    storage,
    getToken: async () => {
      calls++;
      return mintHs256({ sub: 'carol' });
    },
  });
  const seen = record(c);
  await waitFor(() => c.state.authenticated, 3000, 'authenticated with the fresh token');
  await sleep(500);
  assert.is(calls, 1);
  // The first fetch starts at once; the handshake may still offer the expired token and be refused meanwhile.
  assert.ok(seen.filter((e) => e.name === 'deauthenticated').every((e) => (e.data as { reason: string }).reason === 'expired'));
});

test('getToken is single-flight: simultaneous triggers make one call; an answer that arrives after a logout is dropped', async () => {
  const renewOff = await scope.gateway({ GATEHOUSE_RENEW_INTERVAL: '0' });
  let calls = 0;
  let release!: () => void;
  const c = client(renewOff, {
    getToken: async () => {
      calls++;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return mintHs256({ sub: 'dave' });
    },
  });
  await waitFor(() => c.state.connection === 'open', 3000, 'connected');
  const all = Promise.all([c.refreshToken(), c.refreshToken(), c.refreshToken()]);
  await waitFor(() => calls === 1, 1000, 'the fetch');
  release();
  const tokens = await all;
  assert.is(calls, 1);
  assert.is(new Set(tokens).size, 1);
  assert.is(c.state.claims?.sub, 'dave');

  // A token not yet due is the answer: no fetch.
  assert.is(await c.refreshToken(), tokens[0]);
  assert.is(calls, 1);

  // A client with nothing stored fetches; a logout while that fetch runs drops its late answer.
  const d = client(renewOff, {
    getToken: async () => {
      calls++;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return mintHs256({ sub: 'dave' });
    },
  });
  await waitFor(() => d.state.connection === 'open', 3000, 'connected');
  const late = d.refreshToken();
  await waitFor(() => calls === 2, 1000, 'the second fetch');
  await d.logout();
  release();
  assert.is(await late, null, 'the late answer is dropped');
  await sleep(200);
  assert.is(d.state.authenticated, false);
});

test('AuthUnavailableError keeps the token and retries it with backoff: authenticated once Redis is back, without getToken', async () => {
  const redis = await scope.redis();
  const node = await scope.gateway({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_REDIS_TIMEOUT: '200ms' });
  let calls = 0;
  const c = client(node, {
    getToken: () => {
      calls++;
      return null;
    },
  });
  await waitFor(() => c.state.connection === 'open', 3000, 'connected');
  // The first token is asked for at once (getToken has none); the retries below must not ask again.
  await waitFor(() => calls === 1, 3000, 'the first fetch');
  await redis.stop();
  const err = await c.authenticate(mintHs256({ sub: 'erin' })).catch((e: unknown) => e);
  assert.is((err as Error)?.name, 'AuthUnavailableError');
  await redis.start();
  await waitFor(() => c.state.authenticated, 15_000, 'authenticated once Redis is back');
  assert.is(c.state.claims?.sub, 'erin');
  assert.is(calls, 1);
});

test('the package export gatehouse/client (the built dist/client.node.mjs) connects and logs in, as an app imports it', async () => {
  buildClient();
  // A separate Node process resolving the package by name, as an app that installed it would.
  const script = `
    import { createClient } from 'gatehouse/client';
    const client = createClient({ url: process.argv[1] });
    try {
      await client.login('alice', 'alice-pw');
      console.log(JSON.stringify({ sub: client.state.claims?.sub, authenticated: client.state.authenticated }));
    } finally {
      client.close();
    }`;
  // Not execFileSync: the gateway runs in this process and must keep serving.
  const { stdout: out } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, `http://127.0.0.1:${gw.address().port}`], {
    cwd: root,
    timeout: 20_000,
    encoding: 'utf8',
  });
  assert.equal(JSON.parse(out.trim().split('\n').at(-1)!), { sub: 'alice', authenticated: true });
});

test.run();
