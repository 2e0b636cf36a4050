import type { FeedHealth } from '../redis/feed-liveness';

/** What a pub/sub transport reports to its owner. */
export interface TransportEvents {
  /** A message arrived on a subscribed (full, prefixed) channel name. */
  message(name: string, text: string): void;
  /** The subscriber connection is (again) usable; it holds no subscriptions the owner has not re-made since. */
  up(): void;
  /** The subscriber connection is lost; every subscription is gone until `up`. */
  down(): void;
  /** A connection error (ioredis reports one per failed reconnect attempt, so expect floods). */
  error(err: Error): void;
}

/**
 * PubSubTransport is the backend side of the cross-node bus, one per node and bus: a dedicated subscriber and a
 * publisher. Three implementations: classic pub/sub on one Redis and sharded pub/sub (SSUBSCRIBE/SPUBLISH) on a Redis
 * Cluster (./redis-pubsub.ts; commands fail fast while disconnected, nothing is queued for later), and a MemoryPubSub
 * joining the nodes of one process (./memory-pubsub.ts). One contract suite runs over all three.
 */
export interface PubSubTransport {
  readonly mode: 'memory' | 'redis' | 'redis-cluster';
  /** True while subscribe/unsubscribe can be sent. */
  readonly up: boolean;
  /** True while a publish would be sent now; false while the publisher connects (a publish then fails at once). */
  readonly canPublish: boolean;
  /** Whether the subscriber is heard: its silences and the readiness warning while one lasts. */
  readonly feed: FeedHealth;
  start(events: TransportEvents): void;
  /** Resolves once Redis has confirmed the subscription. */
  subscribe(name: string): Promise<void>;
  unsubscribe(name: string): Promise<void>;
  publish(name: string, text: string): Promise<void>;
  /**
   * Publishes a batch, `pairs` being name, text, name, text, …: each text on its name, in order, after everything
   * published before. Settles once Redis has taken the whole batch; rejects if any of it may not have been sent.
   */
  publishBatch(pairs: readonly string[]): Promise<void>;
  /** Closes its subscriber (and its publisher, unless a shared one it was given); idempotent. */
  close(): Promise<void>;
}
