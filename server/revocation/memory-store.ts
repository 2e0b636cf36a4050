import type { GatehouseClaims } from '../../shared';
import { systemClock, type Clock } from '../clock';
import {
  entryDeadline, revocationHits, tokenIds, type Revocation, type RevocationPolicy, type RevocationStore, type RevocationTarget,
  type RevokeOptions,
} from './store';

export interface MemoryStoreOptions {
  readonly policy: RevocationPolicy;
  /** Names this node in its announcements. */
  readonly origin: string;
  readonly clock?: Clock;
  /** How often expired entries are swept away, ms (they stop matching at their deadline regardless). Default 10 s. */
  readonly sweepIntervalMs?: number;
}

/**
 * MemoryRevocationStore is the embedded store for a single node: a map per kind, each entry dropped once past its
 * deadline (checked on every look-up, and swept by an owned, unref'd timer so memory is given back). Announcements
 * are an in-process event, delivered after the current call stack.
 */
export class MemoryRevocationStore implements RevocationStore {
  private readonly entries = new Map<string, Revocation>();
  private readonly listeners: ((revocation: Revocation) => void)[] = [];
  private readonly clock: Clock;
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly options: MemoryStoreOptions) {
    this.clock = options.clock ?? systemClock;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000);
    this.sweeper.unref();
  }

  async revoke(target: RevocationTarget, options: RevokeOptions = {}): Promise<Revocation> {
    const at = this.clock.now();
    const until = entryDeadline(target, options, at, this.options.policy);
    const key = keyOf(target.kind, target.id);
    const previous = this.live(key);
    // A second revocation of the same target keeps the later moment and the longer life, as the Redis script does.
    const stored: Revocation = {
      kind: target.kind, id: target.id, origin: this.options.origin,
      at: Math.max(at, previous?.at ?? 0), until: Math.max(until, previous?.until ?? 0),
    };
    this.entries.set(key, stored);
    const announced: Revocation = { kind: target.kind, id: target.id, at, until, origin: this.options.origin };
    setImmediate(() => {
      for (const listener of this.listeners) listener(announced);
    });
    return announced;
  }

  async check(claims: GatehouseClaims): Promise<boolean> {
    return this.hits(claims);
  }

  async checkMany(claims: readonly GatehouseClaims[]): Promise<boolean[]> {
    return claims.map((c) => this.hits(c));
  }

  onRevocation(listener: (revocation: Revocation) => void): void {
    this.listeners.push(listener);
  }

  /** Memory never loses its feed. */
  onResync(_listener: () => void): void {}

  unavailableReason(): string | undefined {
    return undefined;
  }

  async ready(_maxWaitMs: number): Promise<boolean> {
    return true;
  }

  /** Live entries (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** Drops every entry past its deadline. */
  sweep(): void {
    const now = this.clock.now();
    for (const [key, entry] of this.entries) if (entry.until <= now) this.entries.delete(key);
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.listeners.length = 0;
  }

  private hits(claims: GatehouseClaims): boolean {
    const ids = tokenIds(claims);
    const candidates = [
      ids.jti === undefined ? undefined : this.live(keyOf('jti', ids.jti)),
      ids.sid === undefined ? undefined : this.live(keyOf('sid', ids.sid)),
      this.live(keyOf('sub', ids.sub)),
    ];
    return candidates.some((entry) => entry !== undefined && revocationHits(entry, claims, this.options.policy.clockToleranceMs));
  }

  private live(key: string): Revocation | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.until <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

function keyOf(kind: string, id: string): string {
  return `${kind}:${id}`;
}
