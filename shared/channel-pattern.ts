/**
 * Channel names and channel grant patterns, shared by the gateway and the browser client (imports nothing at run
 * time).
 *
 * A pattern is an exact channel name, or a prefix when it ends in `*` (`chat:*`; `*` alone is every channel). A `*`
 * anywhere else is an ordinary character. `{sub}` stands for the token's `sub`, inserted literally: a `*` inside a
 * sub never becomes a wildcard. `{sub}` fills one whole segment (segments are separated by `:`): in a pattern it is
 * followed by `:` or ends an exact pattern, and a sub containing `:` fills no `{sub}` at all (those grants grant it
 * nothing). Otherwise one user's prefix would cover another's channels: with `user:{sub}:*`, sub `bob` would hold
 * `user:bob:admin:…`, the channels of sub `bob:admin`; with `user:{sub}*`, those of sub `bobby`. A compiled matcher decides in time proportional to the channel name's length,
 * however many patterns it holds.
 */
import type { Capability } from './claims';

/** Longest channel name, in characters (Unicode code points). */
export const MAX_CHANNEL_NAME_LENGTH = 256;
/** Longest pattern, in characters, before `{sub}` is substituted. */
export const MAX_PATTERN_LENGTH = 256;
/** The one placeholder a pattern may hold. */
export const SUB_PLACEHOLDER = '{sub}';
/** What separates the segments of a channel name; `{sub}` fills one whole segment, so a sub holding it fills none. */
export const SEGMENT_SEPARATOR = ':';
export const CAPABILITIES: readonly Capability[] = ['subscribe', 'publish', 'presence'];

/**
 * Why `name` is not an acceptable channel name (empty, too long, a control character, broken UTF-16, the name of an
 * Object.prototype member), or undefined.
 */
export function channelNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  if (name.length === 0) return 'must not be empty';
  // SocketCluster keeps channels as keys of plain objects (a socket's subscriptions, the broker's subscribers):
  // `__proto__` would make a socket a member of Object.prototype, the other names shadow built-in members.
  if (Object.prototype.hasOwnProperty.call(Object.prototype, name)) return `must not be ${JSON.stringify(name)} (reserved)`;
  // Two UTF-16 units per code point at most: anything longer is over the limit without looking further.
  if (name.length > 2 * MAX_CHANNEL_NAME_LENGTH) return `is longer than ${MAX_CHANNEL_NAME_LENGTH} characters`;
  const problem = textProblem(name);
  if (problem) return problem;
  // Counting code points takes a second pass; a name of at most that many UTF-16 units cannot have more.
  if (name.length > MAX_CHANNEL_NAME_LENGTH && codePointCount(name) > MAX_CHANNEL_NAME_LENGTH) {
    return `is longer than ${MAX_CHANNEL_NAME_LENGTH} characters`;
  }
  return undefined;
}

/** Why `pattern` is not an acceptable grant pattern, or undefined. */
export function patternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string') return 'a pattern must be a string';
  if (pattern.length === 0) return 'a pattern must not be empty';
  if (pattern.length > 2 * MAX_PATTERN_LENGTH || codePointCount(pattern) > MAX_PATTERN_LENGTH) {
    return `a pattern must not be longer than ${MAX_PATTERN_LENGTH} characters`;
  }
  const problem = textProblem(pattern);
  if (problem) return `a pattern ${problem}`;
  const placeholder = /\{[A-Za-z_][A-Za-z0-9_]*\}/g;
  for (let m = placeholder.exec(pattern); m !== null; m = placeholder.exec(pattern)) {
    if (m[0] !== SUB_PLACEHOLDER) return `unknown placeholder ${m[0]} (only ${SUB_PLACEHOLDER} is substituted)`;
    const after = pattern.slice(m.index + m[0].length);
    if (after !== '' && !after.startsWith(SEGMENT_SEPARATOR)) {
      return (
        `${SUB_PLACEHOLDER} must fill a whole segment: follow it with "${SEGMENT_SEPARATOR}" or end the pattern with it `
        + `(as written, one user's channels would cover another's: "user:${SUB_PLACEHOLDER}*" gives sub "bob" the channels of "bobby")`
      );
    }
  }
  return undefined;
}

/** One grant: a pattern and what it allows. */
export interface GrantEntry {
  readonly pattern: string;
  readonly capabilities: readonly Capability[];
}

/** Grants read from either claim form, with a problem for each entry that grants nothing (`label` names it). */
export interface ReadGrants {
  readonly entries: GrantEntry[];
  readonly problems: { readonly label: string; readonly problem: string }[];
}

/**
 * Reads the two grant forms: an array of patterns (each grants subscribe, publish and presence) or a map of pattern to a
 * non-empty list of capabilities. Every bad entry is reported and left out; the good ones are kept.
 */
export function readGrants(grants: unknown): ReadGrants {
  const entries: GrantEntry[] = [];
  const problems: { label: string; problem: string }[] = [];
  if (Array.isArray(grants)) {
    grants.forEach((pattern, i) => {
      const problem = patternProblem(pattern);
      if (problem) problems.push({ label: `[${i}]`, problem });
      else entries.push({ pattern: pattern as string, capabilities: CAPABILITIES });
    });
    return { entries, problems };
  }
  if (grants === null || typeof grants !== 'object') {
    problems.push({ label: '', problem: 'must be an array of patterns or an object of pattern → ["subscribe", "publish", "presence"]' });
    return { entries, problems };
  }
  for (const [pattern, caps] of Object.entries(grants as Record<string, unknown>)) {
    const label = `[${JSON.stringify(pattern)}]`;
    const problem = patternProblem(pattern) ?? capabilitiesProblem(caps);
    if (problem) problems.push({ label, problem });
    else entries.push({ pattern, capabilities: [...new Set(caps as Capability[])] });
  }
  return { entries, problems };
}

