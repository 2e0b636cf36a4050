import { randomBytes } from 'node:crypto';
import type { Logger } from '../log';
import type { FeedHealth } from '../redis/feed-liveness';
import type { ClusterBus } from './broker';
import type { PubSubTransport } from './transport';

/**
 * Prefix of every Redis channel the bridge uses: a client's channel `chat:1` travels as `gatehouse:ch:chat:1`, so
 * no client channel name can reach another Redis channel (revocation announcements, say).
 */
export const CHANNEL_PREFIX = 'gatehouse:ch:';

/** The local side of the bridge: the broker (./broker.ts). */
export interface LocalChannels {
  isSubscribed(channel: string): boolean;
  subscriptions(): string[];
  deliverFromPeer(channel: string, data: unknown): void;
}

/** Counters of what crossed the bridge since start (for metrics). */
export interface BridgeStats {
  /** Publishes Redis took. */
  published: number;
  /** Batches sent to Redis (one command each on one Redis). */
  batches: number;
  /**
   * Publishes Redis never took (unreachable, or not answering with MAX_UNANSWERED_PUBLISH_BYTES already waiting):
   * they reached this node's subscribers only.
   */
  publishFailed: number;
  /** Messages from other nodes delivered here. */
  received: number;
  /** This node's own messages coming back from Redis, dropped. */
  echoes: number;
  /** Messages on our prefix that were not ours to read (not an envelope), dropped. */
  malformed: number;
}

/**
 * Bytes of publishes queued for Redis (the batch being filled) or sent and not yet answered, beyond which further
 * publishes are not sent to other nodes (counted as failed; local subscribers still get them). A Redis that is
 * connected but not answering keeps every publish, payload included, in the client's queue until it answers: at 1,000
 * publishes of 64 KiB a second a 10 s stall would hold 640 MiB.
 */
export const MAX_UNANSWERED_PUBLISH_BYTES = 16 * 1024 * 1024;

/**
 * Most messages in one batch. A batch is one script run in Redis, which serves nobody else meanwhile, and a batch that
 * fails is lost whole: 256 PUBLISHes take Redis well under a millisecond.
 */
export const MAX_BATCH_MESSAGES = 256;

/** Most characters of envelopes in one batch; a single larger message goes alone. */
export const MAX_BATCH_CHARS = 256 * 1024;

/** Logged at most this often (ms) at warn level; the rest of an outage's error flood goes to debug. */
const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * ChannelBridge carries channel messages between the nodes through Redis pub/sub.
 *
 * - Outgoing: each local publish is sent once as `{"s": senderId, "d": data}` on `CHANNEL_PREFIX + channel`. The
 *   publishes of one turn of the event loop are sent together as one batch (./transport.ts `publishBatch`), flushed
 *   by setImmediate or as soon as it holds MAX_BATCH_MESSAGES or MAX_BATCH_CHARS; batches leave in order on one
 *   connection, so one node's messages on a channel arrive in the order they were published. A batch does not change
 *   what travels: each message still reaches Redis on its own channel.
 * - Incoming: a message whose sender is this node is an echo and dropped; any other is delivered to local subscribers
 *   only (the broker does not hand it back), so each subscriber anywhere receives each publish once.
 * - Subscriptions: Redis is subscribed to exactly the channels that have local subscribers. Every change runs one
 *   reconcile loop per channel, which compares "has local subscribers" with "held in Redis" and sends SUBSCRIBE or
 *   UNSUBSCRIBE until they agree, so bursts of joins and leaves never interleave commands for one channel.
 * - Outages: when the subscriber connection drops nothing is held; when it is back every wanted channel is subscribed
 *   again. Meanwhile local delivery goes on and cross-node delivery is lost (at most once, never late, never twice).
 */
