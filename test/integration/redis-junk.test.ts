// Junk written into Gatehouse's Redis channels and keys (by a buggy neighbour or an old version) is ignored: the node
// neither crashes nor acts on it, and keeps serving. A private redis-server.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type Redis from 'ioredis';
import type { Gateway } from '../../server/gateway';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { startGateway, waitFor } from '../helpers/gateway';
import { TestRedis } from '../helpers/redis-server';

let redis: TestRedis;
let writer: Redis;
let gw: Gateway;

test.before(async () => {
  redis = await TestRedis.start();
  writer = redis.client();
  gw = await startGateway({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_ADMIN_KEY: ADMIN_KEY });
});
test.after(async () => {
  await gw.close();
  writer.disconnect();
  await redis.close();
});

test('junk node entries in the registry are skipped: /admin/nodes still lists the live nodes', async () => {
  await waitFor(async () => (await writer.zscore('{gatehouse}:nodes:seen', gw.nodeId)) !== null, 3000, 'the first heartbeat');
  const now = Date.now();
  const entries: Record<string, string> = {
    'junk-text': 'not json', 'junk-number': '5', 'junk-null': 'null', 'junk-array': '[1]',
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
    assert.equal(answer.body.nodes.map((n: { nodeId: string }) => n.nodeId), [gw.nodeId]);
  } finally {
    await writer.zrem('{gatehouse}:nodes:seen', ...Object.keys(entries));
    await writer.hdel('{gatehouse}:nodes:info', ...Object.keys(entries));
  }
});

test.run();
