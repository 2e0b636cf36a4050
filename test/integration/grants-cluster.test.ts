// budget: 90s
// Live grants across three gateway processes on one Redis: a change made through one node's admin API is applied to
// the user's live sockets on every node before the API answers (kick-outs, refused publishes, new subscribes), its
// version is checked, the operator's rules still apply beside it, and a killed node is reported as unanswered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AGClientSocket } from 'socketcluster-client';
import { KICK_MESSAGES, ServerEvent } from '../../shared';
import { ADMIN_KEY, PUBLISH_KEY, admin } from '../helpers/admin';
import { publishOutcome, subscribeOutcome } from '../helpers/channels';
import { mintHs256, nextEvent, waitFor } from '../helpers/gateway';
import type { GatewayProcess } from '../helpers/gateway-process';
import { useScope } from '../helpers/scope';

const nodes: Record<'a' | 'b' | 'c', GatewayProcess> = {} as never;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-grants-'));
suiteScope.defer(() => rmSync(dir, { recursive: true, force: true }), 'rules directory');

test.before(async () => {
  const redis = await suiteScope.redis();
  const rules = join(dir, 'channels.json');
  writeFileSync(rules, JSON.stringify({ anyone: { 'public:*': ['subscribe'] }, authenticated: { 'user:{sub}:*': ['subscribe', 'publish'] } }));
  const env = (id: string) => ({
    GATEHOUSE_REDIS_URL: redis.url,
    GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
    GATEHOUSE_ADMIN_KEYS: `publish:${PUBLISH_KEY}`,
    GATEHOUSE_NODE_ID: id,
    GATEHOUSE_CHANNELS_FILE: rules,
  });
  const [a, b, c] = await Promise.all(['node-a', 'node-b', 'node-c'].map((id) => suiteScope.process(env(id), 30_000)));
  Object.assign(nodes, { a, b, c });
  await waitFor(async () => (await call(a.port, 'GET', '/admin/nodes')).body.nodes?.length === 3, 5000, 'three live nodes');
});

async function user(node: GatewayProcess, sub: string, channels: unknown) {
  const { client, status } = await scope.connect(node, mintHs256({ sub, channels }));
  assert.is(status.isAuthenticated, true, node.log);
  return client;
}

function grantsChanged(client: AGClientSocket, ms = 3000): Promise<{ version: number }> {
  return (client.receiver(ServerEvent.GrantsChanged) as unknown as { once(ms: number): Promise<{ version: number }> }).once(ms);
}

/** An admin answer as these routes give it. */
interface Answer {
  sub?: string;
  version?: number;
  channels?: unknown;
  applied?: Record<string, number>;
  unanswered?: string[];
  nodes?: unknown[];
  error?: { name: string; message: string; current?: number; scope?: string };
}

async function call(...args: Parameters<typeof admin>): Promise<{ status: number; body: Answer }> {
  const r = await admin(...args);
  return { status: r.status, body: r.body };
}

const all = () => [nodes.a, nodes.b, nodes.c];

test('a revoke of room:1 for X kicks X out of it on all three nodes, and a publish after the answer is refused', async () => {
  const sockets = await Promise.all(all().map((n) => user(n, 'xavier', ['room:*'])));
  for (const s of sockets) assert.is(await subscribeOutcome(s, 'room:1'), 'subscribed');
  const bystander = await user(nodes.b, 'yolanda', ['room:*']);
  assert.is(await subscribeOutcome(bystander, 'room:1'), 'subscribed');
  const kicks = sockets.map((s) => nextEvent<{ channel: string; message: string }>(s, 'kickOut', 3000));
  const notices = sockets.map((s) => grantsChanged(s));
  const r = await call(nodes.a.port, 'PUT', '/admin/grants/xavier', { version: 1, channels: ['room:2'] });
  assert.is(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body, { sub: 'xavier', version: 1, applied: { 'node-a': 1, 'node-b': 1, 'node-c': 1 }, unanswered: [] });
  // Every publish sent after the answer is refused, on every node.
  for (const s of sockets) assert.is(await publishOutcome(s, 'room:1', 'late'), 'PublishForbiddenError');
  for (const kick of await Promise.all(kicks)) assert.equal(kick, { channel: 'room:1', message: KICK_MESSAGES['grants-changed'] });
  for (const notice of await Promise.all(notices)) assert.equal(notice, { version: 1 });
  for (const s of sockets) assert.is(s.isSubscribed('room:1', true), false);
  // The granted channel is usable; another user is untouched.
  for (const s of sockets) assert.is(await publishOutcome(s, 'room:2', 'ok'), 'published');
  assert.is(bystander.isSubscribed('room:1'), true);
  assert.is(await publishOutcome(bystander, 'room:1', 'still'), 'published');
  const got = await call(nodes.c.port, 'GET', '/admin/grants/xavier');
  assert.is(got.status, 200);
  assert.is(got.body.version, 1);
  assert.equal(got.body.channels, ['room:2']);
});

