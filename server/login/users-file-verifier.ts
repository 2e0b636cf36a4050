import { LoginError, LoginUnavailableError } from '../../shared';
import type { Logger } from '../log';
import { ConcurrencyGate } from './concurrency-gate';
import type { CredentialVerifier, Identity } from './credential-verifier';
import { DEFAULT_SCRYPT_PARAMS, dummyPasswordHash, verifyPassword, type PasswordHash, type ScryptParams } from './password-hash';
import { readUsersFile, type UserRecord } from './users-file';

/** Hashes allowed to run at once (each holds a libuv thread and, at the defaults, 128 MiB). */
const MAX_ACTIVE_HASHES = 2;
/** Logins allowed to wait for a hashing slot; beyond this they answer LoginUnavailableError at once. */
const MAX_WAITING_HASHES = 16;

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
