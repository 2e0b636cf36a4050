import type { GatehouseClaims } from '../../shared';
import { systemClock, type Clock } from '../clock';
import { RevocationTable } from './revocation-table';
import {
  assertRevocationTarget,
  entryDeadline,
  type Revocation,
  type RevocationPolicy,
  type RevocationStore,
  type RevocationTarget,
  type RevokeOptions,
} from './store';

/**
 * The revocations of the nodes of one process that share them: one table, and every member store told of each
 * revocation any of them makes (as Redis announces them to every node).
 */
export class RevocationBoard {
  readonly table: RevocationTable;
  /** @internal The stores on the board. */
  readonly members = new Set<MemoryRevocationStore>();

  constructor(clock: Clock, clockToleranceMs: number) {
    this.table = new RevocationTable(clock, clockToleranceMs);
  }
}

export interface MemoryStoreOptions {
  readonly policy: RevocationPolicy;
  /** Names this node in its announcements. */
  readonly origin: string;
  readonly clock?: Clock;
  /** How often expired entries are swept away, ms (they stop matching at their deadline regardless). Default 10 s. */
  readonly sweepIntervalMs?: number;
  /** Shares revocations with the other stores on this board (nodes in one process); default a table of its own. */
  readonly board?: RevocationBoard;
}

/**
 * MemoryRevocationStore is the embedded store for a single node: a RevocationTable, each entry dropped once past its
 * deadline (checked on every look-up, and swept by an owned, unref'd timer so memory is given back). Announcements
 * are an in-process event, delivered after the current call stack. Stores on one RevocationBoard (several nodes in
 * one process) share the table and hear each other's announcements.
 */
export class MemoryRevocationStore implements RevocationStore {
  private readonly table: RevocationTable;
  private readonly board: RevocationBoard;
  private readonly listeners: ((revocation: Revocation) => void)[] = [];
  private readonly clock: Clock;
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly options: MemoryStoreOptions) {
    this.clock = options.clock ?? systemClock;
    this.board = options.board ?? new RevocationBoard(this.clock, options.policy.clockToleranceMs);
    this.board.members.add(this);
    this.table = this.board.table;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000);
    this.sweeper.unref();
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so a refused target rejects, as in Redis
  async revoke(target: RevocationTarget, options: RevokeOptions = {}): Promise<Revocation> {
    assertRevocationTarget(target);
    const at = this.clock.now();
    const until = entryDeadline(target, options, at, this.options.policy);
    this.table.merge(target.kind, target.id, at, until);
    const announced: Revocation = { kind: target.kind, id: target.id, at, until, origin: this.options.origin };
    for (const member of this.board.members) member.announce(announced);
    return announced;
  }

  /** @internal Tells this store's listeners of a revocation on its board, after the current call stack. */
  announce(revocation: Revocation): void {
    setImmediate(() => {
      for (const listener of this.listeners) listener(revocation);
    });
  }

  check(claims: GatehouseClaims): Promise<boolean> {
    return Promise.resolve(this.table.hits(claims));
  }

  checkMany(claims: readonly GatehouseClaims[]): Promise<boolean[]> {
    return Promise.resolve(claims.map((c) => this.table.hits(c)));
  }

  onRevocation(listener: (revocation: Revocation) => void): void {
    this.listeners.push(listener);
  }

  /** Memory never loses its feed. */
  onResync(_listener: () => void): void {}

  unavailableReason(): string | undefined {
    return undefined;
  }

  ready(_maxWaitMs: number): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** Live entries (for tests and metrics). */
  get size(): number {
    return this.table.size;
  }

  /** Drops every entry past its deadline. */
  sweep(): void {
    this.table.sweep();
  }

  close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.listeners.length = 0;
    this.board.members.delete(this);
    return Promise.resolve();
  }
}
