import { RedisNodeRegistry, type NodeRegistry, type NodeSnapshot } from '../admin/node-registry';
import { createPublisher, createRedisPubSub } from '../cluster/redis-pubsub';
import type { PubSubTransport } from '../cluster/transport';
import { RedisGrantStore } from '../grants/redis-store';
import type { GrantStore } from '../grants/store';
import { createRedisConnection, isClusterTarget, type RedisConnection, type RedisTarget } from '../redis/connection';
import type { RevocationBackend } from '../revocation/install';
import type { PresenceBackend } from '../presence/presence-index';
import { RedisPresenceIndex } from '../presence/redis-index';
import { RedisPresenceNodeBoard } from '../presence/redis-node-board';
import { MirroredRevocationStore } from '../revocation/mirrored-store';
import { RedisRevocationStore, revocationCommandOptions } from '../revocation/redis-store';
import type { BackendOwner, Backends, BackendSettings } from './backends';

/** How long close() waits for the connections to end, ms. */
const CLOSE_WAIT_MS = 1000;

/**
 * Everything on one Redis or a Redis Cluster, on as few connections as the protocols allow. Per node (names as
 * CLIENT LIST shows them; README "Running several nodes" counts them):
 *
 * - `gatehouse:<instance>`, the command connection: the revocation store's commands, the node registry's
 *   heartbeats and the grant records. Fail-fast (no offline queue, no retries), no commandTimeout: each user bounds its own waits.
 * - `gatehouse:<instance>:sub`, the revocation feed's subscriber (the store opens and closes it: it moves between
 *   cluster nodes and is dropped when its heartbeats go unheard, which no other subscription may share).
 * - `gatehouse-pub-<node>`, the publisher of the cluster bus and the admin bus. Kept off the command connection:
 *   it carries the channel fan-out, and a revocation look-up or a node heartbeat must not queue behind a large batch
 *   (the store counts and bounds its own unanswered commands only); on a cluster it auto-pipelines and never
 *   re-sends a command in flight, where the command connection does neither.
 * - `gatehouse-sub-<node>`, one per bus (the cluster bus, and the admin bus when an admin key is set): each bus's
 *   subscriber is proven live by its own heartbeats and dropped on its own, and the two are reported apart
 *   (`cluster_bus`, `admin_bus`). On a cluster each is a sharded subscriber, one connection per master.
 * - `gatehouse-login-limiter`, with login only. Kept apart because it behaves otherwise: on one Redis it queues a
 *   login's commands while reconnecting (bounded by GATEHOUSE_REDIS_TIMEOUT) and retries once, where the command
 *   connection fails at once; and /readyz reads its own state.
 */
export class RedisBackends implements Backends {
  readonly kind: 'redis' | 'redis-cluster';
  private commands?: RedisConnection;
  private publisher?: RedisConnection;
  private limiter?: RedisConnection;
  private closed = false;

  constructor(
    private readonly target: RedisTarget,
    private readonly config: BackendSettings,
    private readonly owner: BackendOwner,
  ) {
    this.kind = isClusterTarget(target) ? 'redis-cluster' : 'redis';
  }

  revocation(): RevocationBackend {
    const { config, owner } = this;
    const { log, clock } = owner;
    const policy = { maxTokenLifetimeMs: config.maxTokenLifetimeMs, clockToleranceMs: config.clockToleranceMs, tokenTtlMs: config.tokenTtlMs };
    const redis = new RedisRevocationStore({
      target: this.target,
      connection: this.commandConnection(),
      timeoutMs: config.redisTimeoutMs,
      policy,
      origin: owner.instanceId,
      subscribe: true,
      log,
      clock,
    });
    // Checks are answered by this node's mirror of Redis (no round trip) whenever it is known to be current.
    const store = new MirroredRevocationStore({ redis, clockToleranceMs: config.clockToleranceMs, clock, log });
    return { store, feed: redis.feed, durability: () => redis.durability() };
  }

  clusterTransport(feed: { readonly name: string }): PubSubTransport | undefined {
    const { nodeId, log } = this.owner;
    return createRedisPubSub(this.config, nodeId, { name: feed.name, log }, this.publisherConnection());
  }

  nodeRegistry(snapshot: NodeSnapshot, onRoundTrip?: (ms: number) => void): NodeRegistry {
    const { clock, log, instanceId } = this.owner;
    return new RedisNodeRegistry(this.commandConnection(), snapshot, clock, log, instanceId, onRoundTrip, this.config.redisTimeoutMs);
  }

  /** On the command connection: each presence change is one script, each lease renewal one SET. */
  presence(): PresenceBackend {
    const connection = this.commandConnection();
    return { index: new RedisPresenceIndex(connection), board: new RedisPresenceNodeBoard(connection) };
  }

  /** Grant records on the command connection, each call bounded by GATEHOUSE_REDIS_TIMEOUT. */
  grants(): GrantStore {
    return new RedisGrantStore(this.commandConnection(), this.owner.clock, this.config.redisTimeoutMs);
  }

  /**
   * Commands wait at most GATEHOUSE_REDIS_TIMEOUT, then fail, and the login fails closed; ioredis keeps reconnecting
   * by itself. One Redis queues commands while it reconnects (bounded by the timeout); a cluster's queue is not
   * bounded by it, so there a login fails at once while the cluster is away.
   */
  loginLimiterStore(): RedisConnection {
    this.limiter ??= this.open('login limiter', {
      connectionName: 'gatehouse-login-limiter',
      commandTimeout: this.config.redisTimeoutMs,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: !isClusterTarget(this.target),
    });
    return this.limiter;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const conns = [this.limiter, this.publisher, this.commands].filter((c): c is RedisConnection => c !== undefined);
    for (const conn of conns) conn.disconnect();
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while (conns.some((c) => c.status !== 'end') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  private commandConnection(): RedisConnection {
    this.commands ??= this.open('command', revocationCommandOptions(this.owner.instanceId, this.config.redisTimeoutMs));
    return this.commands;
  }

  private publisherConnection(): RedisConnection {
    if (!this.publisher) {
      this.publisher = createPublisher(this.target, this.owner.nodeId);
      this.watch(this.publisher, 'publisher');
    }
    return this.publisher;
  }

  private open(what: string, options: Parameters<typeof createRedisConnection>[1]): RedisConnection {
    const connection = createRedisConnection(this.target, options);
    this.watch(connection, what);
    return connection;
  }

  /** Without an 'error' listener an unreachable Redis would crash the process; each user reports outages its way. */
  private watch(connection: RedisConnection, what: string): void {
    connection.on('error', (err: Error) => this.owner.log.debug({ reason: err.message }, `${what} Redis error`));
  }
}
