// budget: 90s
// Live grants on a private three-master Redis Cluster, three gateway processes: a change entered on one node is
// applied on the others before the answer, and the version check holds (a stale version is a 409; of racing changes
// of one version, on three nodes, exactly one wins).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { publishOutcome, subscribeOutcome } from '../helpers/channels';
import { mintHs256, nextEvent, waitFor } from '../helpers/gateway';
import type { GatewayProcess } from '../helpers/gateway-process';
import { useScope } from '../helpers/scope';

let nodes: GatewayProcess[] = [];
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  const cluster = await suiteScope.redisCluster(3);
  nodes = await Promise.all(
    ['node-a', 'node-b', 'node-c'].map((id) =>
      suiteScope.process({ GATEHOUSE_REDIS_CLUSTER: cluster.seeds, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_NODE_ID: id }, 30_000),
    ),
  );
  const live = async () => ((await admin(nodes[0].port, 'GET', '/admin/nodes')).body as { nodes?: unknown[] }).nodes?.length === 3;
  await waitFor(live, 10_000, 'three live nodes');
});

test('a change on A is applied on B and C before the answer; stale and racing versions are refused', async () => {
  const sockets = await Promise.all(
    nodes.map(async (node) => {
      const { client, status } = await scope.connect(node, mintHs256({ sub: 'quinn', channels: ['room:*'] }));
      assert.is(status.isAuthenticated, true);
      assert.is(await subscribeOutcome(client, 'room:1'), 'subscribed');
      return client;
    }),
  );
  const kicks = sockets.map((s) => nextEvent<{ channel: string }>(s, 'kickOut', 3000));
  const r = await admin(nodes[0].port, 'PUT', '/admin/grants/quinn', { version: 10, channels: ['lobby'] });
  assert.is(r.status, 200, JSON.stringify(r.body));
  assert.equal((r.json as { applied: unknown }).applied, { 'node-a': 1, 'node-b': 1, 'node-c': 1 });
  for (const s of sockets) assert.is(await publishOutcome(s, 'room:1', 'x'), 'PublishForbiddenError');
  for (const kick of await Promise.all(kicks)) assert.is(kick.channel, 'room:1');
  const stale = await admin(nodes[1].port, 'PUT', '/admin/grants/quinn', { version: 9, channels: ['room:*'] });
  assert.is(stale.status, 409);
  assert.is((stale.json as { error: { name: string; current: number } }).error.current, 10);
  for (let round = 0; round < 5; round++) {
    const version = 11 + round;
    const racing = await Promise.all(nodes.map((n, i) => admin(n.port, 'PUT', '/admin/grants/quinn', { version, channels: [`race${i}`] })));
    assert.equal(racing.map((x) => x.status).sort(), [200, 409, 409], `round ${round}`);
  }
  const got = await admin(nodes[2].port, 'GET', '/admin/grants/quinn');
  assert.is((got.json as { version: number }).version, 15);
});

test.run();
