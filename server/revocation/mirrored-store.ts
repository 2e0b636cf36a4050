import type { GatehouseClaims } from '../../shared';
import { systemClock, type Clock } from '../clock';
import type { Logger } from '../log';
import type { RedisRevocationStore } from './redis-store';
import { RevocationTable } from './revocation-table';
import type { Revocation, RevocationStore, RevocationTarget, RevokeOptions } from './store';

/** How often the mirror sends its feed a heartbeat, ms. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 200;

/**
 * How far back the last heartbeat heard may have been sent for the mirror to answer, ms: a feed silent longer (a
 * stalled Redis, a connection cut without a reset) makes every check ask Redis, which then fails closed.
 */
export const DEFAULT_MAX_FEED_SILENCE_MS = 1000;

/** Entries a mirror holds at most by default: about 200 MB of heap (see BENCHMARKS.md), far beyond any real load. */
export const DEFAULT_MIRROR_MAX_ENTRIES = 1_000_000;

export interface MirroredStoreOptions {
  /** The store mirrored; it must subscribe to the feed. The mirror owns it (closes it). */
  readonly redis: RedisRevocationStore;
  readonly clockToleranceMs: number;
  readonly clock?: Clock;
  readonly log?: Logger;
  /** How often expired entries are swept away, ms (they stop matching at their deadline regardless). Default 10 s. */
  readonly sweepIntervalMs?: number;
  /** How long after a failed load the next one starts, ms. Default 1 s. */
  readonly retryDelayMs?: number;
  /** Entries held at most; beyond it the mirror empties itself and every check asks Redis. */
  readonly maxEntries?: number;
  /** How long after going over `maxEntries` a load is tried again, ms. Default 60 s. */
  readonly overflowRetryMs?: number;
  /** See DEFAULT_HEARTBEAT_INTERVAL_MS and DEFAULT_MAX_FEED_SILENCE_MS. */
  readonly heartbeatIntervalMs?: number;
  readonly maxFeedSilenceMs?: number;
}

/**
 * Why the mirror cannot answer for Redis: `loading` (start, after a feed interruption, after a failed load),
 * `overflow` (more revocations than maxEntries), `closed`; or it is `current`.
 */
type MirrorState = 'loading' | 'current' | 'overflow' | 'closed';

/**
 * MirroredRevocationStore answers checks from an in-memory copy of every live revocation in Redis, so a handshake or
 * a renewal costs no round trip; it writes, announces and listens through the Redis store it wraps.
 *
 * The copy is loaded after the feed holds, and the feed's announcements are merged into it from then on (merging is
 * order-free, see RevocationTable): a revocation written before the subscription is in the load, one written after
 * it is announced, one written during the load is in either or both. So the copy is known complete once a load
 * begun while the feed holds has finished and the feed has held throughout. Until then (at start, from the moment
 * the feed is lost until the load after it has finished, after a failed load, over maxEntries) every check asks
 * Redis as the Redis store does, and so fails closed with StoreUnavailableError when Redis cannot answer: the mirror
 * never answers "not revoked" from a copy it does not know to be whole. A feed can also go silent without dropping (a
 * stalled Redis, a connection cut without a reset): a heartbeat every 200 ms, published where announcements are and
 * heard back on the feed, proves it live, and a mirror whose last heartbeat heard was sent over a second ago asks
 * Redis too. A heartbeat Redis took that the feed never brings (its connection dead one way) gets the subscriber
 * connection dropped and made again (../redis/feed-liveness.ts): the resync that follows reloads the copy, and the
 * enforcer re-checks every live socket against the store. Its own revocations are in it before `revoke()` resolves. Entries leave at their deadline (on look-up,
 * and a sweep gives the memory back).
 *
 * Like any announcement, one made elsewhere reaches this node after the propagation delay; a handshake admitted in
 * that window is caught by the enforcer when the announcement lands, as a live socket is.
 */
export class MirroredRevocationStore implements RevocationStore {
  /** The Redis store it mirrors (and writes through). */
  readonly redis: RedisRevocationStore;
  private readonly table: RevocationTable;
  private readonly clock: Clock;
  private readonly maxEntries: number;
  private readonly maxFeedSilenceMs: number;
  private state: MirrorState = 'loading';
  /** Bumped by every feed loss, resync and overflow: a load started under an older one is stale. */
  private generation = 0;
  private readonly sweeper: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;

