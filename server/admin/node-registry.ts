import type { RedisConnection } from '../redis/connection';
import type { Clock } from '../clock';
import type { Logger } from '../log';

/** One live gateway node as the admin API lists it. */
export interface NodeInfo {
  readonly nodeId: string;
  readonly connections: number;
  readonly authenticated: number;
  /** Unix ms. */
  readonly startedAt: number;
  /** Unix ms of its last heartbeat. */
  readonly lastSeen: number;
}

/** This node's own figures, read at each heartbeat. */
export type NodeSnapshot = () => Omit<NodeInfo, 'lastSeen'>;

/**
 * NodeRegistry knows the live gateway nodes. Two implementations: one node alone (no Redis), and Redis, where each
 * node writes a heartbeat and a node whose heartbeat lapses drops out of the list.
 */
export interface NodeRegistry {
  list(): Promise<NodeInfo[]>;
  /** True once this node is on the list others read (its first heartbeat was written). */
  readonly listed: boolean;
  close(): Promise<void>;
}

/** A single node without Redis: the list is this node. */
export class LocalNodeRegistry implements NodeRegistry {
  readonly listed = true;

  constructor(private readonly snapshot: NodeSnapshot, private readonly clock: Clock) {}

  async list(): Promise<NodeInfo[]> {
    return [{ ...this.snapshot(), lastSeen: this.clock.now() }];
  }

  async close(): Promise<void> {}
}

/** How often a node writes its heartbeat, ms. */
export const HEARTBEAT_MS = 1000;
/** A node is live while its last heartbeat is younger than this, ms. */
export const NODE_TTL_MS = 3500;
/** Entries of nodes dead this long are deleted, ms. */
const FORGET_MS = 60_000;

// One hash tag, so the registry lives in one slot of a Redis Cluster.
const SEEN_KEY = '{gatehouse}:nodes:seen';
const INFO_KEY = '{gatehouse}:nodes:info';

/**
 * Heartbeats in Redis: a sorted set of node id → last heartbeat (ms) and a hash of node id → figures. Listing reads
 * the nodes seen within NODE_TTL_MS. The heartbeat's round trip is reported for the metrics.
 */
export class RedisNodeRegistry implements NodeRegistry {
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  listed = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly snapshot: NodeSnapshot,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly onRoundTrip?: (ms: number) => void,
  ) {
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
    // The first beat is written as soon as the connection is up, not up to HEARTBEAT_MS later: until it is, the node
    // is missing from /admin/nodes, so it reports itself not ready (see `listed`).
    redis.on('ready', () => void this.beat());
    void this.beat();
  }

  private async beat(): Promise<void> {
    if (this.closed) return;
    const now = this.clock.now();
    const info = { ...this.snapshot(), lastSeen: now };
    const started = performance.now();
    try {
      await this.redis.multi()
        .zadd(SEEN_KEY, now, info.nodeId)
        .hset(INFO_KEY, info.nodeId, JSON.stringify(info))
        .exec();
      this.listed = true;
      this.onRoundTrip?.(performance.now() - started);
    } catch (err) {
      this.log.debug({ reason: (err as Error).message }, 'node heartbeat failed');
    }
  }

  async list(): Promise<NodeInfo[]> {
    const now = this.clock.now();
    const ids = await this.redis.zrangebyscore(SEEN_KEY, now - NODE_TTL_MS, '+inf');
    const stale = await this.redis.zrangebyscore(SEEN_KEY, '-inf', now - FORGET_MS);
    if (stale.length > 0) {
      await this.redis.multi().zrem(SEEN_KEY, ...stale).hdel(INFO_KEY, ...stale).exec();
    }
    if (ids.length === 0) return [];
    const values = await this.redis.hmget(INFO_KEY, ...ids);
    // Another writer's junk in our key is skipped rather than failing the listing.
    const nodes = values.flatMap((value) => {
      const info = value === null ? undefined : parseNodeInfo(value);
      return info ? [info] : [];
    });
    return nodes.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }

  /** Stops the heartbeat and takes this node off the list at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const { nodeId } = this.snapshot();
    await this.redis.multi().zrem(SEEN_KEY, nodeId).hdel(INFO_KEY, nodeId).exec().catch(() => undefined);
  }
}

/** A heartbeat's figures as stored, or undefined when the text is not a NodeInfo. */
function parseNodeInfo(text: string): NodeInfo | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const v = value as Partial<Record<keyof NodeInfo, unknown>> | null;
  if (typeof v !== 'object' || v === null || typeof v.nodeId !== 'string') return undefined;
  const figures = [v.connections, v.authenticated, v.startedAt, v.lastSeen];
  if (!figures.every((n) => typeof n === 'number' && Number.isFinite(n))) return undefined;
  const { nodeId, connections, authenticated, startedAt, lastSeen } = v as NodeInfo;
  return { nodeId, connections, authenticated, startedAt, lastSeen };
}
