import type { GrantRecord } from './record';

/** What a store answers to a change: stored, or refused because the version in force (`current`) is not lower. */
export type PutOutcome = { readonly stored: true } | { readonly stored: false; readonly current: number };

/**
 * GrantStore keeps the users' grant records every node reads: in memory (one node, or the nodes of one process
 * sharing a MemoryHub) or in Redis. `put` compares and sets atomically, so of two racing changes for one user only a
 * higher version can follow a lower one, and a change not above the stored version changes nothing.
 */
export interface GrantStore {
  /** Whether other nodes change this store too (Redis, a MemoryHub): then a node compares its copy with it. */
  readonly shared: boolean;
  /**
   * Stores each record whose version is above the stored one; a record is kept until `keepUntil` (Unix ms, at least its
   * `expiresAt`), so a late change with a lower version is refused for that long. Answers in the records' order.
   */
  put(records: readonly GrantRecord[], keepUntil: (record: GrantRecord) => number): Promise<PutOutcome[]>;
  /** The stored record of each sub (undefined where none), in order. */
  get(subs: readonly string[]): Promise<(GrantRecord | undefined)[]>;
  /** Every stored record: what a node loads when it starts and when the store is reachable again. */
  all(): Promise<GrantRecord[]>;
  /** Tells `listener` each time the store is reachable again after an outage (Redis reconnected); never in memory. */
  onReconnect(listener: () => void): void;
  close(): Promise<void>;
}
