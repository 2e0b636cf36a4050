import { systemClock, type Clock } from '../clock';
import type { Logger } from '../log';

/**
 * How long a heartbeat Redis took may go unheard on its feed before the feed's subscriber connection is dropped and
 * made again, ms. Longer than the mirror's own limit (it stops answering from memory after 1 s) so a moment's lag
 * costs a round trip, not a reconnect, a reload and a re-check of every live socket.
 */
export const FEED_SILENCE_LIMIT_MS = 2000;

/** A heartbeat Redis has not taken this long is given up, and the next one sent, ms. */
const HEARTBEAT_GIVE_UP_MS = 2000;

/** What the operator sees of a feed: the warning /readyz lists while it lasts, and how many times it fell silent. */
export interface FeedHealth {
  /** Times the feed was found silent and its subscriber connection dropped, since start. */
  readonly silences: number;
  /** The readiness warning while the feed is silent, else undefined. */
  warning(): string | undefined;
}

export interface FeedLivenessOptions {
  /** Names the feed in logs and in the readiness warning. */
  readonly name: string;
  /** Publishes `message` on a channel only this feed's subscriber hears; settles once Redis took it (or not). */
  readonly send: (message: string) => Promise<unknown>;
  /** Drops the subscriber connection, so that it connects and subscribes again. */
  readonly reconnect: () => void;
  /** See FEED_SILENCE_LIMIT_MS. */
  readonly silenceLimitMs?: number;
  readonly clock?: Clock;
  readonly log?: Logger;
}

interface Pending {
  readonly seq: number;
  readonly sentAt: number;
  /** `flowed` when the silence was last measured: more since then means the connection is delivering, only behind. */
  flowedAtCheck?: number;
  /**
   * When Redis acknowledged the publish, having written the message to every subscriber it knows; undefined until.
   * Silence counts from here, not from sending: a Redis that answers late also delivers late.
   */
  answeredAt?: number;
}

/**
 * FeedLiveness proves a Redis subscription alive by hearing its own heartbeats on it, and makes it again when it is
 * not. A subscriber connection can go silent without dropping (a half-dead NAT entry, a stalled load balancer, a
 * one-way network fault): no error, no close, and Redis still counts it as subscribed. So `beat` publishes a numbered
 * heartbeat where only this subscriber hears it; pub/sub keeps Redis' order, so hearing it means every message
 * published before it was heard (`heardThrough`). A heartbeat Redis acknowledged and the subscriber has not heard
 * within the silence limit of that acknowledgement condemns the connection: it is dropped, the owner's usual loss and recovery follow
 * (resubscription, and whatever catch-up the owner does after a loss). A heartbeat Redis did not acknowledge says
 * nothing about the subscriber (Redis or the publishing connection is the one stalled) and only delays the next.
 * While the feed is silent, until a heartbeat is heard again, `warning` says so; a reconnect that does not complete
 * within the limit (its handshake stalled on the same path) is tried again.
 *
 * The owner reports `up` (the subscription holds, heartbeat channel included), `down` and every heartbeat `heard`,
 * and calls `beat` periodically (`start`). Nothing here runs per message but `heard` on the heartbeat channel.
 */
