import type { OperationsBackends } from '../admin/install';
import type { NodeRegistry, NodeSnapshot } from '../admin/node-registry';
import type { AuthSettings } from '../auth/settings';
import type { Clock } from '../clock';
import type { ClusterSettings } from '../cluster/settings';
import type { PubSubTransport } from '../cluster/transport';
import type { GrantStore } from '../grants/store';
import type { Logger } from '../log';
import type { PresenceBackend } from '../presence/presence-index';
import type { RedisConnection } from '../redis/connection';
import type { RevocationBackend } from '../revocation/install';
import type { RevocationSettings } from '../revocation/settings';
import type { MemoryHub } from './memory-hub';

/** The settings the backends are made from, taken from the slices that own them (not from config, which is above). */
export type BackendSettings = Pick<ClusterSettings, 'redisUrl' | 'redisCluster'>
  & Pick<RevocationSettings, 'redisTimeoutMs'>
  & Pick<AuthSettings, 'maxTokenLifetimeMs' | 'clockToleranceMs' | 'tokenTtlMs'>;

/** Who the backends are made for: one node, one process. */
export interface BackendOwner {
  readonly nodeId: string;
  /** Names this process in revocations and its command connection (see GatewayHost.instanceId). */
  readonly instanceId: string;
  readonly log: Logger;
  readonly clock: Clock;
  /** Without Redis: nodes of one process given one hub share their state through it (tests). */
  readonly hub?: MemoryHub;
}

/**
 * Backends is where a node keeps what it shares with the other nodes, made once by the composition root from the
 * configuration: all in memory (one node, or the nodes of one process sharing a MemoryHub), or all on Redis or a
 * Redis Cluster. It owns every connection it opens and closes them with `close()`, after the features it serves
 * have closed. Features take what they need from it through their install functions; none opens a connection itself.
 */
export interface Backends extends OperationsBackends {
  readonly kind: 'memory' | 'redis' | 'redis-cluster';
  /** The revocation store (Redis mirrored in memory, or memory). Call once: the feature closes the store it gets. */
  revocation(): RevocationBackend;
  /** A pub/sub transport between nodes, one per bus (`feed` names it); undefined for a node alone. */
  clusterTransport(feed: { readonly name: string }): PubSubTransport | undefined;
  nodeRegistry(snapshot: NodeSnapshot, onRoundTrip?: (ms: number) => void): NodeRegistry;
  /** Where presence keeps every node's members (this process's memory, or Redis) and, on Redis, the nodes' leases. */
  presence(): PresenceBackend;
  /** The users' grant records (live grants): in Redis, or in memory. Call once: the feature closes the store it gets. */
  grants(): GrantStore;
  /** The failed-login limiter's Redis connection; undefined in memory (the limiter then counts in memory). */
  loginLimiterStore(): RedisConnection | undefined;
  /** Closes every connection the backends opened; idempotent. */
  close(): Promise<void>;
}