export class ChannelBridge implements ClusterBus {
  /** Identifies this process's messages: the node id plus a per-process random part, so a duplicated id stays safe. */
  readonly senderId: string;
  /**
   * How every envelope this process sends begins. Redis hands each publish back to its own sender too; recognising
   * that echo by its first bytes drops it without parsing the whole message.
   */
  private readonly echoPrefix: string;
  readonly stats: BridgeStats = { published: 0, batches: 0, publishFailed: 0, received: 0, echoes: 0, malformed: 0 };
  /** True once Redis was reached the first time. */
  everUp = false;
  private readonly held = new Set<string>();
  private readonly syncing = new Set<string>();
  private readonly waiters = new Map<string, Set<(held: boolean) => void>>();
  /** Bumped on every connection loss: a command answered after a loss says nothing about the new connection. */
  private epoch = 0;
  private wasDown = false;
  private lastErrorLog = 0;
  private closed = false;
  /** Publishes queued or sent and not answered yet, in characters of envelope (the batch being filled included). */
  private unansweredBytes = 0;
  /** The batch being filled: Redis channel, envelope, Redis channel, envelope, … */
  private batch: string[] = [];
  private batchChars = 0;
  private flushTimer?: NodeJS.Immediate;
  private readonly flushLater = (): void => {
    this.flushTimer = undefined;
    this.flush();
  };

  constructor(
    private readonly local: LocalChannels,
    private readonly transport: PubSubTransport,
    private readonly log: Logger,
    nodeId: string,
    private readonly prefix = CHANNEL_PREFIX,
    private readonly maxUnansweredBytes = MAX_UNANSWERED_PUBLISH_BYTES,
  ) {
    this.senderId = `${nodeId}/${randomBytes(4).toString('hex')}`;
    this.echoPrefix = `{"s":${JSON.stringify(this.senderId)},"d":`;
  }

  get connected(): boolean {
    return this.transport.up;
  }

  /** Whether the subscriber connection is heard (for /readyz and metrics). */
  get feed(): FeedHealth {
    return this.transport.feed;
  }

  /** Bytes of publishes queued for Redis or sent to it, and not answered yet. */
  get unansweredPublishBytes(): number {
    return this.unansweredBytes;
  }

  /** Channels whose Redis subscription currently holds (for tests and metrics). */
  heldChannels(): string[] {
    return [...this.held];
  }

  start(): void {
    this.transport.start({
      message: (name, text) => this.receive(name, text),
      up: () => this.onUp(),
      down: () => this.onDown(),
      error: (err) => this.noteError(err),
    });
  }

  publish(channel: string, json: string): void {
    if (this.closed) return;
    const text = `${this.echoPrefix}${json}}`;
    const bytes = text.length;
    if (this.unansweredBytes + bytes > this.maxUnansweredBytes) {
      this.stats.publishFailed++;
      this.noteError(new Error(`redis is not answering: ${this.unansweredBytes} bytes of publishes unanswered`));
      return;
    }
    this.unansweredBytes += bytes;
    if (this.batchChars > 0 && this.batchChars + bytes > MAX_BATCH_CHARS) this.flush();
    this.batch.push(this.prefix + channel, text);
    this.batchChars += bytes;
    if (this.batch.length >= 2 * MAX_BATCH_MESSAGES || this.batchChars >= MAX_BATCH_CHARS) this.flush();
    else this.flushTimer ??= setImmediate(this.flushLater);
  }

  /** Sends the batch being filled, if any. */
  private flush(): void {
    if (this.flushTimer) {
      clearImmediate(this.flushTimer);
      this.flushTimer = undefined;
    }
    const pairs = this.batch;
    if (pairs.length === 0) return;
    const chars = this.batchChars;
    this.batch = [];
    this.batchChars = 0;
    this.stats.batches++;
    this.transport.publishBatch(pairs).then(
      () => {
        this.unansweredBytes -= chars;
        this.stats.published += pairs.length / 2;
      },
      (err: Error) => {
        this.unansweredBytes -= chars;
        this.stats.publishFailed += pairs.length / 2;
        this.noteError(err);
      },
    );
  }

  sync(channel: string): void {
    // A loop already running for this channel re-reads the wanted state after each command, so it will see this too.
    if (this.closed || this.syncing.has(channel)) return;
    this.syncing.add(channel);
    void this.reconcile(channel);
  }