  constructor(private readonly options: MirroredStoreOptions) {
    this.redis = options.redis;
    this.clock = options.clock ?? systemClock;
    this.maxEntries = options.maxEntries ?? DEFAULT_MIRROR_MAX_ENTRIES;
    this.maxFeedSilenceMs = options.maxFeedSilenceMs ?? DEFAULT_MAX_FEED_SILENCE_MS;
    this.table = new RevocationTable(this.clock, options.clockToleranceMs);
    // Registered before anyone else's listeners: the copy is current before the enforcer hears of a revocation or
    // re-checks its sockets.
    this.redis.onRevocation((revocation) => this.heard(revocation));
    this.redis.onFeedLost(() => this.feedLost());
    this.redis.onResync(() => this.reload());
    if (this.redis.feedUp) this.reload();
    this.sweeper = setInterval(() => this.table.sweep(), options.sweepIntervalMs ?? 10_000);
    this.sweeper.unref();
    this.redis.startHeartbeat(options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS);
  }

  /** Whether checks are answered from memory now: loaded, the feed up, and heard from lately. */
  get current(): boolean {
    return this.state === 'current' && this.clock.now() - this.redis.feedHeardThrough <= this.maxFeedSilenceMs;
  }

  /** Entries held (expired ones not yet swept included). */
  get size(): number {
    return this.table.size;
  }

  async revoke(target: RevocationTarget, options?: RevokeOptions): Promise<Revocation> {
    const revocation = await this.redis.revoke(target, options);
    this.heard(revocation);
    return revocation;
  }

  check(claims: GatehouseClaims): Promise<boolean> {
    return this.current ? Promise.resolve(this.table.hits(claims)) : this.redis.check(claims);
  }

  checkMany(claims: readonly GatehouseClaims[]): Promise<boolean[]> {
    return this.current ? Promise.resolve(claims.map((c) => this.table.hits(c))) : this.redis.checkMany(claims);
  }

  onRevocation(listener: (revocation: Revocation) => void): void {
    this.redis.onRevocation(listener);
  }

  onResync(listener: () => void): void {
    this.redis.onResync(listener);
  }

  unavailableReason(): string | undefined {
    return this.redis.unavailableReason();
  }

  ready(maxWaitMs: number): Promise<boolean> {
    return this.redis.ready(maxWaitMs);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.generation += 1;
    clearInterval(this.sweeper);
    clearTimeout(this.retry);
    this.table.clear();
    await this.redis.close();
  }

  /** A revocation announced, or made here: kept unless the mirror gave up holding copies (overflow, closed). */
  private heard(revocation: Revocation): void {
    if (this.state === 'overflow' || this.state === 'closed') return;
    this.table.merge(revocation.kind, revocation.id, revocation.at, revocation.until);
    if (this.table.size > this.maxEntries) this.overflow();
  }

  private feedLost(): void {
    if (this.state === 'closed') return;
    this.generation += 1;
    if (this.state !== 'overflow') this.state = 'loading';
  }

  /** Starts a load now that the feed holds (again), superseding any under way. */
  private reload(): void {
    if (this.state === 'closed') return;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.generation += 1;
    this.state = 'loading';
    this.redis.sendHeartbeat();
    void this.load(this.generation);
  }

  private async load(generation: number): Promise<void> {
    const stale = () => generation !== this.generation;
    try {
      for await (const batch of this.redis.loadAll()) {
        if (stale()) return;
        for (const r of batch) this.table.merge(r.kind, r.id, r.at, r.until);
        if (this.table.size > this.maxEntries) {
          this.overflow();
          return;
        }
      }
    } catch (err) {
      if (stale()) return;
      this.options.log?.warn({ err }, 'revocation mirror could not load; checking Redis meanwhile');
      this.retryLater(generation, this.options.retryDelayMs ?? 1000);
      return;
    }
    if (stale() || !this.redis.feedUp) return;
    this.table.sweep();
    this.state = 'current';
    this.options.log?.info({ entries: this.table.size }, 'revocation mirror current');
  }

  /** Too many revocations to hold: give the memory back and ask Redis for every check until a load fits. */
  private overflow(): void {
    this.generation += 1;
    this.state = 'overflow';
    this.table.clear();
    this.options.log?.warn({ maxEntries: this.maxEntries }, 'revocation mirror over its limit; checking Redis for every token');
    this.retryLater(this.generation, this.options.overflowRetryMs ?? 60_000);
  }

  /** Loads again after `delayMs`, unless the feed was lost or resynced meanwhile (its resync loads anyway). */
  private retryLater(generation: number, delayMs: number): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (generation === this.generation && this.redis.feedUp) this.reload();
    }, delayMs);
    this.retry.unref();
  }
}
