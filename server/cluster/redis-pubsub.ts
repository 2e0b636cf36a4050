import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { Cluster } from 'ioredis';
import type { RedisSeed } from '../redis/connection';
import type { Logger } from '../log';
import {
  createRedisConnection,
  isClusterTarget,
  redisTarget,
  SUBSCRIBER_SOCKET,
  type RedisConnection,
  type RedisConnectionOptions,
  type RedisSettings,
  type RedisTarget,
} from '../redis/connection';
import { FeedLiveness } from '../redis/feed-liveness';
import type { PubSubTransport, TransportEvents } from './transport';

/**
 * Options shared by both connections. Nothing waits for a lost connection: a command sent while disconnected fails
 * at once instead of queueing (a late publish is a surprise, a late subscribe is tracked by the bridge), and a command
 * in flight when the connection drops is never re-sent (Redis may have run it: a re-sent PUBLISH would deliver twice).
 */
const FAIL_FAST = { enableOfflineQueue: false, autoResendUnfulfilledCommands: false } as const satisfies Partial<RedisConnectionOptions>;

/**
 * For a cluster's publisher: the SPUBLISHes of one batch go out together in one write per shard (ioredis auto
 * pipelining), instead of one write system call per message. One Redis needs none: a batch is one command.
 */
const BATCHED = { enableAutoPipelining: true } as const satisfies Partial<RedisConnectionOptions>;

/**
 * A batch on one Redis: one EVAL whose script PUBLISHes each (name, text) pair of ARGV in order, so a turn's publishes
 * cost this node one command, one promise and one write instead of one of each per message, while every
 * message still goes to its own channel (a node only receives the channels it subscribes to). EVAL rather than
 * EVALSHA: a NOSCRIPT retry (after a Redis restart) could let the next batch run before the retried one.
 */
export const PUBLISH_EACH_SCRIPT = "for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end";

/** How often a transport sends its subscriber a heartbeat, ms (see ../redis/feed-liveness.ts). */
export const PUBSUB_HEARTBEAT_INTERVAL_MS = 500;

/** How each transport's own heartbeat channel begins: outside CHANNEL_PREFIX, so no client channel name reaches it. */
export const HEARTBEAT_CHANNEL_PREFIX = 'gatehouse:feed:';

/** Names the transport's feed in logs and in the readiness warning. */
export interface PubSubFeed {
  readonly name: string;
  readonly log?: Logger;
}

/**
 * Builds the transport the configuration asks for, or undefined for a single node without Redis. `publisher` (from
 * createPublisher, owned by the caller) is shared by the node's buses; without it the transport opens its own.
 */
export function createRedisPubSub(
  config: RedisSettings,
  nodeId: string,
  feed: PubSubFeed = { name: 'cluster bus' },
  publisher?: RedisConnection,
): PubSubTransport | undefined {
  const target = redisTarget(config);
  if (!target) return undefined;
  return isClusterTarget(target) ? new RedisClusterPubSub(target.seeds, nodeId, feed, publisher) : new RedisPubSub(target.url, nodeId, feed, publisher);
}

/**
 * The publisher connection of a node's pub/sub transports: fail-fast, never re-sending, and on a cluster
 * auto-pipelined (see FAIL_FAST and BATCHED). Several transports may share one: each publish is one command.
 */
export function createPublisher(target: RedisTarget, nodeId: string): RedisConnection {
  return isClusterTarget(target)
    ? createRedisConnection(target, { ...FAIL_FAST, ...BATCHED, connectionName: `gatehouse-pub-${nodeId}` })
    : createRedisConnection(target, { ...FAIL_FAST, maxRetriesPerRequest: 0, connectionName: `gatehouse-pub-${nodeId}` });
}

/**
 * Shared plumbing: a subscriber and a publisher (its own, or one shared by the node's buses), up/down tracking on
 * the subscriber, its liveness, a bounded close.
 *
 * Liveness: the subscriber also listens on a heartbeat channel of this process's own, which the publisher sends to
 * every PUBSUB_HEARTBEAT_INTERVAL_MS; a heartbeat Redis took and the subscriber never heard gets the subscriber
 * dropped and connected again, so the owner sees `down` and `up` as for any loss and subscribes again. Not on a
 * cluster: sharded subscriptions hold one connection per shard, a heartbeat proves only its own shard's, and dropping
 * the cluster's subscriber for one shard's late heartbeat (a node busy under load) reconnected every shard and lost
 * the messages in between on all of them.
 */
