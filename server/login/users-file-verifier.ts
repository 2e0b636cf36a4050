import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { LoginError, LoginUnavailableError } from '../../shared';
import type { Logger } from '../log';
import { ConcurrencyGate } from './concurrency-gate';
import {
  MAX_CREDENTIAL_LENGTH, describeIssues, identityShape, identitySchema, parseUntrustedJson,
  type CredentialVerifier, type Identity,
} from './credential-verifier';
import {
  DEFAULT_SCRYPT_PARAMS, dummyPasswordHash, parsePasswordHash, verifyPassword, type PasswordHash, type ScryptParams,
} from './password-hash';

/** One user of GATEHOUSE_USERS_FILE, parsed and checked. */
export interface UserRecord {
  readonly username: string;
  readonly passwordHash: PasswordHash;
  readonly identity: Identity;
}

/** Hashes allowed to run at once (each holds a libuv thread and, at the defaults, 128 MiB). */
const MAX_ACTIVE_HASHES = 2;
/** Logins allowed to wait for a hashing slot; beyond this they answer LoginUnavailableError at once. */
const MAX_WAITING_HASHES = 16;
/** Most bad entries named in one error message. */
const MAX_REPORTED = 10;

const entrySchema = z.object({
  username: z.string().min(1).max(MAX_CREDENTIAL_LENGTH),
  passwordHash: z.string(),
  ...identityShape,
}).strict();

/**
 * Parses the users file: a JSON array of `{username, passwordHash, sub, channels?, claims?}`. Throws an Error naming
 * every bad entry (by index and username, never by hash).
 */
export function parseUsersFile(text: string): UserRecord[] {
  let doc: unknown;
  try {
    doc = parseUntrustedJson(text);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(doc)) throw new Error('must be a JSON array of {username, passwordHash, sub, channels?, claims?}');
  const users: UserRecord[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  doc.forEach((raw: unknown, i: number) => {
    const name = (raw as { username?: unknown } | null)?.username;
    const where = typeof name === 'string' ? `entry ${i} (${JSON.stringify(name.slice(0, 64))})` : `entry ${i}`;
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) return void problems.push(`${where}: ${describeIssues(parsed.error)}`);
    const sized = identitySchema.safeParse(parsed.data);
    if (!sized.success) return void problems.push(`${where}: ${describeIssues(sized.error)}`);
    const entry = parsed.data;
    if (seen.has(entry.username)) return void problems.push(`${where}: the username appears twice`);
    seen.add(entry.username);
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

/** Reads and parses the users file; throws an Error saying what is wrong. */
export function readUsersFile(path: string): UserRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseUsersFile(text);
}

/**
 * UsersFileVerifier checks passwords against GATEHOUSE_USERS_FILE. An unknown username is checked against a dummy
 * hash with the file's usual scrypt parameters, so it costs the same time as a wrong password and answers the same
 * LoginError. `reload()` (SIGHUP) re-reads the file; a bad file keeps the previous users.
 */
export class UsersFileVerifier implements CredentialVerifier {
  private users = new Map<string, UserRecord>();
  private dummy: PasswordHash = dummyPasswordHash(DEFAULT_SCRYPT_PARAMS);
  private readonly gate = new ConcurrencyGate(MAX_ACTIVE_HASHES, MAX_WAITING_HASHES, () => new LoginUnavailableError('Too many logins at once; retry shortly'));

  constructor(private readonly path: string, users: readonly UserRecord[], private readonly log: Logger) {
    this.replace(users);
  }

  async verify(username: string, password: string): Promise<Identity> {
    const user = this.users.get(username);
    const ok = await this.gate.run(() => verifyPassword(password, user?.passwordHash ?? this.dummy));
    if (!user || !ok) throw new LoginError();
    return user.identity;
  }

  /** Re-reads the file. Returns whether the new users took effect; on failure logs why and keeps the old ones. */
  reload(): boolean {
    try {
      const users = readUsersFile(this.path);
      this.replace(users);
      this.log.info({ file: this.path, users: users.length }, 'users file reloaded');
      return true;
    } catch (err) {
      this.log.error({ file: this.path, reason: (err as Error).message }, 'users file reload failed; keeping the previous users');
      return false;
    }
  }

  get size(): number {
    return this.users.size;
  }

  private replace(users: readonly UserRecord[]): void {
    this.users = new Map(users.map((u) => [u.username, u]));
    this.dummy = dummyPasswordHash(commonParams(users));
  }
}

/** The scrypt parameters most users' hashes have (the defaults for an empty file). */
function commonParams(users: readonly UserRecord[]): ScryptParams {
  const counts = new Map<string, { params: ScryptParams; n: number }>();
  for (const { passwordHash: { params } } of users) {
    const key = `${params.ln},${params.r},${params.p}`;
    const slot = counts.get(key) ?? { params, n: 0 };
    slot.n++;
    counts.set(key, slot);
  }
  let best: { params: ScryptParams; n: number } | undefined;
  for (const slot of counts.values()) if (!best || slot.n > best.n) best = slot;
  return best?.params ?? DEFAULT_SCRYPT_PARAMS;
}
