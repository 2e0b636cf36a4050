import { readFileSync } from 'node:fs';
import { patternProblem, readGrants, usesSub, type GrantEntry } from '../../shared/channel-pattern';

/**
 * ChannelRules are the operator's grants from GATEHOUSE_CHANNELS_FILE: `anyone` applies to every socket,
 * `authenticated` to authenticated sockets only (besides their token's own `channels`). `presence` lists the patterns
 * of the channels that keep a member list (it grants nothing). Empty when no file is set, so only tokens grant
 * anything and no channel has presence.
 */
export interface ChannelRules {
  readonly anyone: readonly GrantEntry[];
  readonly authenticated: readonly GrantEntry[];
  readonly presence: readonly string[];
}

export const NO_CHANNEL_RULES: ChannelRules = Object.freeze({ anyone: [], authenticated: [], presence: [] });

const SECTIONS = ['anyone', 'authenticated'] as const;
const ALL_SECTIONS: readonly string[] = [...SECTIONS, 'presence'];

/** The rules in a parsed rules document, or every problem found, each naming the bad entry. */
export function parseChannelRules(doc: unknown): { rules: ChannelRules } | { problems: string[] } {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { problems: ['must be a JSON object {"anyone": grants, "authenticated": grants, "presence": patterns}'] };
  }
  const problems: string[] = [];
  for (const key of Object.keys(doc)) {
    if (!ALL_SECTIONS.includes(key)) problems.push(`${JSON.stringify(key)}: unknown section (use "anyone", "authenticated" and "presence")`);
  }
  const sections: Record<string, GrantEntry[]> = { anyone: [], authenticated: [] };
  for (const section of SECTIONS) {
    const grants = (doc as Record<string, unknown>)[section];
    if (grants === undefined) continue;
    const read = readGrants(grants);
    for (const { label, problem } of read.problems) problems.push(`${section}${label}: ${problem}`);
    for (const entry of read.entries) {
      if (section === 'anyone' && usesSub(entry.pattern)) {
        problems.push(`anyone[${JSON.stringify(entry.pattern)}]: {sub} needs an authenticated socket; move it to "authenticated"`);
      }
    }
    sections[section] = read.entries;
  }
  const presence = readPresencePatterns((doc as Record<string, unknown>).presence, problems);
  if (problems.length > 0) return { problems };
  return {
    rules: Object.freeze({ anyone: Object.freeze(sections.anyone), authenticated: Object.freeze(sections.authenticated), presence: Object.freeze(presence) }),
  };
}

/** The `presence` section: an array of patterns (the grants' grammar, `{sub}` allowed); each problem is reported. */
function readPresencePatterns(section: unknown, problems: string[]): string[] {
  if (section === undefined) return [];
  if (!Array.isArray(section)) {
    problems.push('presence: must be an array of channel patterns, e.g. ["room:*"]');
    return [];
  }
  const patterns: string[] = [];
  section.forEach((pattern, i) => {
    const problem = patternProblem(pattern);
    if (problem) problems.push(`presence[${i}]: ${problem}`);
    else patterns.push(pattern as string);
  });
  return patterns;
}

/** Reads and validates a rules file; the problems are worded for the config error. */
export function readChannelRulesFile(path: string): { rules: ChannelRules } | { problems: string[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    return { problems: [(err as Error).message] };
  }
  return parseChannelRules(doc);
}
