import type { GatehouseClaims } from '../../shared';
import { compileClaimGrants } from '../../shared/channel-pattern';
import type { GrantOverride, GrantOverrides } from '../channels/policy';
import type { Clock } from '../clock';
import { DeadlineScheduler } from '../renewal/deadline-scheduler';
import type { GrantRecord } from './record';

interface Held {
  readonly record: GrantRecord;
  /**
   * The compiled override, made at its first use: a batch touches many users this node has no socket of. Never made
   * for a record that returned the user to the tokens' grants.
   */
  override?: GrantOverride;
}

/**
 * OverrideTable is this node's copy of the grant records of users it has heard of: what the channel policy asks on
 * every publish and subscribe (`inForce`, one map look-up). A record replaces the one held only when its version is
 * higher, so a duplicated or late message cannot roll a change back. A record is dropped at its `expiresAt`, and
 * `onExpired` is told of the user so that its sockets lose what the override alone granted them.
 */
export class OverrideTable implements GrantOverrides {
  private readonly held = new Map<string, Held>();
  private readonly expiries: DeadlineScheduler<string>;

  constructor(
    private readonly clock: Clock,
    onExpired: (sub: string) => void,
  ) {
    this.expiries = new DeadlineScheduler<string>(clock, (sub) => {
      const held = this.held.get(sub);
      if (!held || held.record.expiresAt > this.clock.now()) return;
      this.held.delete(sub);
      onExpired(sub);
    });
  }

  inForce(claims: GatehouseClaims): GrantOverride | undefined {
    const held = this.held.get(claims.sub);
    if (held === undefined || held.record.channels === null) return undefined;
    if (held.record.expiresAt <= this.clock.now()) return undefined;
    // A token your backend issued knowing this change (or a later one) says what the user holds now.
    const known = claims.grants_version;
    if (typeof known === 'number' && known >= held.record.version) return undefined;
    held.override ??= { grants: compileClaimGrants(held.record.channels, held.record.sub) };
    return held.override;
  }

  /** The version held for a user, or undefined. */
  version(sub: string): number | undefined {
    return this.held.get(sub)?.record.version;
  }

  /** The record held for a user, or undefined. */
  record(sub: string): GrantRecord | undefined {
    return this.held.get(sub)?.record;
  }

  /** The users this node holds a record for. */
  subs(): string[] {
    return [...this.held.keys()];
  }

  /** Takes a record if it is newer than the one held (and not expired); true when it did. */
  apply(record: GrantRecord): boolean {
    const current = this.held.get(record.sub);
    if (current && current.record.version >= record.version) return false;
    if (record.expiresAt <= this.clock.now()) return false;
    this.held.set(record.sub, { record });
    this.expiries.schedule(record.sub, record.expiresAt);
    return true;
  }

  get size(): number {
    return this.held.size;
  }

  close(): void {
    this.expiries.close();
    this.held.clear();
  }
}
