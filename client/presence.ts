import {
  PRESENCE_PAGE_LIMIT,
  isOccupancy,
  type PresenceChanges,
  type PresenceEvent,
  type PresenceLeaveReason,
  type PresenceRequest,
  type PresenceSnapshot,
} from '../shared/presence';
import { reconnectDelay } from './close-policy';
import { Emitter } from './events';
import { applyChanges, differenceOf, membersOfPages, seqVerdict, type ListDifference, type LiveMember } from './presence-state';
import type { Subscription } from './subscription';

/** Why the list was loaded from a snapshot. */
export type SyncCause = 'initial' | 'gap' | 'reconnect' | 'members-mode' | 'manual';

export interface PresenceEvents {
  [event: string]: unknown;
  /** A user's first connection arrived. */
  join: { readonly member: LiveMember };
  /** A user's last connection went, and why. */
  leave: { readonly member: LiveMember; readonly reason: PresenceLeaveReason };
  /** A user's `info` changed (a renewed token carried another one). */
  update: { readonly member: LiveMember; readonly previous: LiveMember };
  /**
   * The list was (re)loaded from a snapshot: at the start, after a missed batch, after a reconnect. What changed
   * meanwhile is in `joined`, `left`, `updated` (no leave reasons: the batches that had them were missed).
   */
  sync: { readonly cause: SyncCause; readonly members: readonly LiveMember[]; readonly count: number } & ListDifference;
  /** The channel has more members than the gateway sends events for: counts only, at most once a second. */
  occupancy: { readonly count: number };
  /** A snapshot could not be read (it is tried again), or the list ended. */
  error: Error;
}

/** What a presence list needs from the client: one channel's subscription, its events and the `presence` procedure. */
export interface PresencePort {
  /** The subscription that makes this socket a member and a watcher; its end ends the list. */
  readonly subscription: Subscription;
  /** `handler` runs each time the gateway accepts the subscription: at the start and after every reconnect. */
  onSubscribed(handler: () => void): () => void;
  /**
   * `handler` runs when the subscription is lost: for now (`gone` false: the connection dropped, and it is made again
   * on reconnect), or for good (a kick-out, or the last holder of the channel on this client let go).
   */
  onSuspended(handler: (gone: boolean) => void): () => void;
  /** `handler` runs when the socket's token changes (a renewal, another login): its grants may have changed. */
  onRenewed(handler: () => void): () => void;
  /** This channel's `gatehouse:presence` events. */
  onEvent(handler: (event: PresenceEvent) => void): () => void;
  fetch(request: PresenceRequest): Promise<PresenceSnapshot>;
}

/** How long batches after a missing one wait for it before the list is loaded again, ms. */
const GAP_WAIT_MS = 200;

/** Refusals that another try can fix; any other refusal of the snapshot ends the list. */
function transient(err: unknown): boolean {
  return /^(Timeout|BadConnection|RateLimited|Internal|\w+Unavailable)Error$/.test(String((err as Error | undefined)?.name));
}

/**
 * PresenceList keeps who is in a channel: loaded from the `presence` snapshot (every page), kept current from the
 * channel's change batches, and loaded again on its own when a batch is missing (its `seq` skips one) or the
 * connection came back. In occupancy mode (a channel past the gateway's member limit) it keeps the count only, and
 * loads the list again when batches of changes resume.
 */
export class PresenceList extends Emitter<PresenceEvents> {
  readonly channel: string;
  /** Resolves once the list is first loaded; rejects when it ends before that. */
  readonly ready: Promise<void>;
  /** Resolves when the list ends: undefined after `close()`, else why (a refusal, a kick-out). */
  readonly ended: Promise<Error | undefined>;
  private members = new Map<string, LiveMember>();
  private seqSeen = -1;
  private total = 0;
  private occupancy = false;
  private loaded = false;
  private closed = false;
  private live = false;
  /** Events that arrived while a snapshot was read: replayed on it. */
  private buffer: PresenceEvent[] = [];
  private syncing?: Promise<void>;
  /** A resync was asked for while one ran: why, to run once it ends. */
  private again?: SyncCause;
  private subscribedOnce = false;
  private failures = 0;
  private retryTimer?: ReturnType<typeof setTimeout>;
  /** Batches that came after a missing one, and the timer that gives up waiting for it. */
  private ahead: PresenceChanges[] = [];
  private gapTimer?: ReturnType<typeof setTimeout>;
  private readonly cleanups: (() => void)[] = [];
  private settleReady!: { resolve: () => void; reject: (err: Error) => void };
  private settleEnded!: (err: Error | undefined) => void;

