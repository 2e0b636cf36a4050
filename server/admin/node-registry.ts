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
  /**
   * How many live processes heartbeat under this node id: 1, or more when GATEHOUSE_NODE_ID is shared (an operator
   * error: the figures above are then one process's, whichever wrote last).
   */
  readonly processes: number;
}

/** This node's own figures, read at each heartbeat. */
export type NodeSnapshot = () => Omit<NodeInfo, 'lastSeen' | 'processes'>;

/**
 * NodeRegistry knows the live gateway nodes. Two implementations: memory (one node alone, or the nodes of one process
 * sharing a NodeBoard), and Redis, where each node writes a heartbeat and a node whose heartbeat lapses drops out of
 * the list. One contract suite runs over both.
 */
export interface NodeRegistry {
  list(): Promise<NodeInfo[]>;
  /** True once this node is on the list others read (its first heartbeat was written). */
  readonly listed: boolean;
  /**
   * Why this node's registration is suspect, or undefined: other live processes heartbeat under its node id
   * (reported on /readyz and logged; the node keeps serving, since every process tells its own messages apart by
   * its instance id).
   */
  warning(): string | undefined;
  close(): Promise<void>;
}

/** The nodes of one process that list each other (a node alone has a board of its own). */
export class NodeBoard {
  /** @internal The registries on the board, in the order they joined. */
  readonly members = new Set<MemoryNodeRegistry>();
}

/**
 * The registry in memory: the live nodes are the registries on its board, each listed with its figures of the moment
 * (no heartbeat to lapse: a node leaves the board when it closes).
 */
export class MemoryNodeRegistry implements NodeRegistry {
  readonly listed = true;

  constructor(
    private readonly board: NodeBoard,
    readonly snapshot: NodeSnapshot,
    private readonly clock: Clock,
  ) {
    board.members.add(this);
  }

  list(): Promise<NodeInfo[]> {
    const now = this.clock.now();
    const byNode = new Map<string, NodeInfo>();
    const processes = new Map<string, number>();
    // As in Redis, a node id shared by several processes is listed once, with the figures of the last one to write.
    for (const member of this.board.members) {
      const info = member.snapshot();
      processes.set(info.nodeId, (processes.get(info.nodeId) ?? 0) + 1);
      byNode.set(info.nodeId, { ...info, lastSeen: now, processes: 1 });
    }
    return Promise.resolve(
      [...byNode.values()].map((info) => ({ ...info, processes: processes.get(info.nodeId) ?? 1 })).sort((a, b) => a.nodeId.localeCompare(b.nodeId)),
    );
  }

  warning(): string | undefined {
    const { nodeId } = this.snapshot();
    let sharing = 0;
    for (const member of this.board.members) if (member.snapshot().nodeId === nodeId) sharing += 1;
    return sharing > 1 ? sharedNodeIdWarning(nodeId, sharing) : undefined;
  }

  close(): Promise<void> {
    this.board.members.delete(this);
    return Promise.resolve();
  }
}

