import Redis from 'ioredis';
import type { RedisSeed } from './connection';
import { createRedisConnection, DEFAULT_RETRY_DELAY, isClusterTarget, SUBSCRIBER_SOCKET, type RedisTarget } from './connection';

/** What a subscription reports. */
export interface SubscriptionEvents {
  /** A message on one of the channels. */
  message(text: string, channel: string): void;
  /** The subscription holds (again): Redis acknowledged SUBSCRIBE. Messages sent before this moment may be lost. */
  up(): void;
  /** The subscription was lost; `up` follows once it holds again. */
  down(reason: string | undefined): void;
}

export interface SubscriptionOptions {
  readonly connectionName: string;
  /** How long a connection attempt may take, ms. */
  readonly connectTimeout: number;
  /** On a cluster: the nodes to try, in addition to the seeds (e.g. those a command connection has discovered). */
  readonly clusterNodes?: () => readonly RedisSeed[];
}

/** A classic SUBSCRIBE to some channels that keeps itself alive and says when it holds. */
export interface RedisSubscription {
  /** True while Redis holds the subscription. */
  readonly up: boolean;
  /** Drops the connection as dead (it went silent): `down` follows, then `up` once subscribed again elsewhere or anew. */
  reconnect(): void;
  close(): void;
}

/**
 * Subscribes to some channels with classic pub/sub, on one connection (so their messages keep the order Redis sent
 * them in), and keeps them subscribed, reporting every loss and every recovery,
 * so a caller can make up for the messages missed in between.
 *
 * - One Redis: one connection that reconnects by itself and subscribes again on each 'ready'.
 * - A Redis Cluster: classic PUBLISH is broadcast to every node of a cluster, so a plain connection to any one node
 *   hears every message. The subscription connects to one node, checks it sees the cluster as ok, subscribes, and
 *   when that connection ends moves on to the next known node. ioredis' own Cluster `subscribe` was not used: it
 *   moves to another node silently when its connection drops, so the messages lost meanwhile would go unnoticed.
 */
export function subscribeChannels(
  target: RedisTarget,
  channels: readonly string[],
  options: SubscriptionOptions,
  events: SubscriptionEvents,
): RedisSubscription {
  return isClusterTarget(target)
    ? new ClusterNodeSubscription(target.seeds, channels, options, events)
    : new SingleRedisSubscription(target.url, channels, options, events);
}

/**
 * What both kinds share: whether Redis holds the subscription, the reports of each change (`up` once per recovery,
 * `down` once per loss, nothing after close), the channel filter, and a close that happens once.
 */
abstract class KeptSubscription implements RedisSubscription {
  private isUp = false;
  protected closed = false;

  constructor(
    protected readonly channels: readonly string[],
    private readonly events: SubscriptionEvents,
  ) {}

  get up(): boolean {
    return this.isUp && !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.isUp = false;
    this.release();
  }

  /** Stops what keeps the subscription alive; called once, by `close`. */
  protected abstract release(): void;

  abstract reconnect(): void;

  /** Hands the channels' messages on a connection to the owner. */
  protected listen(connection: Redis): void {
    connection.on('message', (name: string, text: string) => {
      if (this.channels.includes(name)) this.events.message(text, name);
    });
  }

  /** The subscription holds: reports `up`, unless closed or already up. Returns whether it did. */
  protected held(): boolean {
    if (this.closed || this.isUp) return false;
    this.isUp = true;
    this.events.up();
    return true;
  }

  /** The subscription is gone: reports `down` once, unless closed. */
  protected lost(reason: string | undefined): void {
    if (!this.isUp) return;
    this.isUp = false;
    if (!this.closed) this.events.down(reason);
  }
}

class SingleRedisSubscription extends KeptSubscription {
  private readonly connection: Redis;
  private lastError: string | undefined;