  constructor(
    channel: string,
    private readonly port: PresencePort,
  ) {
    super();
    this.channel = channel;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    this.ready.catch(() => undefined);
    this.ended = new Promise((resolve) => {
      this.settleEnded = resolve;
    });
    this.cleanups.push(
      port.onEvent((event) => this.onEvent(event)),
      port.onSubscribed(() => {
        this.live = true;
        const cause: SyncCause = this.subscribedOnce ? 'reconnect' : 'initial';
        this.subscribedOnce = true;
        void this.resync(cause);
      }),
      port.onRenewed(() => void this.recheck()),
      port.onSuspended((gone) => {
        // Batches sent while away are lost: the list waits for the resubscription's snapshot.
        this.live = false;
        this.buffer = [];
        this.stopWaiting();
        // No resubscription comes: the list ends (a kick-out, told just before, ends it with its reason first).
        if (gone) setTimeout(() => this.end(undefined));
      }),
    );
    void port.subscription.ended.then((err) => this.end(err));
  }

  /** The members, in the order they were learnt. Empty in occupancy mode. */
  get list(): readonly LiveMember[] {
    return [...this.members.values()];
  }

  get(sub: string): LiveMember | undefined {
    return this.members.get(sub);
  }

  /** Members in the channel: the list's size, or the gateway's count in occupancy mode. */
  get count(): number {
    return this.occupancy ? this.total : this.members.size;
  }

  /** `members` while the gateway sends member changes; `occupancy` while it sends counts only. */
  get mode(): 'members' | 'occupancy' {
    return this.occupancy ? 'occupancy' : 'members';
  }

  /** The last change batch the list contains. */
  get seq(): number {
    return this.seqSeen;
  }

  /** Whether the list is current: loaded, connected, and no snapshot under way. */
  get synced(): boolean {
    return this.loaded && this.live && !this.syncing;
  }

