import { compileGrants, SUB_PLACEHOLDER, usesSub, type ChannelMatcher } from '../../shared/channel-pattern';

/**
 * PresenceChannels answers which channels keep a member list: those matching a pattern of the rules file's `presence`
 * section. Whether a channel has presence is a property of its name alone, not of who asks: a `{sub}` in a pattern
 * stands for any sub that fills a segment (as a grant's `{sub}` would for its own user), so `user:{sub}:room` gives
 * presence to `user:alice:room` and `user:bob:room` alike. Who may see members is the `presence` capability's
 * business.
 */
export class PresenceChannels {
  private readonly fixed: ChannelMatcher;
  private readonly perSub: readonly RegExp[];
  /** Whether any pattern is listed: without one, presence costs nothing at all. */
  readonly enabled: boolean;

  constructor(patterns: readonly string[]) {
    this.fixed = compileGrants(patterns.filter((p) => !usesSub(p)).map((pattern) => ({ pattern, capabilities: ['subscribe'] })));
    this.perSub = patterns.filter(usesSub).map(subPatternRegExp);
    this.enabled = patterns.length > 0;
  }

  has(channel: string): boolean {
    return this.fixed.allows('subscribe', channel) || this.perSub.some((re) => re.test(channel));
  }
}

/** A `{sub}` pattern as a regular expression: each `{sub}` one segment without `:`, a final `*` any rest. */
function subPatternRegExp(pattern: string): RegExp {
  const isPrefix = pattern.endsWith('*');
  const body = isPrefix ? pattern.slice(0, -1) : pattern;
  const source = body
    .split(SUB_PLACEHOLDER)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^:]+');
  return new RegExp(`^${source}${isPrefix ? '[\\s\\S]*' : ''}$`, 'u');
}