export class FeedLiveness implements FeedHealth {
  silences = 0;
  private readonly clock: Clock;
  private readonly limitMs: number;
  private isUp = false;
  private seq = 0;
  private pending?: Pending;
  private fedThrough = Number.NEGATIVE_INFINITY;
  /** Messages other than heartbeats heard on the heartbeat's own connection (see `flowing`). */
  private flowed = 0;
  /** Since when the feed is silent (Redis took the heartbeat that never came back); undefined while it is heard. */
  private silentSince?: number;
  private lastReconnect = Number.NEGATIVE_INFINITY;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: FeedLivenessOptions) {
    this.clock = options.clock ?? systemClock;
    this.limitMs = options.silenceLimitMs ?? FEED_SILENCE_LIMIT_MS;
  }

  /** Beats every `intervalMs` until closed. */
  start(intervalMs: number): void {
    if (this.closed || this.timer) return;
    this.timer = setInterval(() => this.beat(), intervalMs);
    this.timer.unref();
  }

  /**
   * A moment (this process's clock, ms) by which every message Redis had published on the feed was heard: when the
   * latest heartbeat heard since the subscription last held was sent; -Infinity when none was.
   */
  get heardThrough(): number {
    return this.isUp ? this.fedThrough : Number.NEGATIVE_INFINITY;
  }

  /** Whether the feed is known silent now (found so and not heard since). */
  get silent(): boolean {
    return this.silentSince !== undefined;
  }

  warning(): string | undefined {
    if (this.silentSince === undefined) return undefined;
    const seconds = ((this.clock.now() - this.silentSince) / 1000).toFixed(1);
    return `${this.options.name}: Redis took its heartbeat but nothing came back for ${seconds}s; reconnecting its subscriber`;
  }

  /** The subscription holds (again), heartbeat channel included. */
  up(): void {
    this.isUp = true;
    this.pending = undefined;
    this.fedThrough = Number.NEGATIVE_INFINITY;
  }

  /** The subscription was lost. */
  down(): void {
    this.isUp = false;
    this.pending = undefined;
    this.fedThrough = Number.NEGATIVE_INFINITY;
  }

  /** A message on the heartbeat channel. */
  heard(message: string): void {
    const pending = this.pending;
    if (!pending || Number(message) !== pending.seq) return;
    this.pending = undefined;
    if (pending.sentAt > this.fedThrough) this.fedThrough = pending.sentAt;
    if (this.silentSince !== undefined) {
      this.options.log?.info({ feed: this.options.name, silentMs: this.clock.now() - this.silentSince }, 'Redis feed heard again');
      this.silentSince = undefined;
    }
  }

  /**
   * A message other than a heartbeat arrived on the connection the heartbeats come by. A subscriber that is alive but
   * behind (a node busy with a burst reads its backlog late) hears its heartbeat after the limit; messages still
   * arriving show the connection delivers, so the limit starts again instead of dropping it, which would lose the
   * messages in between and reload at the worst moment. Only for a feed whose messages all share that connection: on
   * Redis Cluster another shard's messages would hide a stalled heartbeat shard.
   */
  flowing(): void {
    this.flowed += 1;
  }

  /** Sends a heartbeat unless one is on its way, and drops the subscriber if the last one Redis took went unheard. */
  beat(): void {
    if (this.closed) return;
    const now = this.clock.now();
    if (!this.isUp) {
      if (this.silentSince !== undefined && now - this.lastReconnect > this.limitMs) this.drop(now, this.silentSince);
      return;
    }
    const pending = this.pending;
    if (pending?.answeredAt !== undefined) {
      if (now - pending.answeredAt <= this.limitMs) return;
      if (pending.flowedAtCheck !== this.flowed) {
        pending.flowedAtCheck = this.flowed;
        pending.answeredAt = now;
        return;
      }
      this.drop(now, pending.answeredAt);
      return;
    }
    if (pending && now - pending.sentAt < HEARTBEAT_GIVE_UP_MS) return;
    this.seq += 1;
    const next: Pending = { seq: this.seq, sentAt: now };
    this.pending = next;
    this.options.send(String(next.seq)).then(
      () => {
        next.answeredAt = this.clock.now();
        next.flowedAtCheck = this.flowed;
      },
      (err: Error) => this.options.log?.debug({ feed: this.options.name, reason: err.message }, 'Redis feed heartbeat not sent'),
    );
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private drop(now: number, silentSince: number): void {
    if (this.silentSince === undefined) {
      this.silentSince = silentSince;
      this.silences += 1;
      this.options.log?.warn(
        { feed: this.options.name, limitMs: this.limitMs },
        'Redis feed silent though Redis took its heartbeat; reconnecting its subscriber',
      );
    }
    this.lastReconnect = now;
    this.pending = undefined;
    this.options.reconnect();
  }
}
