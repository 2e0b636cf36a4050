import { BadRequestError, GatehouseError, LoginError, LoginUnavailableError, RateLimitedError } from '../../shared';
import type { Logger } from '../log';
import { MAX_CREDENTIAL_LENGTH, type CredentialVerifier, type Identity } from './credential-verifier';
import type { LoginLimiter, Reservation } from './login-limiter';

/** A login request's credentials, checked for shape. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Where a login came from, for the limiter and the log. */
export interface LoginOrigin {
  readonly ip: string;
  readonly via: 'rpc' | 'http';
}

/**
 * Checks a login payload's shape: an object with string `username` and `password` of 1 to 256 characters each.
 * Throws BadRequestError naming the field (never echoing its value).
 */
export function parseCredentials(data: unknown): Credentials {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new BadRequestError('login expects an object {username, password}');
  }
  const { username, password } = data as Record<string, unknown>;
  for (const [name, value] of [['username', username], ['password', password]] as const) {
    if (typeof value !== 'string' || value.length < 1 || value.length > MAX_CREDENTIAL_LENGTH) {
      throw new BadRequestError(`${name} must be a string of 1 to ${MAX_CREDENTIAL_LENGTH} characters`);
    }
  }
  return { username: username as string, password: password as string };
}

/**
 * LoginService is one login attempt from payload to identity, shared by the RPC procedure and POST /auth/login:
 * shape check, signing key present, limiter, verifier, log. Every failure is a named GatehouseError. Passwords and
 * tokens never reach the log; the username (trimmed to 64 characters) and the outcome do.
 */
export class LoginService {
  /** Attempts since start-up by outcome, for the metrics endpoint. */
  readonly outcomes: Record<LoginOutcome, number> = { success: 0, failure: 0, rate_limited: 0, unavailable: 0, bad_request: 0 };

  constructor(
    private readonly verifier: CredentialVerifier,
    private readonly limiter: LoginLimiter,
    private readonly canSign: () => boolean,
    private readonly log: Logger,
    /** See LoginDeps.pastUserRevocation. */
    private readonly pastUserRevocation: (sub: string) => Promise<void> = async () => undefined,
  ) {}

  async attempt(data: unknown, origin: LoginOrigin): Promise<Identity> {
    try {
      const identity = await this.run(data, origin);
      this.outcomes.success++;
      return identity;
    } catch (err) {
      this.outcomes[outcomeOf(err)]++;
      throw err;
    }
  }

  private async run(data: unknown, origin: LoginOrigin): Promise<Identity> {
    const { username, password } = parseCredentials(data);
    const who = { username: username.slice(0, 64), ip: origin.ip, via: origin.via };
    if (!this.canSign()) {
      this.log.warn({ ...who, outcome: 'unavailable' }, 'login refused: this gateway has no key to sign tokens with');
      throw new LoginUnavailableError();
    }
    let reservation: Reservation;
    try {
      reservation = await this.limiter.reserve(username, origin.ip);
    } catch (err) {
      if (err instanceof RateLimitedError) this.log.info({ ...who, outcome: 'rate-limited', retryAfter: err.retryAfter }, 'login refused');
      throw err;
    }
    let identity: Identity;
    try {
      identity = await this.verifier.verify(username, password);
    } catch (err) {
      if (err instanceof LoginError) {
        await reservation.settle('failure');
        this.log.info({ ...who, outcome: 'failure' }, 'login failed');
        throw err;
      }
      await reservation.settle('unavailable');
      if (err instanceof GatehouseError) {
        this.log.info({ ...who, outcome: 'unavailable' }, 'login unavailable');
        throw err;
      }
      this.log.error({ ...who, err }, 'credential verifier failed');
      throw new LoginUnavailableError();
    }
    await reservation.settle('success');
    await this.pastUserRevocation(identity.sub);
    this.log.info({ ...who, sub: identity.sub, outcome: 'success' }, 'login succeeded');
    return identity;
  }
}

export type LoginOutcome = 'success' | 'failure' | 'rate_limited' | 'unavailable' | 'bad_request';

function outcomeOf(err: unknown): LoginOutcome {
  if (err instanceof LoginError) return 'failure';
  if (err instanceof RateLimitedError) return 'rate_limited';
  if (err instanceof BadRequestError) return 'bad_request';
  return 'unavailable';
}