abstract class BasePubSub implements PubSubTransport {
  abstract readonly mode: PubSubTransport['mode'];
  readonly feed: FeedLiveness;
  protected sub?: RedisConnection;
  protected pub?: RedisConnection;
  /** The publisher this transport opened and closes: undefined when it was given a shared one. */
  private ownPub?: RedisConnection;
  /** HEARTBEAT_CHANNEL_PREFIX, the node id and a per-process random part. */
  private readonly heartbeatChannel: string;
  private isUp = false;
  private closed = false;
  /** Bumped by every subscriber loss: a heartbeat subscription confirmed after one is for a connection gone. */
  private epoch = 0;

  /** The publisher given by the owner of the node's connections (shared, not closed here); else one of its own. */
  constructor(
    nodeId: string,
    feed: PubSubFeed,
    protected readonly sharedPublisher?: RedisConnection,
  ) {
    this.heartbeatChannel = `${HEARTBEAT_CHANNEL_PREFIX}${nodeId}/${randomBytes(4).toString('hex')}`;
    this.feed = new FeedLiveness({
      name: feed.name,
      log: feed.log,
      send: (message) => this.publish(this.heartbeatChannel, message),
      reconnect: () => {
        if (!this.closed) this.sub?.disconnect(true);
      },
    });
  }

  get up(): boolean {
    return this.isUp && !this.closed;
  }

  get canPublish(): boolean {
    return !this.closed && this.pub?.status === 'ready';
  }

  /** Opens the subscriber, and the publisher too unless given a shared one. */
  protected abstract connect(): { sub: RedisConnection; pub?: RedisConnection };
  protected abstract messageEvent: 'message' | 'smessage';
  abstract subscribe(name: string): Promise<void>;
  abstract unsubscribe(name: string): Promise<void>;
  abstract publish(name: string, text: string): Promise<void>;
  abstract publishBatch(pairs: readonly string[]): Promise<void>;

