// Junk written into Gatehouse's Redis channels and keys (by a buggy neighbour or an old version) is ignored: the node
// neither crashes nor acts on it, and keeps serving. A private redis-server.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type Redis from 'ioredis';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { CHANNEL_PREFIX } from '../../server/cluster';
import { REVOCATION_CHANNEL } from '../../server/revocation/redis-store';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { subscribe } from '../helpers/channels';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { TestRedis } from '../helpers/redis-server';

let redis: TestRedis;
let writer: Redis;
let gw: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  redis = await suiteScope.redis();
  writer = suiteScope.own(redis.client(), (c) => c.disconnect(), 'redis client');
  gw = await suiteScope.gateway({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_ADMIN_KEY: ADMIN_KEY });
});

async function alice(): Promise<AGClientSocket> {
  const { client, status } = await scope.connect(gw, mintHs256({ sub: 'alice', sid: 'alice-session', channels: ['*'] }));
  assert.is(status.isAuthenticated, true);
  await waitFor(() => gw.revocation.enforcer.index.size >= 1, 2000, 'alice indexed');
  return client;
}

test('junk on the revocation and admin channels is ignored: nothing is applied or remembered, the socket stays', async () => {
  const client = await alice();
  const remembered = gw.revocation.enforcer.remembered;
  const junk = [
    'not json',
    'null',
    '42',
    '[]',
    '{}',
    JSON.stringify({ kind: '__proto__', id: 'alice', at: 1, until: 2, origin: 'x' }),
    JSON.stringify({ kind: 'sub', id: 'alice', at: 'now', until: 2, origin: 'x' }),
  ];
  for (const text of junk) await writer.publish(REVOCATION_CHANNEL, text);
  const requests = [
    ...junk,
    JSON.stringify({ id: 'r1', from: 'elsewhere', action: { op: 'revoke', revocation: { kind: 'constructor', id: 'alice', at: 1 } } }),
    JSON.stringify({ id: 'r2', from: 'elsewhere', action: { op: 'revoke', revocation: { kind: 'sub', id: 'alice', at: Date.now() } } }),
    JSON.stringify({ id: 'r3', from: 'elsewhere', action: { op: 'disconnect', sub: 42 } }),
    JSON.stringify({ id: 'r4', from: 'elsewhere', action: { op: 'explode' } }),
  ];
  for (const text of requests) await writer.publish('gatehouse:admin:requests', text);
  for (const text of junk) await writer.publish(`gatehouse:admin:replies:${gw.nodeId}`, text);
  for (const text of junk) await writer.publish(`${CHANNEL_PREFIX}chat`, text);
  // A message the node does act on, published last: once it is through, every junk message before it was handled.
  const inbox = await subscribe(client, 'after-junk');
  await writer.publish(`${CHANNEL_PREFIX}after-junk`, JSON.stringify({ s: 'another-node', d: 'still here' }));
  await inbox.waitFor(1);
  await sleep(50);
  assert.is(client.state, client.OPEN);
  assert.is(client.authState, 'authenticated');
  assert.is(gw.revocation.enforcer.remembered, remembered, 'no junk revocation was remembered');
});

test('junk node entries in the registry are skipped: /admin/nodes still lists the live nodes', async () => {
  await waitFor(async () => (await writer.zscore('{gatehouse}:nodes:seen', gw.nodeId)) !== null, 3000, 'the first heartbeat');
  const now = Date.now();
  const entries: Record<string, string> = {
    'junk-text': 'not json',
    'junk-number': '5',
    'junk-null': 'null',
    'junk-array': '[1]',
    'junk-id': JSON.stringify({ nodeId: 5, connections: 0, authenticated: 0, startedAt: now, lastSeen: now }),
    'junk-figures': JSON.stringify({ nodeId: 'junk-figures', connections: 'many' }),
  };
  for (const [id, value] of Object.entries(entries)) {
    await writer.zadd('{gatehouse}:nodes:seen', now + 60_000, id);
    await writer.hset('{gatehouse}:nodes:info', id, value);
  }
  try {
    const answer = await admin(gw.address().port, 'GET', '/admin/nodes');
    assert.is(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(
      answer.body.nodes.map((n: { nodeId: string }) => n.nodeId),
      [gw.nodeId],
    );
  } finally {
    await writer.zrem('{gatehouse}:nodes:seen', ...Object.keys(entries));
    await writer.hdel('{gatehouse}:nodes:info', ...Object.keys(entries));
  }
});

test.run();
