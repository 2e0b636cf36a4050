// Counts the Redis connections one node opens: starts a private redis-server (and, with --cluster, a three-master
// Redis Cluster), a gateway on it with every feature that uses Redis (admin API, login) and one without the optional
// ones, and prints each one's connections by name as CLIENT LIST shows them.
// Usage: npx tsx scripts/redis-connections.ts [--cluster]
import Redis from 'ioredis';
import { Gateway } from '../server/gateway';
import { createLogger } from '../server/log';
import { TestRedisCluster } from '../test/helpers/redis-cluster';
import { TestRedis } from '../test/helpers/redis-server';
import { testConfig, waitFor } from '../test/helpers/gateway';

const onCluster = process.argv.includes('--cluster');

/** Connection names CLIENT LIST shows on every server given, the counting client's own left out. */
async function names(clients: { client(cmd: 'LIST'): Promise<unknown> }[]): Promise<string[]> {
  const out: string[] = [];
  for (const c of clients) {
    const list = String(await c.client('LIST'));
    for (const line of list.split('\n')) {
      const name = / name=(\S*)/.exec(line)?.[1];
      if (name && name !== 'counter') out.push(name.replace(/\/[0-9a-f]{8}/, '/<instance>'));
    }
  }
  return out;
}

async function count(label: string, env: Record<string, string>, servers: { client(cmd: 'LIST'): Promise<unknown> }[]): Promise<void> {
  const config = testConfig({ GATEHOUSE_NODE_ID: 'node-1', ...env });
  const gw = new Gateway(config, { log: createLogger('silent') });
  await gw.listen();
  await waitFor(() => gw.notReadyReasons().length === 0, 10_000, 'the node ready');
  const seen = await names(servers);
  await gw.close();
  const tally = new Map<string, number>();
  for (const name of seen) tally.set(name, (tally.get(name) ?? 0) + 1);
  console.log(`${label}: ${seen.length} connections${onCluster ? ' (over every cluster node)' : ''}`);
  for (const [name, n] of [...tally].sort()) console.log(`  ${String(n).padStart(2)}  ${name}`);
}

async function main(): Promise<void> {
  const full = { GATEHOUSE_ADMIN_KEY: 'admin-key-admin-key-admin-key-0123', GATEHOUSE_LOGIN_URL: 'http://127.0.0.1:9/login' };
  if (onCluster) {
    const cluster = await TestRedisCluster.start(3);
    const servers = cluster.ports.map((port) => new Redis(port, '127.0.0.1', { connectionName: 'counter' }));
    try {
      await count('Redis Cluster, admin API and login', { GATEHOUSE_REDIS_CLUSTER: cluster.seeds, ...full }, servers);
      await count('Redis Cluster, neither', { GATEHOUSE_REDIS_CLUSTER: cluster.seeds }, servers);
    } finally {
      for (const s of servers) s.disconnect();
      await cluster.close();
    }
    return;
  }
  const redis = await TestRedis.start();
  const counter = redis.client();
  await counter.client('SETNAME', 'counter');
  try {
    await count('Redis, admin API and login', { GATEHOUSE_REDIS_URL: redis.url, ...full }, [counter]);
    await count('Redis, neither', { GATEHOUSE_REDIS_URL: redis.url }, [counter]);
  } finally {
    counter.disconnect();
    await redis.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
