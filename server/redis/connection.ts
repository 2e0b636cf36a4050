import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';

/** One Redis Cluster seed node. */
export interface RedisSeed {
  readonly host: string;
  readonly port: number;
}

/**
 * Where the gateway's Redis is: one server by URL (GATEHOUSE_REDIS_URL), or a Redis Cluster by its seed nodes
 * (GATEHOUSE_REDIS_CLUSTER).
 */
export type RedisTarget = { readonly url: string } | { readonly seeds: readonly RedisSeed[] };

/** A connection to a RedisTarget: one Redis, or a Cluster client that routes each command to its slot's master. */
export type RedisConnection = Redis | Cluster;

/** The settings naming Redis, by their config fields (read in cluster/settings.ts). */
export interface RedisSettings {
  /** GATEHOUSE_REDIS_URL. */
  readonly redisUrl?: string;
  /** GATEHOUSE_REDIS_CLUSTER. */
  readonly redisCluster?: readonly RedisSeed[];
}

/** The Redis the configuration names, or undefined when it names none (a single node keeping state in memory). */
export function redisTarget(config: RedisSettings): RedisTarget | undefined {
  if (config.redisCluster) return { seeds: config.redisCluster };
  if (config.redisUrl) return { url: config.redisUrl };
  return undefined;
}

/** True when the configuration names a Redis or a Redis Cluster, so state is shared between nodes. */
export function redisConfigured(config: RedisSettings): boolean {
  return redisTarget(config) !== undefined;
}

export function isClusterTarget(target: RedisTarget): target is { readonly seeds: readonly RedisSeed[] } {
  return 'seeds' in target;
}

/** The target for messages: a URL without its password, or the seed list. */
export function describeRedisTarget(target: RedisTarget): string {
  if (isClusterTarget(target)) return `Redis Cluster at ${target.seeds.map(seedText).join(',')}`;
  try {
    const u = new URL(target.url);
    if (u.password) u.password = '***';
    return `Redis at ${u.toString()}`;
  } catch {
    return 'Redis at GATEHOUSE_REDIS_URL';
  }
}

function seedText({ host, port }: RedisSeed): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Reconnect quickly but not in a tight loop, and never give up: attempt n waits min(50·n, 1000) ms. */
export const DEFAULT_RETRY_DELAY = (attempt: number): number => Math.min(50 * attempt, 1000);

/** How a connection behaves; the ioredis option of the same name, unless told otherwise. */
export interface RedisConnectionOptions {
  /** Shown by CLIENT LIST (a cluster client gives it to each node connection). */
  readonly connectionName: string;
  /** How long one command may wait for its answer, ms; default: unbounded. Per node on a cluster. */
  readonly commandTimeout?: number;
  /** Re-sends of a command after its connection dropped (null: until it succeeds); default 20. Per node. */
  readonly maxRetriesPerRequest?: number | null;
  /**
   * Queue commands issued while not connected (default true). On a cluster this is the cluster-wide queue used until
   * the cluster is ready again, which commandTimeout does NOT bound: set it false there unless waiting is meant.
   */
  readonly enableOfflineQueue?: boolean;
  /** Re-send a command in flight when its connection dropped (default true). */
  readonly autoResendUnfulfilledCommands?: boolean;
  /** Subscribe again to what was subscribed after a reconnect (default true). One Redis only. */
  readonly autoResubscribe?: boolean;
  /** How long a connection attempt may take, ms (default 10000). */
  readonly connectTimeout?: number;
  /** Delay before reconnect attempt n, ms (a cluster: before it rediscovers the nodes); default DEFAULT_RETRY_DELAY. */
  readonly retryDelay?: (attempt: number) => number;
  /** Send the commands issued while earlier ones are in flight together, in one write (default false). */
  readonly enableAutoPipelining?: boolean;
  /** A cluster only: sharded pub/sub (SSUBSCRIBE) through one subscriber connection per shard (default false). */
  readonly shardedSubscribers?: boolean;
  /** TCP keep-alive: idle time before the first probe, ms (ioredis default 0: the system's, commonly 2 hours). */
  readonly keepAlive?: number;
  /** How long a closing connection waits for Redis to close its side before destroying it, ms (default 2000). */
  readonly disconnectTimeout?: number;
}

/**
 * What every subscriber connection gets. A subscriber only reads, so a dead path (Redis' side gone, a NAT entry
 * dropped) shows nowhere until TCP gives up: keep-alive probes start after 10 s of quiet (their spacing and count are
 * the system's). A subscriber dropped as silent (./feed-liveness.ts) is destroyed after 100 ms rather than waiting
 * 2 s for a close Redis may never send: nothing is owed to Redis on the way out.
 */
export const SUBSCRIBER_SOCKET = { keepAlive: 10_000, disconnectTimeout: 100 } as const satisfies Partial<RedisConnectionOptions>;

/**
 * Opens a connection to a RedisTarget; it connects at once and reconnects by itself. Give it an 'error' listener
 * before the event loop turns, or an unreachable Redis crashes the process. Every Redis connection the gateway and
 * the CLI open is made here.
 *
 * On a cluster the per-node options (commandTimeout, maxRetriesPerRequest, connectionName, …) go to every node
 * connection; node connections are opened eagerly, so a command never finds its node still connecting (which,
 * without the offline queue, would fail it). Multi-key commands, pipelines and scripts must stay in one slot.
 */
export function createRedisConnection(target: RedisTarget, options: RedisConnectionOptions): RedisConnection {
  const retryDelay = options.retryDelay ?? DEFAULT_RETRY_DELAY;
  const perConnection: RedisOptions = withoutUndefined({
    connectionName: options.connectionName,
    commandTimeout: options.commandTimeout,
    maxRetriesPerRequest: options.maxRetriesPerRequest,
    autoResendUnfulfilledCommands: options.autoResendUnfulfilledCommands,
    autoResubscribe: options.autoResubscribe,
    connectTimeout: options.connectTimeout,
    keepAlive: options.keepAlive,
    disconnectTimeout: options.disconnectTimeout,
  });
  if (!isClusterTarget(target)) {
    return new Redis(target.url, {
      ...perConnection,
      ...withoutUndefined({ enableOfflineQueue: options.enableOfflineQueue, enableAutoPipelining: options.enableAutoPipelining }),
      retryStrategy: retryDelay,
    });
  }
  const clusterOptions: ClusterOptions = {
    ...withoutUndefined({
      enableOfflineQueue: options.enableOfflineQueue,
      shardedSubscribers: options.shardedSubscribers,
      enableAutoPipelining: options.enableAutoPipelining,
    }),
    clusterRetryStrategy: retryDelay,
    // Not for sharded subscribers: ioredis builds each shard's subscriber from these options and connects it itself;
    // made eager, that connect() finds it already connecting and fails, and the shard is left without a subscriber.
    redisOptions: options.shardedSubscribers ? perConnection : { ...perConnection, lazyConnect: false },
  };
  return new Cluster(
    target.seeds.map(({ host, port }) => ({ host, port })),
    clusterOptions,
  );
}

/** Every node a cluster connection knows now (masters and replicas), as host and port; none for one Redis. */
export function knownClusterNodes(connection: RedisConnection): RedisSeed[] {
  if (!(connection instanceof Cluster)) return [];
  return connection.nodes('all').flatMap(({ options: { host, port } }) => (host !== undefined && port !== undefined ? [{ host, port }] : []));
}

/** Leaves out the options not given, so ioredis' own defaults apply to them. */
function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
