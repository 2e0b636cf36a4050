// budget: 90s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Redis from 'ioredis';
import type { AGClientSocket } from 'socketcluster-client';
import { CHANNEL_PREFIX } from '../../server/cluster';
import { settle, subscribe } from '../helpers/channels';
import { mintHs256, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { GatewayProcess } from '../helpers/gateway-process';
import { TestRedisCluster } from '../helpers/redis-cluster';

// Two gateway processes on a private three-master Redis Cluster: sharded pub/sub (SSUBSCRIBE / SPUBLISH).
let cluster: TestRedisCluster;
let a: GatewayProcess;
let b: GatewayProcess;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);
const token = () => mintHs256({ sub: 'alice', channels: ['*'] });
// Enough channels that every shard owns some.
const CHANNELS = Array.from({ length: 12 }, (_, i) => `shard-test-${i}`);

test.before(async () => {
  cluster = await suiteScope.redisCluster(3);
  [a, b] = await Promise.all([suiteScope.process({ GATEHOUSE_REDIS_CLUSTER: cluster.seeds }), suiteScope.process({ GATEHOUSE_REDIS_CLUSTER: cluster.seeds })]);
});

async function client(node: GatewayProcess): Promise<AGClientSocket> {
  const { client: c, status } = await scope.connect(node, token());
  assert.is(status.isAuthenticated, true);
  return c;
}

/** The shard channels each master holds, by port. */
async function shardChannels(): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const port of cluster.ports) {
    const r = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    try {
      out.set(port, ((await r.call('PUBSUB', 'SHARDCHANNELS', `${CHANNEL_PREFIX}*`)) as string[]).sort());
    } finally {
      r.disconnect();
    }
  }
  return out;
}

test('publishes cross nodes exactly once in both directions, on channels spread over every shard', async () => {
  const subA = await client(a);
  const subB = await client(b);
  const pubA = await client(a);
  const pubB = await client(b);
  const inboxes = [];
  for (const channel of CHANNELS) inboxes.push(await subscribe(subA, channel), await subscribe(subB, channel));

  const byShard = await shardChannels();
  assert.ok(
    [...byShard.values()].every((list) => list.length > 0),
    `every shard holds channels: ${JSON.stringify([...byShard])}`,
  );
  assert.is([...byShard.values()].flat().length, CHANNELS.length, 'each channel lives on one shard only');

  for (const channel of CHANNELS) {
    await pubA.invokePublish(channel, `${channel} from A`);
    await pubB.invokePublish(channel, `${channel} from B`);
  }
  for (const inbox of inboxes) await inbox.waitFor(2);
  await settle(300);
  for (const inbox of inboxes) assert.equal([...inbox.messages].sort(), [`${inbox.channel} from A`, `${inbox.channel} from B`]);
});

test('a publish right after a subscribe is acknowledged arrives, and the shard lets go when the last subscriber leaves', async () => {
  const subscriber = await client(b);
  const pub = await client(a);
  for (let i = 0; i < 6; i++) {
    const inbox = await subscribe(subscriber, `sharded-fresh-${i}`);
    await pub.invokePublish(`sharded-fresh-${i}`, i);
    await inbox.waitFor(1, 2000);
  }
  subscriber.disconnect();
  await waitFor(
    async () => {
      const held = [...(await shardChannels()).values()].flat();
      return !held.some((name) => name.startsWith(`${CHANNEL_PREFIX}sharded-fresh-`));
    },
    3000,
    'the shards to drop the channels',
  );
});

test.run();