test('a grant lets X subscribe at once on every node, with no reconnect and no new token', async () => {
  const sockets = await Promise.all(all().map((n) => user(n, 'wanda', ['chat:*'])));
  for (const s of sockets) assert.is(await subscribeOutcome(s, 'staff:room'), 'SubscribeForbiddenError');
  const r = await call(nodes.b.port, 'PUT', '/admin/grants/wanda', { version: 7, channels: ['chat:*', 'staff:*'] });
  assert.equal(r.body.applied, { 'node-a': 1, 'node-b': 1, 'node-c': 1 });
  for (const s of sockets) assert.is(await subscribeOutcome(s, 'staff:room'), 'subscribed');
  // DELETE returns wanda to her token's grants: staff:room is taken away again, live.
  const kicks = sockets.map((s) => nextEvent<{ channel: string }>(s, 'kickOut', 3000));
  const d = await call(nodes.c.port, 'DELETE', '/admin/grants/wanda?version=8');
  assert.is(d.status, 200, JSON.stringify(d.body));
  assert.equal(d.body.unanswered, []);
  for (const kick of await Promise.all(kicks)) assert.is(kick.channel, 'staff:room');
  for (const s of sockets) assert.is(await subscribeOutcome(s, 'staff:room'), 'SubscribeForbiddenError');
  for (const s of sockets) assert.is(s.state, s.OPEN);
});

test('out-of-order and duplicate changes leave the newest version in force (409 for the stale ones)', async () => {
  const s = await user(nodes.c, 'victor', ['a:*']);
  assert.is((await call(nodes.a.port, 'PUT', '/admin/grants/victor', { version: 5, channels: ['v5:*'] })).status, 200);
  for (const [node, version] of [
    [nodes.b, 5],
    [nodes.c, 3],
  ] as const) {
    const stale = await call(node.port, 'PUT', '/admin/grants/victor', { version, channels: ['stale:*'] });
    assert.is(stale.status, 409);
    assert.is(stale.body.error?.name, 'VersionConflictError');
    assert.is(stale.body.error?.current, 5);
  }
  const staleDelete = await call(nodes.a.port, 'DELETE', '/admin/grants/victor?version=4');
  assert.is(staleDelete.status, 409);
  assert.is(staleDelete.body.error?.name, 'VersionConflictError');
  assert.is((await call(nodes.b.port, 'GET', '/admin/grants/victor')).body.version, 5);
  assert.is(await subscribeOutcome(s, 'v5:x'), 'subscribed');
  assert.is(await subscribeOutcome(s, 'stale:x'), 'SubscribeForbiddenError');
  // Racing PUTs of one version on three nodes: exactly one wins.
  const racing = await Promise.all(all().map((n, i) => call(n.port, 'PUT', '/admin/grants/victor', { version: 9, channels: [`race${i}:*`] })));
  assert.equal(racing.map((r) => r.status).sort(), [200, 409, 409]);
});

test("the operator's anyone and authenticated grants still apply beside an override", async () => {
  const s = await user(nodes.b, 'ursula', ['token:*']);
  assert.is((await call(nodes.a.port, 'PUT', '/admin/grants/ursula', { version: 1, channels: { 'override:1': ['subscribe'] } })).status, 200);
  assert.is(await subscribeOutcome(s, 'public:news'), 'subscribed');
  assert.is(await subscribeOutcome(s, 'user:ursula:inbox'), 'subscribed');
  assert.is(await publishOutcome(s, 'user:ursula:inbox', 'x'), 'published');
  assert.is(await subscribeOutcome(s, 'override:1'), 'subscribed');
  assert.is(await publishOutcome(s, 'override:1', 'x'), 'PublishForbiddenError');
  assert.is(await subscribeOutcome(s, 'token:1'), 'SubscribeForbiddenError');
  assert.is(await subscribeOutcome(s, 'user:other:inbox'), 'SubscribeForbiddenError');
});

test('bad input gets a 400 naming the field and changes nothing', async () => {
  const before = await call(nodes.a.port, 'PUT', '/admin/grants/tess', { version: 2, channels: ['ok:*'] });
  assert.is(before.status, 200);
  const cases: [unknown, RegExp][] = [
    [{ version: 3, channels: ['user:{sub}x'] }, /^channels\[0\]: /],
    [{ version: 3, channels: { 'a:*': ['read'] } }, /^channels\["a:\*"\]: /],
    [{ version: 3, channels: ['{user}:x'] }, /^channels\[0\]: unknown placeholder/],
    [{ version: 3, channels: ['ok:*'], role: 'x' }, /role/],
    [{ version: 3.5, channels: ['ok:*'] }, /^version: /],
    [{ version: '3', channels: ['ok:*'] }, /^version: /],
    [{ version: 0, channels: ['ok:*'] }, /^version: /],
    [{ version: 3 }, /^channels: /],
    [{ version: 3, channels: ['ok:*'], ttl: -1 }, /^ttl: /],
  ];
  for (const [body, message] of cases) {
    const r = await call(nodes.b.port, 'PUT', '/admin/grants/tess', body);
    assert.is(r.status, 400, JSON.stringify(body));
    assert.is(r.body.error?.name, 'BadRequestError');
    assert.match(r.body.error?.message ?? '', message);
  }
  const big = await call(nodes.b.port, 'PUT', '/admin/grants/tess', undefined, undefined, JSON.stringify({ version: 3, channels: ['x'.repeat(1024 * 1024)] }));
  assert.is(big.status, 400);
  assert.is((await call(nodes.a.port, 'DELETE', '/admin/grants/tess?version=x')).status, 400);
  const batch = await call(nodes.a.port, 'POST', '/admin/grants', [
    { sub: 'tess', version: 9, channels: ['fine'] },
    { sub: 'tom', version: 1, channels: ['user:{sub}*'] },
  ]);
  assert.is(batch.status, 400);
  assert.match(batch.body.error?.message ?? '', /^\[1\]\.channels\[0\]: /);
  const after = await call(nodes.c.port, 'GET', '/admin/grants/tess');
  assert.is(after.body.version, 2);
  assert.equal(after.body.channels, ['ok:*']);
  assert.is((await call(nodes.c.port, 'GET', '/admin/grants/tom')).status, 404);
});

