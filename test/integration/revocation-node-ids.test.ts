// budget: 150s
// Revocations reach every socket whatever the node ids: two processes sharing one GATEHOUSE_NODE_ID, and a node
// named `cli`, each as an operator would run them (separate processes, one private Redis).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import { CloseCode } from '../../shared';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { httpRequest, mintHs256, nextEvent, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { GatewayProcess } from '../helpers/gateway-process';
import { runCli } from '../helpers/process';
import { TestRedis } from '../helpers/redis-server';

let redis: TestRedis;
let twinA: GatewayProcess;
let twinB: GatewayProcess;
let cli: GatewayProcess;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  redis = await suiteScope.redis();
  const shared = { GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_ADMIN_KEY: ADMIN_KEY };
  // One at a time, with room: three processes compiling TypeScript at once on a loaded machine take a while.
  // Errors only: the shared node id must be logged as one.
  twinA = await suiteScope.process({ ...shared, GATEHOUSE_NODE_ID: 'twin', GATEHOUSE_LOG_LEVEL: 'error' }, 40_000);
  twinB = await suiteScope.process({ ...shared, GATEHOUSE_NODE_ID: 'twin', GATEHOUSE_LOG_LEVEL: 'error' }, 40_000);
  cli = await suiteScope.process({ ...shared, GATEHOUSE_NODE_ID: 'cli' }, 40_000);
});

async function authenticated(node: GatewayProcess, token: string): Promise<AGClientSocket> {
  const { client, status } = await scope.connect(node, token);
  assert.is(status.isAuthenticated, true, 'the token is accepted');
  return client;
}

test("logout on one of two processes sharing a node id closes the session's socket on the other within 1 s", async () => {
  const token = mintHs256({ sub: 'ann', sid: 'twin-session', jti: 'twin-jti' });
  const onA = await authenticated(twinA, token);
  const onB = await authenticated(twinB, token);
  const closed = nextEvent<{ code: number }>(onB, 'close', 3000);
  const started = performance.now();
  assert.equal(await onA.invoke('logout', undefined), { revoked: 'sid' });
  assert.is((await closed).code, CloseCode.TokenRevoked);
  assert.ok(performance.now() - started < 1000, `closed after ${Math.round(performance.now() - started)} ms`);
});

test('gatehouse revoke closes the socket on both processes sharing a node id', async () => {
  const token = mintHs256({ sub: 'bea', sid: 'cli-twin-session' });
  const onA = await authenticated(twinA, token);
  const onB = await authenticated(twinB, token);
  const closedA = nextEvent<{ code: number }>(onA, 'close', 20_000);
  const closedB = nextEvent<{ code: number }>(onB, 'close', 20_000);
  const out = await runCli(['revoke', '--sid', 'cli-twin-session'], { GATEHOUSE_REDIS_URL: redis.url }, { ms: 15_000 });
  assert.is(out.code, 0, out.stderr);
  const exited = performance.now();
  assert.is((await closedA).code, CloseCode.TokenRevoked);
  assert.is((await closedB).code, CloseCode.TokenRevoked);
  assert.ok(performance.now() - exited < 1000);
});

test('the admin revoke on one twin closes the socket on the other within 1 s', async () => {
  const onB = await authenticated(twinB, mintHs256({ sub: 'cat', sid: 'admin-twin-session' }));
  const closed = nextEvent<{ code: number }>(onB, 'close', 3000);
  const started = performance.now();
  const answer = await admin(twinA.port, 'POST', '/admin/revoke', { sid: 'admin-twin-session' });
  assert.is(answer.status, 200);
  assert.is((await closed).code, CloseCode.TokenRevoked);
  assert.ok(performance.now() - started < 1000);
});

test('a node named cli applies gatehouse revoke, a logout and an admin revoke made on another node, within 1 s', async () => {
  const token = mintHs256({ sub: 'dan', sid: 'cli-node-session' });
  const onCli = await authenticated(cli, token);
  const closed = nextEvent<{ code: number }>(onCli, 'close', 20_000);
  const out = await runCli(['revoke', '--sub', 'dan'], { GATEHOUSE_REDIS_URL: redis.url }, { ms: 15_000 });
  assert.is(out.code, 0, out.stderr);
  const exited = performance.now();
  assert.is((await closed).code, CloseCode.TokenRevoked);
  assert.ok(performance.now() - exited < 1000);

  const session = mintHs256({ sub: 'eve', sid: 'cli-node-logout' });
  const onTwin = await authenticated(twinA, session);
  const onCli2 = await authenticated(cli, session);
  const closed2 = nextEvent<{ code: number }>(onCli2, 'close', 3000);
  const started = performance.now();
  await onTwin.invoke('logout', undefined);
  assert.is((await closed2).code, CloseCode.TokenRevoked);
  assert.ok(performance.now() - started < 1000);

  // And the admin revoke, made on another node.
  const onCli3 = await authenticated(cli, mintHs256({ sub: 'fay', sid: 'cli-node-admin' }));
  const closed3 = nextEvent<{ code: number }>(onCli3, 'close', 3000);
  const asked = performance.now();
  assert.is((await admin(twinA.port, 'POST', '/admin/revoke', { sid: 'cli-node-admin' })).status, 200);
  assert.is((await closed3).code, CloseCode.TokenRevoked);
  assert.ok(performance.now() - asked < 1000);
});

test('a shared node id is reported on /readyz (still 200) and /admin/nodes of both processes', async () => {
  for (const node of [twinA, twinB]) {
    await waitFor(async () => ((await httpRequest(node.port, '/readyz')).body as { warnings?: string[] }).warnings !== undefined, 5000, 'the warning');
    const ready = await httpRequest(node.port, '/readyz');
    assert.is(ready.status, 200);
    assert.match((ready.body as { warnings: string[] }).warnings.join('\n'), /GATEHOUSE_NODE_ID "twin" is used by 2 live processes/);
    const nodes = await admin(node.port, 'GET', '/admin/nodes');
    const twin = (nodes.body.nodes as { nodeId: string; processes: number }[]).find((n) => n.nodeId === 'twin');
    assert.is(twin?.processes, 2);
  }
  for (const node of [twinA, twinB]) {
    const line = node.log.split('\n').find((l) => l.includes('GATEHOUSE_NODE_ID is shared'));
    assert.ok(line, 'logged');
    assert.is((JSON.parse(line) as { level: number }).level, 50, 'at error level');
  }
  const single = await httpRequest(cli.port, '/readyz');
  assert.equal(single.body, { status: 'ready' });
});

test.run();
