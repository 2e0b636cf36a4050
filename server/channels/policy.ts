import type { GatehouseClaims } from '../../shared';
import { anyOf, compileClaimGrants, compileGrants, usesSub, type ChannelMatcher } from '../../shared/channel-pattern';
import type { ChannelRules } from './rules-file';

/** A user's grants set by the backend, in force instead of the `channels` of that user's tokens. */
export interface GrantOverride {
  /** The override's grants, compiled for its user's `sub`. */
  readonly grants: ChannelMatcher;
}

/**
 * Where the per-user grant overrides come from (server/grants/). `inForce` runs on every publish and subscribe of
 * an authenticated socket: a map look-up, no I/O. It returns the same object for as long as one override holds.
 */
export interface GrantOverrides {
  inForce(claims: GatehouseClaims): GrantOverride | undefined;
}

interface Compiled {
  readonly matcher: ChannelMatcher;
  readonly override: GrantOverride | undefined;
}

/**
 * ChannelPolicy gives each socket its matcher: `anyone`, plus `authenticated` and the token's `channels` while the
 * socket is authenticated; a grants override in force for the socket's user replaces the token's `channels` (the
 * operator's rules still apply beside it). The operator's rules compile once here; a token's grants compile once per
 * token (the claims object SocketCluster keeps as `socket.authToken`) and override, so deciding an action never
 * compiles anything.
 */
export class ChannelPolicy {
  /** What an anonymous socket may do. */
  readonly anonymous: ChannelMatcher;
  /** anyone ∪ the `authenticated` entries that do not depend on `sub`. */
  private readonly authenticatedStatic: ChannelMatcher;
  private readonly perSubEntries: ChannelRules['authenticated'];
  private readonly byToken = new WeakMap<GatehouseClaims, Compiled>();
  private overrides?: GrantOverrides;

  constructor(rules: ChannelRules) {
    this.anonymous = compileGrants(rules.anyone);
    this.authenticatedStatic = compileGrants([...rules.anyone, ...rules.authenticated.filter((e) => !usesSub(e.pattern))]);
    this.perSubEntries = rules.authenticated.filter((e) => usesSub(e.pattern));
  }

  /** Sets where grant overrides come from; done once, before clients arrive. */
  useOverrides(overrides: GrantOverrides): void {
    this.overrides = overrides;
  }

  /** The matcher for a socket's current claims (null: not authenticated). */
  matcherFor(claims: GatehouseClaims | null): ChannelMatcher {
    if (!claims) return this.anonymous;
    const override = this.overrides?.inForce(claims);
    const cached = this.byToken.get(claims);
    if (cached && cached.override === override) return cached.matcher;
    const sub = typeof claims.sub === 'string' ? claims.sub : undefined;
    const granted = override ? override.grants : compileClaimGrants(claims.channels ?? [], sub);
    const matcher = anyOf(this.authenticatedStatic, compileGrants(this.perSubEntries, sub), granted);
    this.byToken.set(claims, { matcher, override });
    return matcher;
  }
}
