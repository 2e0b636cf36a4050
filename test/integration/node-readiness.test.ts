// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { GatewayProcess } from '../helpers/gateway-process';
import { TestRedis } from '../helpers/redis-server';

let redis: TestRedis;
const nodes: GatewayProcess[] = [];

test.before(async () => {
  redis = await TestRedis.start();
});
test.after.each(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});
test.after(async () => {
  await redis?.close();
});

test('a node turns ready only once it is listed: the moment two nodes answer /readyz 200, /admin/nodes lists both', async () => {
  for (let round = 0; round < 3; round++) {
    const env = (id: string) => ({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_NODE_ID: `${id}-${round}` });
    // Each start resolves as soon as its /readyz answers 200 (polled every 50 ms).
    const [a, b] = await Promise.all([GatewayProcess.start(env('a')), GatewayProcess.start(env('b'))]);
    nodes.push(a, b);
    const [fromA, fromB] = await Promise.all([admin(a.port, 'GET', '/admin/nodes'), admin(b.port, 'GET', '/admin/nodes')]);
    for (const listing of [fromA, fromB]) {
      assert.is(listing.status, 200);
      const ids = (listing.body as { nodes: { nodeId: string }[] }).nodes.map((n) => n.nodeId);
      assert.ok(ids.includes(`a-${round}`) && ids.includes(`b-${round}`), `round ${round}: ${JSON.stringify(ids)}`);
    }
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  }
});

test.run();
