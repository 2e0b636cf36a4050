import { randomBytes } from 'node:crypto';
import type { RedisSeed } from '../redis/connection';
import type { SettingsReader } from '../settings-kit/reader';

export type { RedisSeed } from '../redis/connection';

/**
 * The slice of the configuration that lets several nodes work as one: the Redis they share (for revocations, login
 * limits and channels alike) and this node's name. Without Redis a node keeps its state in memory.
 */
export interface ClusterSettings {
  /** GATEHOUSE_REDIS_URL: one Redis (`redis://`, `rediss://`). */
  readonly redisUrl?: string;
  /** GATEHOUSE_REDIS_CLUSTER: Redis Cluster seed nodes, used like redisUrl; mutually exclusive with it. */
  readonly redisCluster?: readonly RedisSeed[];
  /** GATEHOUSE_NODE_ID: this node's id, unique per process; default random (12 hex digits). */
  readonly nodeId: string;
}

const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Reads the Redis and node id settings, reporting each problem to the reader. */
export function readClusterSettings(r: SettingsReader): ClusterSettings {
  const redisUrl = r.string('GATEHOUSE_REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    r.problem('GATEHOUSE_REDIS_URL', `must start with redis:// or rediss:// (got ${JSON.stringify(redisUrl.slice(0, 16))}…)`);
  }
  // The seeds are host:port; the client discovers the rest. One Redis or one cluster: setting both is ambiguous.
  const redisCluster = r
    .list('GATEHOUSE_REDIS_CLUSTER')
    ?.map((seed) => {
      const parsed = parseRedisSeed(seed);
      if (!parsed) r.problem('GATEHOUSE_REDIS_CLUSTER', `${JSON.stringify(seed)} is not host:port (e.g. 10.0.0.5:6379,redis-1:6379)`);
      return parsed;
    })
    .filter((seed): seed is RedisSeed => seed !== undefined);
  if (redisCluster !== undefined && redisUrl !== undefined) {
    r.problem('GATEHOUSE_REDIS_CLUSTER', 'is set together with GATEHOUSE_REDIS_URL; set one: a single Redis or a Redis Cluster');
  }
  // Logs and the admin API name nodes by it, so each node needs its own: leave it unset (random) unless every node
  // gets a distinct name (a pod name, say). Echo filtering does not depend on it being unique (GatewayHost.instanceId).
  const nodeId = r.string('GATEHOUSE_NODE_ID') ?? randomBytes(6).toString('hex');
  if (!NODE_ID_PATTERN.test(nodeId)) {
    r.problem('GATEHOUSE_NODE_ID', `${JSON.stringify(nodeId.slice(0, 80))} must be 1-64 characters of A-Z a-z 0-9 . _ - (starting with a letter or digit)`);
  }
  return { redisUrl, redisCluster: redisCluster && redisCluster.length > 0 ? redisCluster : undefined, nodeId };
}

/** `host:port` or `[v6]:port`, port 1-65535; undefined when malformed. */
export function parseRedisSeed(text: string): RedisSeed | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2], port };
}
