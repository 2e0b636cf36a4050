// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { useScope } from '../helpers/scope';
import type { TestRedis } from '../helpers/redis-server';

let redis: TestRedis;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  redis = await suiteScope.redis();
});

test('a node turns ready only once it is listed: the moment two nodes answer /readyz 200, /admin/nodes lists both', async () => {
  for (let round = 0; round < 3; round++) {
    const env = (id: string) => ({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_NODE_ID: `${id}-${round}` });
    // Each start resolves as soon as its /readyz answers 200 (polled every 50 ms).
    const [a, b] = await Promise.all([scope.process(env('a')), scope.process(env('b'))]);
    const [fromA, fromB] = await Promise.all([admin(a.port, 'GET', '/admin/nodes'), admin(b.port, 'GET', '/admin/nodes')]);
    for (const listing of [fromA, fromB]) {
      assert.is(listing.status, 200);
      const ids = (listing.body as { nodes: { nodeId: string }[] }).nodes.map((n) => n.nodeId);
      assert.ok(ids.includes(`a-${round}`) && ids.includes(`b-${round}`), `round ${round}: ${JSON.stringify(ids)}`);
    }
    await Promise.all([a.stop(), b.stop()]);
  }
});

test.run();
