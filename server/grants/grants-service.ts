import { ServerEvent, type GatehouseClaims, type GrantsChanged } from '../../shared';
import type { Clock } from '../clock';
import type { Logger } from '../log';
import { transmit, type ServerSocket } from '../sc/facade';
import { OverrideTable } from './override-table';
import type { GrantChange, GrantRecord } from './record';
import type { GrantStore, PutOutcome } from './store';

/** What every node answered to a change: its user's sockets on each node, and the live nodes that did not answer. */
export interface ApplyOutcome {
  readonly applied: Record<string, number>;
  readonly unanswered: string[];
}

/** Carries stored changes to every live node (this one included) and collects their answers. */
export type Broadcast = (records: readonly GrantRecord[]) => Promise<ApplyOutcome>;

/** What the grants take from the rest of the node. */
export interface GrantsDeps {
  readonly nodeId: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly store: GrantStore;
  /** This node's authenticated sockets of a user, and every authenticated socket (the sweep's users). */
  readonly sockets: {
    ofSub(sub: string): ServerSocket[];
    subs(): Iterable<string>;
  };
  /** The channel rules' re-check: kicks a socket out of what it may no longer subscribe to. */
  readonly recheck: (socket: ServerSocket) => number;
  /**
   * GATEHOUSE_MAX_TOKEN_LIFETIME, ms: how long an override applies unless its change says otherwise, and how long a
   * record stays in the store after a change at least (so a late, older change is refused that long).
   */
  readonly keepMs: number;
}

/** The outcome of one change in a batch: stored and applied, or refused for the version in force. */
export type ChangeOutcome = { readonly sub: string; readonly version: number } & PutOutcome;

/**
 * GrantsService is the node's side of live grants: it stores a change (version checked atomically by the store),
 * has every node apply it, and applies on this node what reaches it. Applying a newer record to a user's sockets
 * re-checks their subscriptions (a channel no longer granted is kicked out, with the reason `grants-changed`) and
 * tells each socket `gatehouse:grantsChanged {version}`. A node that missed a change converges: it compares the
 * versions it holds with the store after each subscribe and in a sweep, and reloads after the store reconnects.
 */
/** What this node counts of live grants (for /metrics). */
export interface GrantsCounters {
  /** Changes this node applied (a newer record than it held). */
  applied: number;
  /** Of those, changes it found in the store itself, having missed their announcement. */
  caughtUp: number;
  /** Subscriptions it ended because a change took their channel away. */
  kicked: number;
}

export class GrantsService {
  readonly table: OverrideTable;
  readonly counters: GrantsCounters = { applied: 0, caughtUp: 0, kicked: 0 };
  private broadcast: Broadcast;
  /** Users whose record is to be compared with the store at the next turn (subscribes, batched). */
  private pending = new Set<string>();
  private flushing = false;
  private closed = false;

  constructor(private readonly deps: GrantsDeps) {
    this.table = new OverrideTable(deps.clock, (sub) => this.recheckUser(sub));
    this.broadcast = (records) => Promise.resolve({ applied: { [deps.nodeId]: this.applyHere(records) }, unanswered: [] });
    deps.store.onReconnect(() => {
      deps.log.info('grants: store reachable again; reloading every record');
      void this.reload();
    });
  }

  /** How changes reach the other nodes (the admin bus); without one, a change is applied on this node only. */
  useBroadcast(broadcast: Broadcast): void {
    this.broadcast = broadcast;
  }

  /**
   * Stores each change whose version is above the stored one, then has every live node apply the stored ones and
   * waits for their answers. Refused changes are reported with the version in force and change nothing.
   */
  async change(changes: readonly GrantChange[]): Promise<{ outcomes: ChangeOutcome[]; applied: ApplyOutcome }> {
    const now = this.deps.clock.now();
    const records = changes.map(({ sub, version, channels, ttlMs }): GrantRecord => ({ sub, version, channels, expiresAt: now + (ttlMs ?? this.deps.keepMs) }));
    const puts = await this.deps.store.put(records, () => now + this.deps.keepMs);
    const outcomes = puts.map((put, i) => ({ sub: records[i].sub, version: records[i].version, ...put }));
    const stored = records.filter((_, i) => puts[i].stored);
    this.deps.log.info({ changes: records.length, stored: stored.length, subs: stored.slice(0, 5).map((r) => r.sub) }, 'grants changed');
    const applied = stored.length > 0 ? await this.broadcast(stored) : { applied: {}, unanswered: [] };
    return { outcomes, applied };
  }

