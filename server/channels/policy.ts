import type { GatehouseClaims } from '../../shared';
import { anyOf, compileClaimGrants, compileGrants, usesSub, type ChannelMatcher } from '../../shared/channel-pattern';
import type { ChannelRules } from './rules-file';

/**
 * ChannelPolicy gives each socket its matcher: `anyone`, plus `authenticated` and the token's `channels` while the
 * socket is authenticated. The operator's rules compile once here; a token's grants compile once per token (the
 * claims object SocketCluster keeps as `socket.authToken`), so deciding an action never compiles anything.
 */
export class ChannelPolicy {
  /** What an anonymous socket may do. */
  readonly anonymous: ChannelMatcher;
  /** anyone ∪ the `authenticated` entries that do not depend on `sub`. */
  private readonly authenticatedStatic: ChannelMatcher;
  private readonly perSubEntries: ChannelRules['authenticated'];
  private readonly byToken = new WeakMap<GatehouseClaims, ChannelMatcher>();

  constructor(rules: ChannelRules) {
    this.anonymous = compileGrants(rules.anyone);
    this.authenticatedStatic = compileGrants([...rules.anyone, ...rules.authenticated.filter((e) => !usesSub(e.pattern))]);
    this.perSubEntries = rules.authenticated.filter((e) => usesSub(e.pattern));
  }

  /** The matcher for a socket's current claims (null: not authenticated). */
  matcherFor(claims: GatehouseClaims | null): ChannelMatcher {
    if (!claims) return this.anonymous;
    let matcher = this.byToken.get(claims);
    if (!matcher) {
      const sub = typeof claims.sub === 'string' ? claims.sub : undefined;
      matcher = anyOf(
        this.authenticatedStatic,
        compileGrants(this.perSubEntries, sub),
        compileClaimGrants(claims.channels ?? [], sub),
      );
      this.byToken.set(claims, matcher);
    }
    return matcher;
  }
}
