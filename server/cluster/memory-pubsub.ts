import type { FeedHealth } from '../redis/feed-liveness';
import type { PubSubTransport, TransportEvents } from './transport';

/** An in-process feed is never silent. */
const ALWAYS_HEARD: FeedHealth = { silences: 0, warning: () => undefined };

/**
 * MemoryPubSubHub is the pub/sub of one process: the nodes (Gateways) given one hub reach each other's subscribers
 * as they would through Redis. Each gets its own transport from `transport()`.
 */
export class MemoryPubSubHub {
  private readonly subscribers = new Map<string, Set<MemoryPubSub>>();

  transport(): MemoryPubSub {
    return new MemoryPubSub(this);
  }

  /** @internal */
  add(name: string, transport: MemoryPubSub): void {
    let set = this.subscribers.get(name);
    if (!set) this.subscribers.set(name, (set = new Set()));
    set.add(transport);
  }

  /** @internal */
  remove(name: string, transport: MemoryPubSub): void {
    const set = this.subscribers.get(name);
    if (!set) return;
    set.delete(transport);
    if (set.size === 0) this.subscribers.delete(name);
  }

  /**
   * Delivers `text` to every transport subscribed to `name` now (as Redis picks the receivers when it runs PUBLISH),
   * after the current call stack: a publisher never re-enters its own subscriber, and the order of publishes is kept.
   */
  /** @internal */
  deliver(name: string, text: string): void {
    const receivers = this.subscribers.get(name);
    if (!receivers) return;
    for (const receiver of [...receivers]) setImmediate(() => receiver.receive(name, text));
  }
}

/**
 * MemoryPubSub is one node's transport on a MemoryPubSubHub: the same contract as the Redis transports (a node hears
 * its own publishes; subscribe resolves once the subscription holds), without a connection that could be lost, so it
 * comes up once after `start` and goes down only when closed.
 */
export class MemoryPubSub implements PubSubTransport {
  readonly mode = 'memory';
  readonly feed = ALWAYS_HEARD;
  private readonly channels = new Set<string>();
  private events?: TransportEvents;
  private started = false;
  private closed = false;

  constructor(private readonly hub: MemoryPubSubHub) {}

  get up(): boolean {
    return this.started && !this.closed;
  }

  get canPublish(): boolean {
    return this.up;
  }

  start(events: TransportEvents): void {
    this.events = events;
    // As a connection would: 'up' comes after start returns, so the owner has finished setting up.
    setImmediate(() => {
      if (this.closed) return;
      this.started = true;
      events.up();
    });
  }

  subscribe(name: string): Promise<void> {
    const down = this.notUp();
    if (down) return Promise.reject(down);
    this.channels.add(name);
    this.hub.add(name, this);
    return Promise.resolve();
  }

  unsubscribe(name: string): Promise<void> {
    const down = this.notUp();
    if (down) return Promise.reject(down);
    this.channels.delete(name);
    this.hub.remove(name, this);
    return Promise.resolve();
  }

  publish(name: string, text: string): Promise<void> {
    const down = this.notUp();
    if (down) return Promise.reject(down);
    this.hub.deliver(name, text);
    return Promise.resolve();
  }

  publishBatch(pairs: readonly string[]): Promise<void> {
    const down = this.notUp();
    if (down) return Promise.reject(down);
    for (let i = 0; i + 1 < pairs.length; i += 2) this.hub.deliver(pairs[i], pairs[i + 1]);
    return Promise.resolve();
  }

  /** @internal A message the hub brings; dropped once this transport unsubscribed from the channel or closed. */
  receive(name: string, text: string): void {
    if (this.closed || !this.channels.has(name)) return;
    this.events?.message(name, text);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const name of this.channels) this.hub.remove(name, this);
    this.channels.clear();
    return Promise.resolve();
  }

  /** As a fail-fast Redis connection does, a command before 'up' or after close fails at once: why, or undefined. */
  private notUp(): Error | undefined {
    if (!this.up) return new Error(this.closed ? 'the transport is closed' : 'the transport is not up yet');
    return undefined;
  }
}