  start(events: TransportEvents): void {
    const opened = this.connect();
    const sub = opened.sub;
    const pub = this.sharedPublisher ?? opened.pub!;
    this.sub = sub;
    this.pub = pub;
    this.ownPub = opened.pub;
    const heartbeat = this.heartbeatChannel;
    const feed = this.feed;
    // Sharded subscriptions spread over one connection per shard: there only heartbeats prove the heartbeat's shard.
    const oneConnection = this.messageEvent === 'message';
    sub.on(this.messageEvent, (name: string, text: string) => {
      if (name === heartbeat) return feed.heard(text);
      if (oneConnection) feed.flowing();
      events.message(name, text);
    });
    sub.on('ready', () => {
      if (this.closed) return;
      this.isUp = true;
      events.up();
      if (!oneConnection) return;
      const epoch = this.epoch;
      this.subscribe(heartbeat).then(
        () => {
          if (epoch === this.epoch && this.isUp) feed.up();
        },
        (err: Error) => events.error(err),
      );
    });
    // ioredis emits 'close' on every failed attempt too; report the loss once.
    sub.on('close', () => {
      if (!this.isUp) return;
      this.isUp = false;
      this.epoch += 1;
      feed.down();
      if (!this.closed) events.down();
    });
    if (oneConnection) feed.start(PUBSUB_HEARTBEAT_INTERVAL_MS);
    for (const conn of [sub, pub]) {
      // Without an 'error' listener an unreachable Redis would crash the process.
      conn.on('error', (err: Error) => events.error(err));
      if (conn instanceof Cluster) conn.on('node error', (err: Error) => events.error(err));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.isUp = false;
    this.feed.close();
    const conns = [this.sub, this.ownPub].filter((c): c is RedisConnection => c !== undefined);
    for (const conn of conns) conn.disconnect();
    const deadline = Date.now() + 1000;
    while (conns.some((c) => c.status !== 'end') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** Classic pub/sub on one Redis (GATEHOUSE_REDIS_URL). Resubscription after a reconnect is the bridge's job. */
class RedisPubSub extends BasePubSub {
  readonly mode = 'redis';
  protected messageEvent = 'message' as const;

  constructor(
    private readonly url: string,
    private readonly nodeId: string,
    feed: PubSubFeed,
    publisher?: RedisConnection,
  ) {
    super(nodeId, feed, publisher);
  }

  protected connect(): { sub: RedisConnection; pub?: RedisConnection } {
    const target = { url: this.url };
    return {
      // autoResubscribe off: the bridge re-subscribes on 'up' itself, so it knows when each subscription holds again.
      // maxRetriesPerRequest 0: a SUBSCRIBE in flight when the connection drops fails then. Without re-sending, ioredis
      // would otherwise leave it unsettled for 20 reconnects, and the bridge's loop for that channel waiting with it.
      sub: createRedisConnection(target, {
        ...FAIL_FAST,
        ...SUBSCRIBER_SOCKET,
        autoResubscribe: false,
        maxRetriesPerRequest: 0,
        connectionName: `gatehouse-sub-${this.nodeId}`,
      }),
      pub: this.sharedPublisher ? undefined : createPublisher(target, this.nodeId),
    };
  }

  async subscribe(name: string): Promise<void> {
    await (this.sub as Redis).subscribe(name);
  }

  async unsubscribe(name: string): Promise<void> {
    await (this.sub as Redis).unsubscribe(name);
  }

  async publish(name: string, text: string): Promise<void> {
    await (this.pub as Redis).publish(name, text);
  }

  async publishBatch(pairs: readonly string[]): Promise<void> {
    const pub = this.pub as Redis;
    // A lone message (an idle node, or one publish per turn as at a large fan-out) spares Redis the script call; a
    // PUBLISH and an EVAL on one connection still run in the order they were sent.
    if (pairs.length === 2) await pub.publish(pairs[0], pairs[1]);
    else await pub.eval(PUBLISH_EACH_SCRIPT, 0, ...pairs);
  }
}

/**
 * Sharded pub/sub on a Redis Cluster (GATEHOUSE_REDIS_CLUSTER, Redis 7+): each channel lives on the shard owning its
 * slot, so pub/sub traffic scales with the shards instead of being broadcast to every one. ioredis keeps one
 * subscriber connection per master (`shardedSubscribers`) and re-subscribes after a shard's connection comes back.
 */
class RedisClusterPubSub extends BasePubSub {
  readonly mode = 'redis-cluster';
  protected messageEvent = 'smessage' as const;

  constructor(
    private readonly seeds: readonly RedisSeed[],
    private readonly nodeId: string,
    feed: PubSubFeed,
    publisher?: RedisConnection,
  ) {
    super(nodeId, feed, publisher);
  }

  protected connect(): { sub: RedisConnection; pub?: RedisConnection } {
    const target = { seeds: this.seeds };
    return {
      sub: createRedisConnection(target, { ...FAIL_FAST, ...SUBSCRIBER_SOCKET, shardedSubscribers: true, connectionName: `gatehouse-sub-${this.nodeId}` }),
      pub: this.sharedPublisher ? undefined : createPublisher(target, this.nodeId),
    };
  }

  async subscribe(name: string): Promise<void> {
    await (this.sub as Cluster).ssubscribe(name);
  }

  async unsubscribe(name: string): Promise<void> {
    await (this.sub as Cluster).sunsubscribe(name);
  }

  async publish(name: string, text: string): Promise<void> {
    await (this.pub as Cluster).spublish(name, text);
  }

  /**
   * One SPUBLISH per message, auto-pipelined: a script may only touch one slot, and a batch's channels are spread
   * over all of them. Each shard connection keeps the order its commands were issued in.
   */
  async publishBatch(pairs: readonly string[]): Promise<void> {
    const cluster = this.pub as Cluster;
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < pairs.length; i += 2) sent.push(cluster.spublish(pairs[i], pairs[i + 1]));
    await Promise.all(sent);
  }
}