  /** The record the store holds for a user (the override in force, or the DELETE that ended it), or undefined. */
  async get(sub: string): Promise<GrantRecord | undefined> {
    const [record] = await this.deps.store.get([sub]);
    return record && record.expiresAt > this.deps.clock.now() ? record : undefined;
  }

  /**
   * Applies records that reached this node: each one newer than the record held replaces it, and its user's sockets
   * are re-checked and told. Returns how many sockets of those users this node holds.
   */
  applyHere(records: readonly GrantRecord[]): number {
    let sockets = 0;
    for (const record of records) {
      const fresh = this.table.apply(record);
      const held = this.deps.sockets.ofSub(record.sub);
      sockets += held.length;
      if (!fresh) continue;
      this.counters.applied++;
      const notice: GrantsChanged = { version: record.version };
      for (const socket of held) {
        this.counters.kicked += this.deps.recheck(socket);
        transmit(socket, ServerEvent.GrantsChanged, notice);
      }
    }
    return sockets;
  }

  /** After a subscribe: compares the user's record with the store soon (batched), in case a change was missed. */
  checkSoon(claims: GatehouseClaims | null): void {
    if (!claims || this.closed || !this.deps.store.shared) return;
    this.pending.add(claims.sub);
    this.flush();
  }

  /** One comparison in flight at a time, for every user that subscribed meanwhile. */
  private flush(): void {
    if (this.flushing || this.pending.size === 0) return;
    this.flushing = true;
    setImmediate(() => {
      const subs = [...this.pending];
      this.pending = new Set();
      void this.reconcile(subs).finally(() => {
        this.flushing = false;
        this.flush();
      });
    });
  }

  /**
   * Loads every record the store holds and applies those newer than this node's: at start (a node that starts after
   * a change knows it before its first client) and when the store is reachable again. Failures are logged; the
   * sweep tries again.
   */
  async reload(): Promise<void> {
    if (this.closed || !this.deps.store.shared) return;
    let records: GrantRecord[];
    try {
      records = await this.deps.store.all();
    } catch (err) {
      this.deps.log.warn({ reason: (err as Error).message }, 'grants: could not load the records from the store; the sweep will try again');
      return;
    }
    const newer = records.filter((r) => r.version > (this.table.version(r.sub) ?? 0));
    if (newer.length > 0) this.applyHere(newer);
  }

  /** Compares the records of every user with sockets here, and every user held, with the store. */
  async sweep(): Promise<void> {
    const subs = new Set(this.deps.sockets.subs());
    for (const sub of this.table.subs()) subs.add(sub);
    await this.reconcile([...subs]);
  }

  /** Applies any record the store holds that is newer than this node's. A store outage is logged and retried later. */
  private async reconcile(subs: string[]): Promise<void> {
    if (subs.length === 0 || this.closed) return;
    let records: (GrantRecord | undefined)[];
    try {
      records = await this.deps.store.get(subs);
    } catch (err) {
      this.deps.log.debug({ reason: (err as Error).message }, 'grants: could not compare versions with the store');
      return;
    }
    if (this.closed) return;
    const newer = records.filter((r): r is GrantRecord => r !== undefined && r.version > (this.table.version(r.sub) ?? 0));
    if (newer.length === 0) return;
    this.deps.log.info({ users: newer.length }, 'grants: applying changes this node had missed');
    this.counters.caughtUp += newer.length;
    this.applyHere(newer);
  }

  /** An override ran out: its user's sockets are held to their tokens' grants again. */
  private recheckUser(sub: string): void {
    for (const socket of this.deps.sockets.ofSub(sub)) this.deps.recheck(socket);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.table.close();
    await this.deps.store.close();
  }
}
