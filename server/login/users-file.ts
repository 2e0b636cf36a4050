import { readFileSync } from 'node:fs';
import { readGrants } from '../../shared/channel-pattern';
import { z } from 'zod';
import { MAX_CREDENTIAL_LENGTH, describeIssues, identityShape, identitySchema, parseUntrustedJson, type Identity } from './credential-verifier';
import { parsePasswordHash, type PasswordHash } from './password-hash';
import { canonicalUsername } from './username-key';

// The users file format (GATEHOUSE_USERS_FILE), read at start-up by config and on SIGHUP by the verifier.

/** One user of GATEHOUSE_USERS_FILE, parsed and checked. */
export interface UserRecord {
  readonly username: string;
  readonly passwordHash: PasswordHash;
  readonly identity: Identity;
}

/** Most bad entries named in one error message. */
const MAX_REPORTED = 10;

const entrySchema = z
  .object({
    username: z.string().min(1).max(MAX_CREDENTIAL_LENGTH),
    passwordHash: z.string(),
    ...identityShape,
  })
  .strict();

/**
 * Parses the users file: a JSON array of `{username, passwordHash, sub, channels?, claims?}`. Throws an Error naming
 * every bad entry (by index and username, never by hash). Usernames match exactly as written, but two that differ
 * only by case, white space at the ends, compatibility forms or invisible characters are refused: the login limiter
 * counts them as one (canonicalUsername), so one user's failures would lock the other out.
 */
export function parseUsersFile(text: string): UserRecord[] {
  let doc: unknown;
  try {
    doc = parseUntrustedJson(text);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (!Array.isArray(doc)) throw new Error('must be a JSON array of {username, passwordHash, sub, channels?, claims?}');
  const users: UserRecord[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  doc.forEach((raw: unknown, i: number) => {
    const name = (raw as { username?: unknown } | null)?.username;
    const where = typeof name === 'string' ? `entry ${i} (${JSON.stringify(name.slice(0, 64))})` : `entry ${i}`;
    const plain = entryProblems(raw);
    if (plain.length > 0) return void problems.push(...plain.map((p) => `${where} ${p}`));
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) return void problems.push(`${where}: ${describeIssues(parsed.error)}`);
    const sized = identitySchema.safeParse(parsed.data);
    if (!sized.success) return void problems.push(`${where}: ${describeIssues(sized.error)}`);
    const entry = parsed.data;
    const key = canonicalUsername(entry.username);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      const same = (doc[earlier] as { username: string }).username === entry.username;
      return void problems.push(
        same
          ? `${where}: the username appears twice`
          : `${where}: the username differs from entry ${earlier}'s only by case, spacing or invisible characters; the login limit would count them as one user`,
      );
    }
    seen.set(key, i);
    let passwordHash: PasswordHash;
    try {
      passwordHash = parsePasswordHash(entry.passwordHash);
    } catch (err) {
      return void problems.push(`${where}: passwordHash: ${(err as Error).message}`);
    }
    users.push({ username: entry.username, passwordHash, identity: { sub: entry.sub, channels: entry.channels, claims: entry.claims } });
  });
  if (problems.length > 0) {
    const more = problems.length > MAX_REPORTED ? `; and ${problems.length - MAX_REPORTED} more` : '';
    throw new Error(problems.slice(0, MAX_REPORTED).join('; ') + more);
  }
  return users;
}

/**
 * The mistakes people make in a users file, each as a sentence that says what to do: a plain `password` where the hash
 * belongs, and channel grants that grant nothing (which entry, which grant and why). Zod's checks handle the rest.
 */
function entryProblems(raw: unknown): string[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return ['is not an object like {"username", "passwordHash", "sub"}'];
  }
  const entry = raw as Record<string, unknown>;
  const problems: string[] = [];
  if ('password' in entry) {
    problems.push(
      'has a "password" field, but the users file holds password hashes only: replace it with a "passwordHash" '
        + "made by `printf '%s\\n' 'the password' | npx gatehouse hash-password`",
    );
  }
  if (entry.channels !== undefined) {
    const { problems: grants } = readGrants(entry.channels);
    for (const { label, problem } of grants) {
      problems.push(label === '' ? `has "channels" that ${problem}` : `has a channel grant channels${label} that grants nothing: ${problem}`);
    }
  }
  return problems;
}

/** Why a reload ends a user's sessions. */
export type DepartureReason = 'removed' | 'password changed' | 'sub changed';

/** A user of the previous users file whose live sessions a reload ends, by the `sub` their tokens carry. */
export interface DepartedUser {
  readonly username: string;
  readonly sub: string;
  readonly why: DepartureReason;
}

/**
 * The users of `before` that `after` no longer admits as they were: gone, given a new password hash (a changed
 * password is an operator ending whatever the old one let in), or moved to another sub (the old sub's tokens would
 * otherwise live on). A change of channels or claims only is not a departure.
 */
export function departedUsers(before: readonly UserRecord[], after: readonly UserRecord[]): DepartedUser[] {
  const now = new Map(after.map((u) => [u.username, u]));
  const departed: DepartedUser[] = [];
  for (const old of before) {
    const next = now.get(old.username);
    const why: DepartureReason | undefined = !next
      ? 'removed'
      : !samePasswordHash(old.passwordHash, next.passwordHash)
        ? 'password changed'
        : old.identity.sub !== next.identity.sub
          ? 'sub changed'
          : undefined;
    if (why) departed.push({ username: old.username, sub: old.identity.sub, why });
  }
  return departed;
}

function samePasswordHash(a: PasswordHash, b: PasswordHash): boolean {
  return a.params.ln === b.params.ln && a.params.r === b.params.r && a.params.p === b.params.p && a.salt.equals(b.salt) && a.hash.equals(b.hash);
}

/** Reads and parses the users file; throws an Error saying what is wrong. */
export function readUsersFile(path: string): UserRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  return parseUsersFile(text);
}