  whenHeld(channel: string, ms: number): Promise<boolean> {
    if (this.held.has(channel)) return Promise.resolve(true);
    // Known to be disconnected: answer now rather than stall the socket's inbound queue (a reconnecting client
    // re-sends every subscribe, one after another) for a subscription that cannot be made.
    if (this.closed || !this.transport.up) return Promise.resolve(false);
    return new Promise((resolve) => {
      let waiters = this.waiters.get(channel);
      if (!waiters) this.waiters.set(channel, (waiters = new Set()));
      const settle = (held: boolean) => {
        clearTimeout(timer);
        waiters.delete(settle);
        if (waiters.size === 0 && this.waiters.get(channel) === waiters) this.waiters.delete(channel);
        resolve(held);
      };
      const timer = setTimeout(() => settle(false), ms);
      waiters.add(settle);
      this.sync(channel);
    });
  }

  /** Stops the bridge: the batch being filled is sent, pending subscribe waits fail, both connections close. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.failWaiters();
    await this.transport.close();
  }

  private failWaiters(): void {
    for (const waiters of [...this.waiters.values()]) for (const settle of [...waiters]) settle(false);
  }

  private async reconcile(channel: string): Promise<void> {
    const name = this.prefix + channel;
    try {
      while (!this.closed && this.transport.up) {
        const wanted = this.local.isSubscribed(channel);
        if (wanted === this.held.has(channel)) break;
        const epoch = this.epoch;
        try {
          if (wanted) {
            await this.transport.subscribe(name);
            if (epoch === this.epoch) this.markHeld(channel);
          } else {
            this.held.delete(channel);
            await this.transport.unsubscribe(name);
          }
        } catch (err) {
          if (this.closed) break;
          this.noteError(err as Error);
          // Refused on a live connection (not a drop): stop here; the next join or reconnect tries again.
          if (epoch === this.epoch && this.transport.up) break;
        }
      }
    } finally {
      this.syncing.delete(channel);
    }
  }

  private markHeld(channel: string): void {
    this.held.add(channel);
    for (const settle of [...(this.waiters.get(channel) ?? [])]) settle(true);
  }

  private receive(name: string, text: string): void {
    if (!name.startsWith(this.prefix)) return;
    if (text.startsWith(this.echoPrefix)) {
      this.stats.echoes++;
      return;
    }
    let envelope: unknown;
    try {
      envelope = JSON.parse(text);
    } catch {
      this.stats.malformed++;
      return;
    }
    if (!isEnvelope(envelope)) {
      this.stats.malformed++;
      return;
    }
    if (envelope.s === this.senderId) {
      this.stats.echoes++;
      return;
    }
    this.stats.received++;
    this.local.deliverFromPeer(name.slice(this.prefix.length), envelope.d);
  }

  private onUp(): void {
    if (!this.everUp) this.log.info({ mode: this.transport.mode, senderId: this.senderId }, 'cluster bus connected');
    else if (this.wasDown) this.log.info({ mode: this.transport.mode }, 'Redis reachable again: cross-node delivery resumed');
    this.everUp = true;
    this.wasDown = false;
    for (const channel of this.local.subscriptions()) this.sync(channel);
  }

  private onDown(): void {
    this.epoch++;
    this.held.clear();
    this.failWaiters();
    this.wasDown = true;
    this.log.warn({ mode: this.transport.mode }, 'Redis unreachable: cross-node delivery paused, local delivery goes on');
  }

  private noteError(err: Error): void {
    if (this.closed) return; // commands cut short by our own close are no news
    const now = Date.now();
    if (now - this.lastErrorLog >= ERROR_LOG_INTERVAL_MS) {
      this.lastErrorLog = now;
      this.log.warn({ err }, 'cluster bus: Redis error');
    } else {
      this.log.debug({ err }, 'cluster bus: Redis error');
    }
  }
}

interface Envelope {
  readonly s: string;
  readonly d: unknown;
}

function isEnvelope(value: unknown): value is Envelope {
  return typeof value === 'object' && value !== null && typeof (value as Envelope).s === 'string' && 'd' in value;
}
