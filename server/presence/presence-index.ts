import type { PresenceChanges, PresenceLeaveReason, PresenceSnapshot } from '../../shared';

/** One user's state on one node in one channel, as that node reports it to the index. */
export interface EntryChange {
  readonly sub: string;
  /** The node's connections of that user in the channel now; 0 removes the node's entry. */
  readonly connections: number;
  /** The user's serialized `info` (member-info.ts); absent: none. */
  readonly info?: string;
  /** Why the entry goes, when `connections` is 0. */
  readonly reason?: PresenceLeaveReason;
}

/** What one node reports of a channel at once: its changed users and, when it changed, its anonymous sockets. */
export interface ChannelReport {
  readonly changes: readonly EntryChange[];
  /** The node's anonymous subscribers of the channel now. */
  readonly anonymous?: number;
  /** The changes are all the node holds there: its other entries in the channel go (as `expired`). */
  readonly complete?: boolean;
}

/** A change batch as the index made it: the wire's batch plus the channel's member count after it. */
export interface PresenceBatch extends PresenceChanges {
  readonly count: number;
  /**
   * Set on a quiet batch (a re-assertion): it carries no changes and its seq may be lower than the last one seen (a
   * restarted Redis starts counting again); watchers get it as a gap and read the list again.
   */
  readonly reset?: boolean;
}

/** O(1) figures of one channel, cluster-wide. */
export interface PresenceStats {
  readonly members: number;
  readonly connections: number;
  readonly anonymous: number;
}

/**
 * PresenceIndex is where the members of every presence channel are kept for all nodes: in memory for a node alone,
 * in Redis (or a Redis Cluster) for several. Each node writes only its own entries, under its epoch (a new one each
 * start), so its entries can be told apart and reaped; a user is a member while any node holds an entry for it. The
 * index turns the nodes' reports into cluster-wide joins, leaves and updates, each batch numbered by the channel's one
 * counter (`seq`).
 */
export interface PresenceIndex {
  /**
   * Applies one node's report on one channel, atomically, and answers the batch it made (undefined when no member
   * joined, left or changed `info`: a second tab changes no membership). `quiet` applies it without joins and leaves
   * (a re-assertion after Redis came back) and numbers its empty batch two past the last, so every watcher sees a
   * gap and re-reads the list.
   */
  apply(epoch: string, channel: string, report: ChannelReport, quiet?: boolean): Promise<PresenceBatch | undefined>;
  /** A page of members in `sub` order, after `cursor`'s sub; `seq` is the last batch it contains. */
  page(channel: string, cursor: string | undefined, limit: number): Promise<PresenceSnapshot>;
  stats(channel: string): Promise<PresenceStats>;
  /** Removes every entry of `epoch` in `channel` (its node is gone), with `reason` for the leaves it makes. */
  reap(epoch: string, channel: string, reason: PresenceLeaveReason): Promise<PresenceBatch | undefined>;
}

/** Pages carry the last sub they hold as the cursor, base64url so that it reads as the opaque token it is. */
export function encodeCursor(sub: string): string {
  return Buffer.from(sub, 'utf8').toString('base64url');
}

/** The sub a cursor names, or undefined for a cursor that is not one of ours. */
export function decodeCursor(cursor: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) return undefined;
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

/** A node that died, as the board found it: its epoch, why its members leave, and the channels it held entries in. */
export interface DeadEpoch {
  readonly epoch: string;
  readonly reason: PresenceLeaveReason;
  readonly channels: readonly string[];
}

/**
 * PresenceNodeBoard is where the nodes sharing an index hold their leases (Redis only: a node alone needs none). Each
 * node holds one under its epoch and renews it; a lease that lapses marks its node dead, and one surviving node at a
 * time (a lock) reaps its entries.
 */
export interface PresenceNodeBoard {
  /** Takes a lease for `epoch` for `ttlMs`. */
  register(epoch: string, ttlMs: number): Promise<void>;
  /** Extends the lease; false when it had lapsed (this node was too slow, or Redis lost it): re-register then. */
  renew(epoch: string, ttlMs: number): Promise<boolean>;
  /** Records that `epoch` holds entries in `channel`, so a reap finds them. */
  noteChannel(epoch: string, channel: string): Promise<void>;
  /** `epoch` holds no entry in `channel` any more. */
  unnoteChannel(epoch: string, channel: string): Promise<void>;
  /** Takes the reaping lock for `ttlMs`; false when another node holds it. */
  lock(owner: string, ttlMs: number): Promise<boolean>;
  unlock(owner: string): Promise<void>;
  /** The epochs whose lease lapsed, other than `own`. */
  deadEpochs(own: string): Promise<DeadEpoch[]>;
  /** Forgets a reaped epoch. */
  forget(epoch: string): Promise<void>;
  /**
   * A graceful end: the lease lapses in `graceMs` (at once for 0) and the epoch's members then leave as
   * `disconnected`, unless they came back elsewhere meanwhile.
   */
  leave(epoch: string, graceMs: number): Promise<void>;
}

/** What the backends give presence: the index, and the node board where nodes share one (Redis). */
export interface PresenceBackend {
  readonly index: PresenceIndex;
  readonly board?: PresenceNodeBoard;
}
