// budget: 90s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CloseCode } from '../../shared';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { mintHs256, nextEvent, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { GatewayProcess } from '../helpers/gateway-process';
import { TestRedis } from '../helpers/redis-server';

let redis: TestRedis;
const nodes: Record<string, GatewayProcess> = {};
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  redis = await suiteScope.redis();
  const env = (id: string) => ({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_NODE_ID: id });
  // Killed at the end, not stopped: a graceful shutdown of three nodes would only slow the suite down.
  const [a, b, c] = await Promise.all(
    ['node-a', 'node-b', 'node-c'].map(async (id) => suiteScope.own(await GatewayProcess.start(env(id)), (node) => node.kill(), 'gateway process')),
  );
  Object.assign(nodes, { a, b, c });
  // Every node's first heartbeat is in.
  await waitFor(async () => (await admin(a.port, 'GET', '/admin/nodes')).body.nodes?.length === 3, 5000, 'three live nodes');
});

async function user(node: GatewayProcess, sub: string) {
  const { client, status } = await scope.connect(node, mintHs256({ sub, channels: ['*'] }));
  assert.is(status.isAuthenticated, true, node.log);
  return client;
}

test('a wrong or missing key on node A gets 401 and closes nothing anywhere', async () => {
  const onB = await user(nodes.b, 'eve');
  for (const key of [null, 'nope']) {
    assert.is((await admin(nodes.a.port, 'POST', '/admin/revoke', { sub: 'eve' }, key)).status, 401);
    assert.is((await admin(nodes.a.port, 'POST', '/admin/disconnect', { sub: 'eve' }, key)).status, 401);
  }
  await new Promise((r) => setTimeout(r, 100));
  assert.is(onB.authState, 'authenticated');
  assert.is(onB.state, onB.OPEN);
});

test("an admin revoke on node A closes the user's sockets on B and C, and the answer counts them per node", async () => {
  const sockets = [await user(nodes.a, 'mallory'), await user(nodes.b, 'mallory'), await user(nodes.b, 'mallory'), await user(nodes.c, 'mallory')];
  const bystander = await user(nodes.c, 'alice');
  const closes = sockets.map((s) => nextEvent<{ code: number }>(s, 'close', 3000));
  const r = await admin(nodes.a.port, 'POST', '/admin/revoke', { sub: 'mallory' });
  assert.is(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.disconnected, { 'node-a': 1, 'node-b': 2, 'node-c': 1 });
  assert.equal(r.body.unanswered, []);
  for (const c of await Promise.all(closes)) assert.is(c.code, CloseCode.TokenRevoked);
  assert.is(bystander.authState, 'authenticated');
  const metrics = (await admin(nodes.b.port, 'GET', '/metrics', undefined, null)).text;
  assert.match(metrics, /gatehouse_revocations_applied_total\{[^}]*\} 2/);
  assert.match(metrics, /gatehouse_revocation_propagation_seconds_count\{[^}]*\} 2/);
});

test('an admin disconnect on node B closes the user everywhere with DisconnectedByAdmin', async () => {
  const sockets = [await user(nodes.a, 'dora'), await user(nodes.c, 'dora')];
  const closes = sockets.map((s) => nextEvent<{ code: number }>(s, 'close', 3000));
  const r = await admin(nodes.b.port, 'POST', '/admin/disconnect', { sub: 'dora' });
  assert.equal(r.body, { disconnected: { 'node-a': 1, 'node-b': 0, 'node-c': 1 }, unanswered: [] });
  for (const c of await Promise.all(closes)) assert.is(c.code, CloseCode.DisconnectedByAdmin);
});

test('a publish through the admin API on A reaches a subscriber on C', async () => {
  const reader = await user(nodes.c, 'reader');
  const channel = reader.subscribe('ops:notice');
  await channel.listener('subscribe').once(3000);
  const got = channel.once(3000);
  assert.is((await admin(nodes.a.port, 'POST', '/admin/publish', { channel: 'ops:notice', data: 'maintenance' })).status, 200);
  assert.is(await got, 'maintenance');
});

// Last: it kills node C.
test('a node killed with SIGKILL is named as not answering, and leaves /admin/nodes once its heartbeat lapses', async () => {
  const listed = await admin(nodes.a.port, 'GET', '/admin/nodes');
  assert.equal(
    listed.body.nodes.map((n: { nodeId: string }) => n.nodeId),
    ['node-a', 'node-b', 'node-c'],
  );
  await nodes.c.kill();
  const started = Date.now();
  const r = await admin(nodes.a.port, 'POST', '/admin/revoke', { sub: 'nobody' });
  assert.is(r.status, 200);
  assert.equal(r.body.unanswered, ['node-c']);
  assert.equal(Object.keys(r.body.disconnected).sort(), ['node-a', 'node-b']);
  assert.ok(Date.now() - started < 3000, 'the answer waits at most about 2 s');
  await waitFor(async () => (await admin(nodes.a.port, 'GET', '/admin/nodes')).body.nodes.length === 2, 6000, 'node C to leave the list');
  const after = await admin(nodes.b.port, 'GET', '/admin/nodes');
  assert.equal(
    after.body.nodes.map((n: { nodeId: string }) => n.nodeId),
    ['node-a', 'node-b'],
  );
});

test.run();
