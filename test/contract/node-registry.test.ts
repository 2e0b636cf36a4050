// budget: 60s
// One contract, three registries: every case runs against the memory registry (a NodeBoard per test), the Redis
// registry on a private redis-server, and on a private three-master Redis Cluster (started once). Each Redis registry
// gets a connection of its own, as each node has.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryNodeRegistry, NodeBoard, RedisNodeRegistry, type NodeInfo, type NodeRegistry } from '../../server/admin/node-registry';
import { systemClock } from '../../server/clock';
import { createLogger } from '../../server/log';
import { createRedisConnection, type RedisConnection, type RedisTarget } from '../../server/redis/connection';
import { TestRedisCluster } from '../helpers/redis-cluster';
import { TestRedis } from '../helpers/redis-server';
import { waitFor } from '../helpers/gateway';

type Figures = Omit<NodeInfo, 'lastSeen' | 'processes'>;

interface Backend {
  readonly name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A registry on the backend's shared state for a process of `nodeId`, reporting `figures()` at each heartbeat. */
  open(nodeId: string, figures: () => Figures): NodeRegistry;
  /** Forgets every node between tests. */
  reset(): Promise<void>;
}

const log = createLogger('silent');
let instances = 0;
const opened: NodeRegistry[] = [];
const connections: RedisConnection[] = [];

let board = new NodeBoard();
const memoryBackend: Backend = {
  name: 'memory',
  async setup() {},
  async teardown() {},
  open(_nodeId, figures) {
    return new MemoryNodeRegistry(board, figures, systemClock);
  },
  async reset() {
    board = new NodeBoard();
  },
};

/** A Redis registry on a connection of its own to `target`. */
function redisRegistry(target: RedisTarget, nodeId: string, figures: () => Figures): NodeRegistry {
  const connection = createRedisConnection(target, { connectionName: `registry-contract-${nodeId}`, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  connection.on('error', () => {});
  connections.push(connection);
  return new RedisNodeRegistry(connection, figures, systemClock, log, `${nodeId}/${(instances += 1)}`, undefined, 1000);
}

let redis: TestRedis;
const redisBackend: Backend = {
  name: 'redis',
  async setup() {
    redis = await TestRedis.start();
  },
  async teardown() {
    await redis.close();
  },
  open: (nodeId, figures) => redisRegistry({ url: redis.url }, nodeId, figures),
  async reset() {
    const admin = redis.client();
    await admin.flushall();
    admin.disconnect();
  },
};

let cluster: TestRedisCluster | undefined;
const redisClusterBackend: Backend = {
  name: 'redis cluster',
  async setup() {
    cluster = await TestRedisCluster.start(3);
  },
  async teardown() {
    await cluster?.close();
  },
  open: (nodeId, figures) => redisRegistry({ seeds: seedList(cluster!.seeds) }, nodeId, figures),
  async reset() {
    const admin = cluster!.client();
    await Promise.all(admin.nodes('master').map((node) => node.flushall()));
    admin.disconnect();
  },
};

function seedList(text: string) {
  return text.split(',').map((seed) => {
    const [host, port] = seed.split(':');
    return { host, port: Number(port) };
  });
}

const startedAt = Date.now();
const figures = (nodeId: string, connections = 0): Figures => ({ nodeId, connections, authenticated: 0, startedAt });

async function open(backend: Backend, nodeId: string, of: () => Figures = () => figures(nodeId)): Promise<NodeRegistry> {
  const registry = backend.open(nodeId, of);
  opened.push(registry);
  await waitFor(() => registry.listed, 5000, `${nodeId} listed`);
  return registry;
}

const ids = async (registry: NodeRegistry) => (await registry.list()).map((node) => node.nodeId);

async function closeAll(): Promise<void> {
  for (const registry of opened.splice(0)) await registry.close();
  for (const connection of connections.splice(0)) connection.disconnect();
}

function contract(backend: Backend): void {
  const t = suite(`node registry contract: ${backend.name}`);
  t.before(() => backend.setup());
  t.after(async () => {
    await closeAll();
    await backend.teardown();
  });
  t.after.each(async () => {
    await closeAll();
    await backend.reset();
  });

  t('a node is listed with its figures once its first heartbeat is written', async () => {
    const before = Date.now();
    const a = await open(backend, 'node-a', () => figures('node-a', 3));
    const [listed, ...others] = await a.list();
    assert.equal(others, []);
    assert.equal({ ...listed, lastSeen: 0 }, { ...figures('node-a', 3), lastSeen: 0, processes: 1 });
    assert.ok(listed.lastSeen >= before - 5 && listed.lastSeen <= Date.now(), 'last seen just now');
    assert.is(a.warning(), undefined);
  });

  t('nodes on one backend list each other, by node id', async () => {
    const b = await open(backend, 'node-b');
    const a = await open(backend, 'node-a');
    const c = await open(backend, 'node-c');
    for (const registry of [a, b, c]) assert.equal(await ids(registry), ['node-a', 'node-b', 'node-c']);
  });

  t('a node that closes leaves the list at once; close is idempotent', async () => {
    const a = await open(backend, 'node-a');
    const b = await open(backend, 'node-b');
    await b.close();
    await b.close();
    assert.equal(await ids(a), ['node-a']);
  });

  t("the figures listed follow the node's own", async () => {
    let connections = 1;
    const a = await open(backend, 'node-a', () => figures('node-a', connections));
    connections = 7;
    await waitFor(async () => (await a.list())[0]?.connections === 7, 3000, 'the new figures');
  });

  t('two processes under one node id: listed once with both counted, and both warned until one closes', async () => {
    const first = await open(backend, 'node-a');
    const second = await open(backend, 'node-a');
    await waitFor(() => first.warning() !== undefined && second.warning() !== undefined, 4000, 'both to warn');
    assert.match(second.warning()!, /"node-a" is used by 2 live processes/);
    const listed = await first.list();
    assert.equal(
      listed.map((node) => [node.nodeId, node.processes]),
      [['node-a', 2]],
    );
    await second.close();
    await waitFor(() => first.warning() === undefined, 4000, 'the warning to end');
    assert.equal(
      (await first.list()).map((node) => node.nodeId),
      ['node-a'],
      'the remaining process is still listed',
    );
  });

  t.run();
}

contract(memoryBackend);
contract(redisBackend);
contract(redisClusterBackend);