test('no key, a wrong key, or a key without the grants scope is refused and changes nothing', async () => {
  const s = await user(nodes.a, 'sam', ['room:*']);
  assert.is(await subscribeOutcome(s, 'room:1'), 'subscribed');
  const put = (key: string | null) => call(nodes.a.port, 'PUT', '/admin/grants/sam', { version: 1, channels: [] }, key);
  assert.is((await put(null)).status, 401);
  assert.is((await put('wrong-key-wrong-key')).status, 401);
  const scoped = await put(PUBLISH_KEY);
  assert.is(scoped.status, 403);
  assert.is(scoped.body.error?.name, 'ForbiddenError');
  assert.is(scoped.body.error?.scope, 'grants');
  assert.is((await call(nodes.a.port, 'POST', '/admin/grants', [{ sub: 'sam', version: 1, channels: [] }], PUBLISH_KEY)).status, 403);
  assert.is((await call(nodes.a.port, 'GET', '/admin/grants/sam')).status, 404);
  assert.is(s.isSubscribed('room:1'), true);
  assert.is((await call(nodes.a.port, 'POST', '/admin/grants/sam', {})).status, 405);
});

test('10,000 users changed in one batch call: every live socket right on every node (time logged)', async () => {
  const live = 60;
  const sockets = await Promise.all(Array.from({ length: live }, (_, i) => user(all()[i % 3], `batch${i}`, ['room:*'])));
  for (const [i, s] of sockets.entries()) assert.is(await subscribeOutcome(s, `room:${i}`), 'subscribed');
  const kicks = sockets.map((s, i) => (i % 2 ? nextEvent<{ channel: string }>(s, 'kickOut', 5000) : undefined));
  const body = Array.from({ length: 10_000 }, (_, i) => ({ sub: `batch${i}`, version: 1, channels: i % 2 ? ['lobby'] : ['room:*', 'extra:*'] }));
  const started = performance.now();
  const r = await admin(nodes.b.port, 'POST', '/admin/grants', body);
  const took = performance.now() - started;
  assert.is(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  const answer = r.json as { results: { stored: boolean }[]; applied: Record<string, number>; unanswered: string[] };
  assert.is(answer.results.length, 10_000);
  assert.ok(answer.results.every((x) => x.stored));
  assert.equal(answer.applied, { 'node-a': 20, 'node-b': 20, 'node-c': 20 });
  assert.equal(answer.unanswered, []);
  console.log(`batch of 10,000 users, 60 live sockets on 3 nodes: answered in ${took.toFixed(0)} ms`);
  for (const [i, s] of sockets.entries()) {
    if (i % 2) {
      assert.is((await kicks[i])?.channel, `room:${i}`);
      assert.is(await publishOutcome(s, `room:${i}`, 'x'), 'PublishForbiddenError');
    } else {
      assert.is(s.isSubscribed(`room:${i}`), true);
      assert.is(await subscribeOutcome(s, 'extra:1'), 'subscribed');
    }
  }
  // Sent again, the whole batch is stale: each entry reports the version in force, nothing changes.
  const again = await admin(nodes.c.port, 'POST', '/admin/grants', body.slice(0, 3));
  assert.equal((again.json as { results: unknown[] }).results, [
    { sub: 'batch0', version: 1, stored: false, current: 1 },
    { sub: 'batch1', version: 1, stored: false, current: 1 },
    { sub: 'batch2', version: 1, stored: false, current: 1 },
  ]);
});

test('the answer lists a killed node as unanswered within 2 s', async () => {
  const onA = await user(nodes.a, 'rita', ['room:*']);
  assert.is(await subscribeOutcome(onA, 'room:1'), 'subscribed');
  await nodes.c.kill();
  const started = Date.now();
  const r = await call(nodes.a.port, 'PUT', '/admin/grants/rita', { version: 1, channels: [] });
  const took = Date.now() - started;
  assert.is(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.unanswered, ['node-c']);
  assert.equal(r.body.applied, { 'node-a': 1, 'node-b': 0 });
  assert.ok(took < 2500, `answered in ${took} ms`);
  assert.is(await publishOutcome(onA, 'room:1', 'x'), 'PublishForbiddenError');
});

test.run();
