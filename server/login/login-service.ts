import { BadRequestError, GatehouseError, LoginError, LoginUnavailableError, RateLimitedError } from '../../shared';
import { ipLimiterKey } from '../http/client-ip';
import type { Logger } from '../log';
import { MAX_CREDENTIAL_LENGTH, type CredentialVerifier, type Identity } from './credential-verifier';
import { LoginQueueFullError } from './concurrency-gate';
import { InFlightCap } from './in-flight';
import type { LoginLimiter, Reservation } from './login-limiter';

/**
 * Login attempts one client address may have under way on a node at once. Two lets a user retry a mistyped password
 * while the first answer is on its way; more would let one address hold the hashing slots every user shares.
 */
export const MAX_LOGINS_IN_FLIGHT_PER_IP = 2;

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
  for (const [name, value] of [
    ['username', username],
    ['password', password],
  ] as const) {
    if (typeof value !== 'string' || value.length < 1 || value.length > MAX_CREDENTIAL_LENGTH) {
      throw new BadRequestError(`${name} must be a string of 1 to ${MAX_CREDENTIAL_LENGTH} characters`);
    }
  }
  return { username: username as string, password: password as string };
}

/**
 * LoginService is one login attempt from payload to identity, shared by the RPC procedure and POST /auth/login:
 * shape check, signing key present, at most MAX_LOGINS_IN_FLIGHT_PER_IP per address at once, limiter, verifier
 * (queued fairly per address), log. Every failure is a named GatehouseError. Passwords and tokens never reach the
 * log; the username (trimmed to 64 characters) and the outcome do.
 */
export class LoginService {
  /** Attempts since start-up by outcome, for the metrics endpoint. */
  readonly outcomes: Record<LoginOutcome, number> = { success: 0, failure: 0, rate_limited: 0, unavailable: 0, bad_request: 0 };
  private readonly inFlight = new InFlightCap(MAX_LOGINS_IN_FLIGHT_PER_IP);

  constructor(
    private readonly verifier: CredentialVerifier,
    private readonly limiter: LoginLimiter,
    private readonly canSign: () => boolean,
    private readonly log: Logger,
    /** See LoginDeps.pastUserRevocation. */
    private readonly pastUserRevocation: (sub: string) => Promise<void> = () => Promise.resolve(),
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
    const address = ipLimiterKey(origin.ip);
    if (!this.inFlight.tryTake(address)) {
      this.log.info({ ...who, outcome: 'rate-limited', reason: 'in-flight' }, 'login refused: too many at once from this address');
      throw new RateLimitedError('Too many logins at once from this address; wait for the answers', 1);
    }
    try {
      return await this.check({ username, password }, origin.ip, address, who);
    } finally {
      this.inFlight.release(address);
    }
  }

  /** The limiter, then the verifier queued under `address` (the IP's limiter key). */
  private async check({ username, password }: Credentials, ip: string, address: string, who: Record<string, string>): Promise<Identity> {
    let reservation: Reservation;
    try {
      reservation = await this.limiter.reserve(username, ip);
    } catch (err) {
      if (err instanceof RateLimitedError) this.log.info({ ...who, outcome: 'rate-limited', retryAfter: err.retryAfter }, 'login refused');
      throw err;
    }
    let identity: Identity;
    try {
      identity = await this.verifier.verify(username, password, address);
    } catch (err) {
      if (err instanceof LoginError) {
        await reservation.settle('failure');
        this.log.info({ ...who, outcome: 'failure' }, 'login failed');
        throw err;
      }
      await reservation.settle(err instanceof LoginQueueFullError ? 'busy' : 'unavailable');
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
