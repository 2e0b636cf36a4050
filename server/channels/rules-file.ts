import { readFileSync } from 'node:fs';
import { readGrants, usesSub, type GrantEntry } from '../../shared/channel-pattern';

/**
 * ChannelRules are the operator's grants from GATEHOUSE_CHANNELS_FILE: `anyone` applies to every socket,
 * `authenticated` to authenticated sockets only (besides their token's own `channels`). Empty when no file is set,
 * so only tokens grant anything.
 */
export interface ChannelRules {
  readonly anyone: readonly GrantEntry[];
  readonly authenticated: readonly GrantEntry[];
}

export const NO_CHANNEL_RULES: ChannelRules = Object.freeze({ anyone: [], authenticated: [] });

const SECTIONS = ['anyone', 'authenticated'] as const;

/** The rules in a parsed rules document, or every problem found, each naming the bad entry. */
export function parseChannelRules(doc: unknown): { rules: ChannelRules } | { problems: string[] } {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { problems: ['must be a JSON object {"anyone": grants, "authenticated": grants}'] };
  }
  const problems: string[] = [];
  for (const key of Object.keys(doc)) {
    if (!(SECTIONS as readonly string[]).includes(key)) problems.push(`${JSON.stringify(key)}: unknown section (use "anyone" and "authenticated")`);
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
  if (problems.length > 0) return { problems };
  return { rules: Object.freeze({ anyone: Object.freeze(sections.anyone), authenticated: Object.freeze(sections.authenticated) }) };
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
