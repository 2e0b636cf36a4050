// Two gateways in one process joined by a MemoryHub, no Redis: the in-memory backends carry channel messages,
// revocations, admin requests and the node list between them as Redis does between processes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import { MemoryHub } from '../../server/backends';
import { Gateway } from '../../server/gateway';
import { createLogger } from '../../server/log';
import { CloseCode } from '../../shared';
import { subscribe } from '../helpers/channels';
import { mintHs256, nextEvent, testConfig, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

const ADMIN_KEY = 'memory-hub-admin-key-0123456789abcdef';
let a: Gateway;
let b: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);
let n = 0;

async function start(nodeId: string, hub: MemoryHub): Promise<Gateway> {
  const config = testConfig({ GATEHOUSE_NODE_ID: nodeId, GATEHOUSE_ADMIN_KEY: ADMIN_KEY });
  const gateway = suiteScope.ownGateway(new Gateway(config, { log: createLogger(config.logLevel), hub }));
  await gateway.listen();
  return gateway;
}

async function client(gw: Gateway, claims: Record<string, unknown> = {}): Promise<AGClientSocket> {
  n += 1;
  const { client: c, status } = await scope.connect(gw, mintHs256({ sub: `user-${n}`, sid: `sid-${n}`, channels: ['*'], ...claims }));
  assert.is(status.isAuthenticated, true);
  return c;
}

test.before(async () => {
  const hub = new MemoryHub();
  [a, b] = await Promise.all([start('node-a', hub), start('node-b', hub)]);
  await waitFor(() => a.clusterBus!.connected && b.clusterBus!.connected, 2000, 'both buses up');
});

test('the nodes run on memory, with a bridge between them', () => {
  assert.is(a.backends.kind, 'memory');
  assert.is(a.notReadyReasons().length + b.notReadyReasons().length, 0);
});

test('a publish on A reaches a subscriber on B once', async () => {
  const onB = await subscribe(await client(b), 'news');
  const publisher = await client(a);
  await publisher.invokePublish('news', { n: 1 });
  await a.agServer.exchange.invokePublish('news', { n: 2 });
  await onB.waitFor(2);
  assert.equal(onB.messages, [{ n: 1 }, { n: 2 }]);
});

test("a revocation made on A is stored for B and closes B's socket", async () => {
  const sid = `revoked-${n}`;
  const onB = await client(b, { sid });
  const closed = nextEvent<{ code: number }>(onB, 'close', 3000);
  await a.revocation.revoke({ kind: 'sid', id: sid });
  assert.is((await closed).code, CloseCode.TokenRevoked);
  const again = await scope.connect(b, mintHs256({ sub: 'someone', sid }));
  assert.is(again.status.isAuthenticated, false, 'B refuses the revoked session at the handshake too');
});

test("the node registry lists both nodes, and an admin disconnect on A closes the user's sockets on B", async () => {
  assert.equal(
    (await a.operations.registry.list()).map((node) => node.nodeId),
    ['node-a', 'node-b'],
  );
  const victim = await client(b, { sub: 'mallory' });
  const closed = nextEvent<{ code: number }>(victim, 'close', 3000);
  const answer = await httpRequestWithKey(a, '/admin/disconnect', { sub: 'mallory' });
  assert.is(answer.status, 200);
  assert.equal(answer.body, { disconnected: { 'node-a': 0, 'node-b': 1 }, unanswered: [] });
  assert.is((await closed).code, CloseCode.DisconnectedByAdmin);
});

test('a hub is refused for a node configured with Redis, whose state is shared through Redis instead', () => {
  const config = testConfig({ GATEHOUSE_REDIS_URL: 'redis://127.0.0.1:1' });
  assert.throws(() => new Gateway(config, { log: createLogger(config.logLevel), hub: new MemoryHub() }), /MemoryHub joins nodes without Redis/);
});

async function httpRequestWithKey(gw: Gateway, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${gw.address().port}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

test.run();