/** The readiness warning of a node id several live processes use. */
function sharedNodeIdWarning(nodeId: string, processes: number): string {
  return `GATEHOUSE_NODE_ID ${JSON.stringify(nodeId)} is used by ${processes} live processes; give each node its own`;
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
/** Sorted set of `nodeId instanceId` → last heartbeat (ms): tells two processes sharing one node id apart. */
const PROCESSES_KEY = '{gatehouse}:nodes:processes';

/**
 * Heartbeats in Redis: a sorted set of node id → last heartbeat (ms), a hash of node id → figures, and a sorted set
 * of processes (node id and instance id) → last heartbeat. Listing reads the nodes seen within NODE_TTL_MS. Each
 * heartbeat also reads how many live processes share this node's id: more than one is logged as an error at once
 * and reported by `warning()` until it ends. The heartbeat's round trip is reported for the metrics.
 */
export class RedisNodeRegistry implements NodeRegistry {
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  listed = false;
  /** Live processes under this node's id at the last heartbeat (1 when all is well). */
  private sharing = 1;
  /**
   * When this process began: a process under this id whose last beat is older is not counted as sharing it. It is a
   * predecessor killed without a goodbye (a worker the supervisor restarted), not a second live process; a live one
   * beats again within HEARTBEAT_MS and is counted then.
   */
  private readonly since: number;

  constructor(
    private readonly redis: RedisConnection,
    private readonly snapshot: NodeSnapshot,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** This process's own name (`nodeId/suffix`), unique even when node ids are not. */
    private readonly instanceId: string,
    private readonly onRoundTrip?: (ms: number) => void,
    /**
     * How long one command may wait for Redis, ms; default: unbounded. Bounded here, not by the connection's
     * commandTimeout: the connection is the node's shared command connection, whose other user (the revocation store)
     * bounds its own waits and counts its unanswered commands.
     */
    private readonly timeoutMs?: number,
  ) {
    this.since = clock.now();
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
    let live: string[];
    try {
      const results = await this.bounded(
        this.redis
          .multi()
          .zadd(SEEN_KEY, now, info.nodeId)
          .hset(INFO_KEY, info.nodeId, JSON.stringify(info))
          .zadd(PROCESSES_KEY, now, processMember(info.nodeId, this.instanceId))
          .zremrangebyscore(PROCESSES_KEY, '-inf', now - FORGET_MS)
          .zrangebyscore(PROCESSES_KEY, Math.max(now - NODE_TTL_MS, this.since), '+inf')
          .exec(),
      );
      this.listed = true;
      this.onRoundTrip?.(performance.now() - started);
      live = (results?.[4]?.[1] as string[] | undefined) ?? [];
    } catch (err) {
      this.log.debug({ reason: (err as Error).message }, 'node heartbeat failed');
      return;
    }
    if (this.closed) return;
    this.noteSharing(processesOf(live).get(info.nodeId) ?? 1);
  }

  warning(): string | undefined {
    return this.sharing > 1 ? sharedNodeIdWarning(this.snapshot().nodeId, this.sharing) : undefined;
  }

  /** Logs the start and the end of a shared node id, once each. */
  private noteSharing(count: number): void {
    const before = this.sharing;
    this.sharing = count;
    // No nodeId field: every line of the node's logger carries it already, and a second one repeats the key.
    if (count > 1 && before <= 1) {
      this.log.error(
        { processes: count },
        "GATEHOUSE_NODE_ID is shared by several live processes: give every node its own id (its metrics, admin figures and log lines are mixed up with the others')",
      );
    } else if (count <= 1 && before > 1) {
      this.log.info('GATEHOUSE_NODE_ID is no longer shared');
    }
  }

  async list(): Promise<NodeInfo[]> {
    const now = this.clock.now();
    const ids = await this.bounded(this.redis.zrangebyscore(SEEN_KEY, now - NODE_TTL_MS, '+inf'));
    const stale = await this.bounded(this.redis.zrangebyscore(SEEN_KEY, '-inf', now - FORGET_MS));
    if (stale.length > 0) {
      await this.bounded(
        this.redis
          .multi()
          .zrem(SEEN_KEY, ...stale)
          .hdel(INFO_KEY, ...stale)
          .exec(),
      );
    }
    if (ids.length === 0) return [];
    const values = await this.bounded(this.redis.hmget(INFO_KEY, ...ids));
    const processes = processesOf(await this.bounded(this.redis.zrangebyscore(PROCESSES_KEY, now - NODE_TTL_MS, '+inf')));
    // Another writer's junk in our key is skipped rather than failing the listing.
    const nodes = values.flatMap((value) => {
      const info = value === null ? undefined : parseNodeInfo(value);
      return info ? [{ ...info, processes: Math.max(1, processes.get(info.nodeId) ?? 1) }] : [];
    });
    return nodes.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }

  /** Stops the heartbeat and takes this node off the list at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const { nodeId } = this.snapshot();
    // The node id's entries stay while another process still heartbeats under it (its next beat would restore them).
    const multi = this.redis.multi().zrem(PROCESSES_KEY, processMember(nodeId, this.instanceId));
    if (this.sharing <= 1) multi.zrem(SEEN_KEY, nodeId).hdel(INFO_KEY, nodeId);
    await this.bounded(multi.exec()).catch(() => undefined);
  }

  /** `command`, failing after `timeoutMs` as a connection's commandTimeout would (the command stays sent). */
  private bounded<T>(command: Promise<T>): Promise<T> {
    const timeoutMs = this.timeoutMs;
    if (timeoutMs === undefined) return command;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis did not answer within ${timeoutMs}ms`)), timeoutMs);
    });
    // The loser of the race must not surface as an unhandled rejection later.
    command.catch(() => undefined);
    return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
  }
}

/** A process's member in PROCESSES_KEY: node id, a space (never in a node id), instance id. */
function processMember(nodeId: string, instanceId: string): string {
  return `${nodeId} ${instanceId}`;
}

/** How many live processes each node id has, from PROCESSES_KEY's members. */
function processesOf(members: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const member of members) {
    const space = member.indexOf(' ');
    if (space <= 0) continue;
    const nodeId = member.slice(0, space);
    counts.set(nodeId, (counts.get(nodeId) ?? 0) + 1);
  }
  return counts;
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
  return { nodeId, connections, authenticated, startedAt, lastSeen, processes: 1 };
}
