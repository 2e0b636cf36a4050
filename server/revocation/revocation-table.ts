import type { GatehouseClaims } from '../../shared';
import type { Clock } from '../clock';
import { subRevocationCovers, tokenIds, type RevocationKind } from './store';

/** What the table keeps of one revocation: its moment (for `sub`) and when it may be dropped, Unix ms. */
interface Entry {
  at: number;
  until: number;
}

/**
 * The live revocations held in memory, one map per kind keyed by id: the memory store's whole state, and each node's
 * mirror of Redis. A second revocation of a target keeps the later moment and the later deadline, as the Redis
 * script does, so merging is order-free: the same entries in any order (a load racing the feed) give the same table.
 * An entry past its deadline stops matching at once (checked on look-up) and is given back to memory by `sweep`.
 */
export class RevocationTable {
  private readonly byKind: Record<RevocationKind, Map<string, Entry>> = { jti: new Map(), sid: new Map(), sub: new Map() };

  constructor(
    private readonly clock: Clock,
    private readonly clockToleranceMs: number,
  ) {}

  /** Adds a revocation, or widens the one held for the same target. */
  merge(kind: RevocationKind, id: string, at: number, until: number): void {
    const entries = this.byKind[kind];
    const held = entries.get(id);
    if (held === undefined) {
      entries.set(id, { at, until });
      return;
    }
    if (at > held.at) held.at = at;
    if (until > held.until) held.until = until;
  }

  /** Whether a live entry hits these claims (see revocationHits). */
  hits(claims: GatehouseClaims): boolean {
    const ids = tokenIds(claims);
    if (ids.jti !== undefined && this.live('jti', ids.jti) !== undefined) return true;
    if (ids.sid !== undefined && this.live('sid', ids.sid) !== undefined) return true;
    const user = this.live('sub', ids.sub);
    return user !== undefined && subRevocationCovers(user.at, claims, this.clockToleranceMs);
  }

  /** Entries held, expired ones not yet swept included. */
  get size(): number {
    return this.byKind.jti.size + this.byKind.sid.size + this.byKind.sub.size;
  }

  /** Drops every entry past its deadline. */
  sweep(): void {
    const now = this.clock.now();
    for (const entries of Object.values(this.byKind)) {
      for (const [id, entry] of entries) if (entry.until <= now) entries.delete(id);
    }
  }

  clear(): void {
    for (const entries of Object.values(this.byKind)) entries.clear();
  }

  private live(kind: RevocationKind, id: string): Entry | undefined {
    const entries = this.byKind[kind];
    const entry = entries.get(id);
    if (entry !== undefined && entry.until <= this.clock.now()) {
      entries.delete(id);
      return undefined;
    }
    return entry;
  }
}