function capabilitiesProblem(caps: unknown): string | undefined {
  if (!Array.isArray(caps) || caps.length === 0) return 'must be a non-empty array of "subscribe", "publish" and "presence"';
  const bad: unknown = caps.find((c) => !(CAPABILITIES as readonly unknown[]).includes(c));
  return bad === undefined ? undefined : `${JSON.stringify(bad)} is not a capability (use "subscribe", "publish" or "presence")`;
}

/** Whether a pattern needs a `sub` to mean anything. */
export function usesSub(pattern: string): boolean {
  return pattern.includes(SUB_PLACEHOLDER);
}

/** A compiled set of grants: answers "may this socket do that on this channel". */
export interface ChannelMatcher {
  allows(capability: Capability, channel: string): boolean;
}

/** Grants nothing. */
export const DENY_ALL: ChannelMatcher = { allows: () => false };

/** Whether `sub` can fill a `{sub}` segment: it must not hold the segment separator. */
export function fillsSubSegment(sub: string): boolean {
  return !sub.includes(SEGMENT_SEPARATOR);
}

/**
 * Compiles grant entries into a matcher. `{sub}` is replaced by `sub`; without a `sub`, or with one that cannot fill
 * a segment (it holds `:`), entries using it grant nothing.
 */
export function compileGrants(entries: readonly GrantEntry[], sub?: string): ChannelMatcher {
  const sets: Record<Capability, PatternSet> = { subscribe: new PatternSet(), publish: new PatternSet(), presence: new PatternSet() };
  for (const { pattern, capabilities } of entries) {
    if (usesSub(pattern) && (sub === undefined || !fillsSubSegment(sub))) continue;
    const isPrefix = pattern.endsWith('*');
    // Substitute after the wildcard is decided, so a `*` at the end of a sub stays literal.
    const template = isPrefix ? pattern.slice(0, -1) : pattern;
    const text = sub === undefined ? template : template.split(SUB_PLACEHOLDER).join(sub);
    for (const capability of capabilities) {
      if (isPrefix) sets[capability].addPrefix(text);
      else sets[capability].addExact(text);
    }
  }
  const subscribe = sets.subscribe.seal();
  const publish = sets.publish.seal();
  const presence = sets.presence.seal();
  if (!subscribe && !publish && !presence) return DENY_ALL;
  return {
    allows: (capability, channel) => {
      const set = capability === 'subscribe' ? subscribe : capability === 'publish' ? publish : capability === 'presence' ? presence : undefined;
      return set !== undefined && set.matches(channel);
    },
  };
}

/** A matcher that allows what any of `matchers` allows. */
export function anyOf(...matchers: ChannelMatcher[]): ChannelMatcher {
  const useful = matchers.filter((m) => m !== DENY_ALL);
  if (useful.length === 0) return DENY_ALL;
  if (useful.length === 1) return useful[0];
  return { allows: (capability, channel) => useful.some((m) => m.allows(capability, channel)) };
}

/** Compiles a token's raw `channels` claim; entries that are not valid grant nothing. */
export function compileClaimGrants(grants: unknown, sub?: string): ChannelMatcher {
  return compileGrants(readGrants(grants).entries, sub);
}

/** A prefix trie node, keyed by UTF-16 code unit. */
interface TrieNode {
  end: boolean;
  next?: Map<number, TrieNode>;
}

/**
 * Exact names in a Set plus prefixes in a trie. `matches` hashes the name once and walks the trie at most once along
 * it: time proportional to the name's length, whatever the number of patterns.
 */
class PatternSet {
  private readonly exact = new Set<string>();
  private readonly root: TrieNode = { end: false };
  private hasPrefixes = false;

  addExact(name: string): void {
    this.exact.add(name);
  }

  addPrefix(prefix: string): void {
    this.hasPrefixes = true;
    let node = this.root;
    for (let i = 0; i < prefix.length && !node.end; i++) {
      const code = prefix.charCodeAt(i);
      node.next ??= new Map();
      let child = node.next.get(code);
      if (!child) {
        child = { end: false };
        node.next.set(code, child);
      }
      node = child;
    }
    // A shorter prefix already covers everything below; drop the subtree it makes redundant.
    node.end = true;
    node.next = undefined;
  }

  /** The set, or undefined when it grants nothing. */
  seal(): PatternSet | undefined {
    return this.exact.size === 0 && !this.hasPrefixes ? undefined : this;
  }

  matches(name: string): boolean {
    if (this.exact.has(name)) return true;
    if (!this.hasPrefixes) return false;
    let node: TrieNode | undefined = this.root;
    for (let i = 0; ; i++) {
      if (node.end) return true;
      if (i === name.length || !node.next) return false;
      node = node.next.get(name.charCodeAt(i));
      if (!node) return false;
    }
  }
}

/** A control character (C0, DEL, C1) or an unpaired surrogate, described; else undefined. One pass. */
function textProblem(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return `must not contain control characters (U+${c.toString(16).toUpperCase().padStart(4, '0')} at ${i})`;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (next < 0xdc00 || next > 0xdfff) return 'must be well-formed Unicode (unpaired surrogate)';
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return 'must be well-formed Unicode (unpaired surrogate)';
    }
  }
  return undefined;
}

function codePointCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}