  /**
   * Loads the list again from a snapshot. It happens on its own after a gap or a reconnect; call it after anything
   * else that makes you doubt the list. Resolves when the list is loaded again.
   */
  resync(cause: SyncCause = 'manual'): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.syncing) {
      this.again ??= cause;
      return this.syncing;
    }
    this.stopWaiting();
    this.buffer = [];
    const run = (async () => {
      let sync: PresenceEvents['sync'] | undefined;
      try {
        sync = await this.load(cause);
      } finally {
        this.syncing = undefined;
      }
      const replay = this.buffer.sort((a, b) => a.seq - b.seq);
      this.buffer = [];
      if (sync && !this.closed) {
        this.emit('sync', sync);
        // Batches that came while the pages were read: those the pages contain change nothing (idempotent). A batch
        // missing among them starts the next resync.
        for (const event of replay) if (!this.closed && !this.syncing) this.apply(event);
        this.settleReady.resolve();
      }
      const next = this.again;
      this.again = undefined;
      if (next && !this.closed && !this.syncing) await this.resync(next);
    })();
    this.syncing = run;
    return run;
  }

  /** Stops the list and unsubscribes from the channel (with any other subscription of it on this client). */
  close(): void {
    this.end(undefined);
  }

  private end(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWaiting();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.port.subscription.unsubscribe();
    if (err) this.emit('error', err);
    this.settleReady.reject(err ?? new Error(`The presence list of ${this.channel} was closed`));
    this.settleEnded(err);
    this.removeAllListeners();
  }

  /** Reads a snapshot and makes it the list; undefined when it could not be read (a retry is planned, or the end). */
  private async load(cause: SyncCause): Promise<PresenceEvents['sync'] | undefined> {
    let pages: PresenceSnapshot[];
    try {
      pages = await this.snapshot();
    } catch (err) {
      if (this.closed) return undefined;
      const error = err instanceof Error ? err : new Error(String(err));
      if (!transient(err)) {
        this.end(error);
        return undefined;
      }
      this.emit('error', error);
      // Offline: the resubscription brings the next snapshot. Online: try again with backoff.
      if (this.live) this.retryTimer = setTimeout(() => void this.resync(cause), reconnectDelay(0, this.failures++));
      return undefined;
    }
    if (this.closed) return undefined;
    this.failures = 0;
    const first = pages[0];
    const before = this.members;
    this.seqSeen = first.seq;
    this.total = first.count;
    if (!this.occupancy) this.members = membersOfPages(pages);
    this.loaded = true;
    return { cause, members: this.list, count: this.count, ...differenceOf(before, this.members) };
  }

  /**
   * A token without the `presence` capability stops the batches without ending the subscription: one small request
   * after each token change finds out, and ends the list with the refusal instead of leaving it silently stale.
   */
  private async recheck(): Promise<void> {
    if (!this.loaded || this.closed) return;
    try {
      await this.port.fetch({ channel: this.channel, limit: 1 });
    } catch (err) {
      if (!this.closed && !transient(err)) this.end(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Every page of the channel's members (only the count in occupancy mode), bounded by the count it announces. */
  private async snapshot(): Promise<PresenceSnapshot[]> {
    if (this.occupancy) return [await this.port.fetch({ channel: this.channel, limit: 1 })];
    const pages = [await this.port.fetch({ channel: this.channel })];
    const seen = new Set<string>();
    const maxPages = Math.ceil(pages[0].count / PRESENCE_PAGE_LIMIT) + 2;
    for (let cursor = pages[0].cursor; cursor !== undefined && !seen.has(cursor) && pages.length < maxPages && !this.closed;) {
      seen.add(cursor);
      const page = await this.port.fetch({ channel: this.channel, cursor });
      pages.push(page);
      cursor = page.cursor;
    }
    return pages;
  }

  private onEvent(event: PresenceEvent): void {
    if (this.closed || event.channel !== this.channel || !this.live) return;
    if (this.syncing) this.buffer.push(event);
    else if (this.loaded) this.apply(event);
  }

  private apply(event: PresenceEvent): void {
    if (isOccupancy(event)) {
      // Counts come at most once a second and skip the batches between them: no gap to detect.
      if (event.seq <= this.seqSeen) return;
      this.seqSeen = event.seq;
      this.total = event.count;
      if (!this.occupancy) {
        this.occupancy = true;
        this.members = new Map();
      }
      this.emit('occupancy', { count: event.count });
      return;
    }
    const verdict = seqVerdict(this.seqSeen, event.seq);
    if (verdict === 'stale') return;
    if (this.occupancy) {
      // Member changes again: the list was not kept meanwhile, so it is loaded whole.
      this.occupancy = false;
      void this.resync('members-mode');
      return;
    }
    if (verdict === 'gap') {
      // Held back a moment: batches from different nodes may cross on the way. The missing one arriving lets these
      // follow; else the list is loaded again.
      this.ahead.push(event);
      this.gapTimer ??= setTimeout(() => void this.resync('gap'), GAP_WAIT_MS);
      return;
    }
    this.applyBatch(event);
    this.ahead.sort((a, b) => a.seq - b.seq);
    while (this.ahead.length > 0 && this.ahead[0].seq <= this.seqSeen + 1) {
      const next = this.ahead.shift()!;
      if (next.seq === this.seqSeen + 1) this.applyBatch(next);
    }
    if (this.ahead.length === 0) this.stopWaiting();
  }

  private applyBatch(batch: PresenceChanges): void {
    this.seqSeen = batch.seq;
    const applied = applyChanges(this.members, batch);
    for (const { member, reason } of applied.leaves) this.emit('leave', { member, reason });
    for (const member of applied.joins) this.emit('join', { member });
    for (const update of applied.updates) this.emit('update', update);
  }

  /** Drops the batches held back for a missing one, and the timers that would resync or retry. */
  private stopWaiting(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
    this.ahead = [];
  }
}