  constructor(url: string, channels: readonly string[], options: SubscriptionOptions, events: SubscriptionEvents) {
    super(channels, events);
    this.connection = createRedisConnection(
      { url },
      {
        ...SUBSCRIBER_SOCKET,
        connectionName: options.connectionName,
        connectTimeout: options.connectTimeout,
        // Subscribing on every 'ready' ourselves, rather than ioredis' autoResubscribe, tells us when the feed is whole.
        autoResubscribe: false,
        maxRetriesPerRequest: null,
      },
    ) as Redis;
    this.connection.on('error', (err: Error) => {
      this.lastError = err.message;
    });
    this.connection.on('ready', () => void this.subscribe());
    this.connection.on('close', () => this.lost(this.lastError));
    this.listen(this.connection);
  }

  protected release(): void {
    this.connection.disconnect();
  }

  reconnect(): void {
    if (this.closed) return;
    this.lastError = 'the subscription went silent';
    // Its 'close' reports the loss; ioredis then connects again, and 'ready' subscribes again.
    this.connection.disconnect(true);
  }

  private async subscribe(): Promise<void> {
    try {
      await this.connection.subscribe(...this.channels);
    } catch (err) {
      // The connection dropped again; its next 'ready' tries again.
      this.lastError = (err as Error).message;
      return;
    }
    if (this.connection.status !== 'ready') return;
    if (this.held()) this.lastError = undefined;
  }
}

class ClusterNodeSubscription extends KeptSubscription {
  private connection?: Redis;
  private timer?: NodeJS.Timeout;
  /** Which candidate the next attempt takes; starts at random so many gateways spread over the nodes. */
  private next = Math.floor(Math.random() * 1024);
  /** Failed attempts in a row, for the back-off. */
  private failures = 0;

  constructor(
    private readonly seeds: readonly RedisSeed[],
    channels: readonly string[],
    private readonly options: SubscriptionOptions,
    events: SubscriptionEvents,
  ) {
    super(channels, events);
    this.attempt();
  }

  protected release(): void {
    clearTimeout(this.timer);
    this.connection?.disconnect();
  }

  reconnect(): void {
    // Its 'end' reports the loss and moves on to the next node.
    if (!this.closed) this.connection?.disconnect();
  }

  private candidates(): RedisSeed[] {
    const all = new Map<string, RedisSeed>();
    for (const node of [...(this.options.clusterNodes?.() ?? []), ...this.seeds]) {
      all.set(`${node.host}:${node.port}`, node);
    }
    return [...all.values()].sort((a, b) => (a.host === b.host ? a.port - b.port : a.host < b.host ? -1 : 1));
  }

  /** One connection's life: connect to the next node, check it, subscribe, hold until it ends; then try again. */
  private attempt(): void {
    if (this.closed) return;
    const nodes = this.candidates();
    const { host, port } = nodes[this.next++ % nodes.length];
    const connection = new Redis({
      host,
      port,
      ...SUBSCRIBER_SOCKET,
      connectionName: this.options.connectionName,
      connectTimeout: this.options.connectTimeout,
      lazyConnect: true,
      // This class moves to another node instead of reconnecting to this one.
      retryStrategy: () => null,
      autoResubscribe: false,
      maxRetriesPerRequest: 0,
    });
    this.connection = connection;
    let reason: string | undefined;
    connection.on('error', (err: Error) => {
      reason = err.message;
    });
    this.listen(connection);
    connection.once('end', () => {
      this.lost(reason ?? `connection to ${host}:${port} ended`);
      if (this.closed) return;
      this.failures += 1;
      this.timer = setTimeout(() => this.attempt(), DEFAULT_RETRY_DELAY(this.failures));
    });
    void this.hold(connection).catch((err: Error) => {
      reason = err.message;
      connection.disconnect();
    });
  }

  private async hold(connection: Redis): Promise<void> {
    await connection.connect();
    // A node cut off from the cluster bus would hear nothing: only subscribe where the cluster is whole.
    const info = await connection.cluster('INFO');
    if (!/^cluster_state:ok\s*$/m.test(info)) throw new Error('the node reports the cluster down');
    await connection.subscribe(...this.channels);
    if (connection !== this.connection || connection.status !== 'ready') return;
    if (this.held()) this.failures = 0;
  }
}
