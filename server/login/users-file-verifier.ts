import { LoginError } from '../../shared';
import type { Logger } from '../log';
import { ConcurrencyGate, LoginQueueFullError } from './concurrency-gate';
import type { CredentialVerifier, Identity } from './credential-verifier';
import { DEFAULT_SCRYPT_PARAMS, dummyPasswordHash, scryptWork, verifyPassword, type PasswordHash, type ScryptParams } from './password-hash';
import { departedUsers, readUsersFile, type DepartedUser, type UserRecord } from './users-file';

/** Hashes allowed to run at once (each holds a libuv thread and, at the defaults, 128 MiB). */
const MAX_ACTIVE_HASHES = 2;
/** Logins allowed to wait for a hashing slot; beyond this they answer LoginUnavailableError at once. */
const MAX_WAITING_HASHES = 16;
/** Most usernames named in the mixed-parameters warning. */
const MAX_REPORTED = 10;

/**
 * UsersFileVerifier checks passwords against GATEHOUSE_USERS_FILE. An unknown username is checked against a dummy
 * hash with the file's strongest scrypt parameters and answers the same LoginError as a wrong password; a file that
 * mixes parameters is logged at load with the users to rehash, since a user hashed more cheaply than the dummy
 * answers faster than an unknown name. At most MAX_ACTIVE_HASHES hash at once, the rest wait fairly per requester.
 * `reload()` (SIGHUP) re-reads the file and answers whose sessions must end; a bad file keeps the previous users.
 */
export class UsersFileVerifier implements CredentialVerifier {
  private users = new Map<string, UserRecord>();
  private dummy: PasswordHash = dummyPasswordHash(DEFAULT_SCRYPT_PARAMS);
  private readonly gate = new ConcurrencyGate(MAX_ACTIVE_HASHES, MAX_WAITING_HASHES, () => new LoginQueueFullError());

  constructor(
    private readonly path: string,
    users: readonly UserRecord[],
    private readonly log: Logger,
  ) {
    this.replace(users);
  }

  async verify(username: string, password: string, requester: string): Promise<Identity> {
    const user = this.users.get(username);
    const ok = await this.gate.run(requester, () => verifyPassword(password, user?.passwordHash ?? this.dummy));
    if (!user || !ok) throw new LoginError();
    return user.identity;
  }

  /**
   * Re-reads the file. Returns the users it no longer admits as they were (departedUsers), whose sessions the caller
   * ends; on failure logs why, keeps the old users and returns undefined (nothing to end).
   */
  reload(): DepartedUser[] | undefined {
    let users: UserRecord[];
    try {
      users = readUsersFile(this.path);
    } catch (err) {
      this.log.error({ file: this.path, reason: (err as Error).message }, 'users file reload failed; keeping the previous users');
      return undefined;
    }
    const departed = departedUsers([...this.users.values()], users);
    this.replace(users);
    this.log.info({ file: this.path, users: users.length, departed: departed.length }, 'users file reloaded');
    return departed;
  }

  get size(): number {
    return this.users.size;
  }

  private replace(users: readonly UserRecord[]): void {
    this.users = new Map(users.map((u) => [u.username, u]));
    const strongest = strongestParams(users);
    this.dummy = dummyPasswordHash(strongest);
    const weaker = users.filter((u) => !sameParams(u.passwordHash.params, strongest)).map((u) => u.username);
    if (weaker.length > 0) {
      this.log.warn(
        {
          file: this.path,
          strongest: describeParams(strongest),
          weaker: weaker.length,
          rehash: weaker.slice(0, MAX_REPORTED),
        },
        'users file mixes scrypt parameters: these users answer faster than an unknown username, which tells them apart; rehash their passwords with `npx gatehouse hash-password`',
      );
    }
  }
}

/** The costliest parameters in the file (most work, then most memory); the defaults for an empty file. */
export function strongestParams(users: readonly UserRecord[]): ScryptParams {
  let best: ScryptParams | undefined;
  for (const {
    passwordHash: { params },
  } of users) {
    if (
      !best
      || scryptWork(params) > scryptWork(best)
      || (scryptWork(params) === scryptWork(best) && params.ln + Math.log2(params.r) > best.ln + Math.log2(best.r))
    ) {
      best = params;
    }
  }
  return best ?? DEFAULT_SCRYPT_PARAMS;
}

function sameParams(a: ScryptParams, b: ScryptParams): boolean {
  return a.ln === b.ln && a.r === b.r && a.p === b.p;
}

function describeParams({ ln, r, p }: ScryptParams): string {
  return `ln=${ln},r=${r},p=${p}`;
}
