import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { LoginUnavailableError, RateLimitedError } from '../../shared';
import type { Logger } from '../log';
import { ipLimiterKey } from '../http/client-ip';
import type { RedisConnection } from '../redis/connection';
import { canonicalUsername } from './username-key';

/** How many failed logins are allowed, and over what window; how many logins of any outcome, a minute. */
export interface LoginLimits {
  /** Failed logins per username within a window (default 5). */
  readonly maxFailuresPerUser: number;
  /** Failed logins per client IP within a window (default 20). */
  readonly maxFailuresPerIp: number;
  /** The fixed window, in milliseconds (default 15 minutes); whole seconds are used. */
  readonly windowMs: number;
  /** Login attempts per username a minute, whatever their outcome (default 10). */
  readonly maxAttemptsPerUser: number;
  /** Login attempts per client IP a minute, whatever their outcome (default 60). */
  readonly maxAttemptsPerIp: number;
}

/** The window attempts of any outcome are counted over, in seconds. */
const ATTEMPT_WINDOW_SECONDS = 60;

/** How a reserved login attempt ended. */
/**
 * How a reserved login attempt ended. `busy`: the login queue was full; it costs the address a failure point (a flood
 * from an address pays for it) but not the username (whose owner did nothing).
 */
export type AttemptOutcome = 'success' | 'failure' | 'unavailable' | 'busy';

/** A login attempt the limiter let through; settle it once the verifier has answered. */
export interface Reservation {
  settle(outcome: AttemptOutcome): Promise<void>;
}

/**
 * LoginLimiter counts logins per username and per client IP (rate-limiter-flexible; Redis or the Redis Cluster when
 * the gateway has one, so every node shares the counts, else memory), on two kinds of counter:
 * - failures, over GATEHOUSE_LOGIN_FAILURE_WINDOW: what guessing costs;
 * - attempts of any outcome, a minute: successes and "unavailable" answers too, so an account the attacker owns, or
 *   a login backend that is down, gives no free attempts.
 *
 * Every attempt reserves a point on each counter BEFORE the password is checked, so parallel attempts cannot slip
 * past a limit and a refused attempt costs no hashing; the IP's points are taken first, and an attempt refused for
 * its IP takes nothing from the username. Settling gives back the failure points of what was not a failure: a
 * success clears the username's failure counter and returns the IP's failure point, an unavailable answer returns
 * both; attempt points are never given back. When the store cannot answer, logins fail closed with
 * LoginUnavailableError.
 */
export class LoginLimiter {
  private readonly failuresPerUser: RateLimiterAbstract;
  private readonly failuresPerIp: RateLimiterAbstract;
  private readonly attemptsPerUser: RateLimiterAbstract;
  private readonly attemptsPerIp: RateLimiterAbstract;
  private storeFailing = false;

  constructor(
    limits: LoginLimits,
    private readonly log: Logger,
    redis?: RedisConnection,
  ) {
    const make = (keyPrefix: string, points: number, duration: number) =>
      redis ? new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration }) : new RateLimiterMemory({ keyPrefix, points, duration });
    const window = Math.max(1, Math.round(limits.windowMs / 1000));
    this.failuresPerUser = make('gatehouse:login-fail:user', limits.maxFailuresPerUser, window);
    this.failuresPerIp = make('gatehouse:login-fail:ip', limits.maxFailuresPerIp, window);
    this.attemptsPerUser = make('gatehouse:login-rate:user', limits.maxAttemptsPerUser, ATTEMPT_WINDOW_SECONDS);
    this.attemptsPerIp = make('gatehouse:login-rate:ip', limits.maxAttemptsPerIp, ATTEMPT_WINDOW_SECONDS);
  }

  /** Reserves an attempt, or throws RateLimitedError (with retryAfter) or LoginUnavailableError. */
  async reserve(username: string, ip: string): Promise<Reservation> {
    const userKey = canonicalUsername(username);
    const ipKey = ipLimiterKey(ip);
    // The address first: an attempt refused for its address never touches a username's count, so a blocked address
    // can neither lock its victims out nor make the limiter keep a counter for every username it makes up.
    await this.consume(this.attemptsPerIp, ipKey, 'Too many logins from this address; retry later');
    await this.consume(this.failuresPerIp, ipKey, 'Too many failed logins; retry later');
    await this.consume(this.attemptsPerUser, userKey, 'Too many logins for this username; retry later');
    await this.consume(this.failuresPerUser, userKey, 'Too many failed logins; retry later');
    return {
      settle: async (outcome) => {
        if (outcome === 'failure') return;
        const undo =
          outcome === 'success'
            ? [this.failuresPerUser.delete(userKey), this.failuresPerIp.reward(ipKey, 1)]
            : outcome === 'busy'
              ? [this.failuresPerUser.reward(userKey, 1)]
              : [this.failuresPerUser.reward(userKey, 1), this.failuresPerIp.reward(ipKey, 1)];
        const results = await Promise.allSettled(undo);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) this.storeTrouble(failed.reason);
      },
    };
  }

  /** Takes one point, or throws RateLimitedError when the key is over its limit, LoginUnavailableError when the store fails. */
  private async consume(limiter: RateLimiterAbstract, key: string, refusal: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (reason) {
      if (!(reason instanceof RateLimiterRes)) {
        this.storeTrouble(reason);
        throw new LoginUnavailableError();
      }
      this.storeRecovered();
      throw new RateLimitedError(refusal, reason.msBeforeNext / 1000);
    }
    this.storeRecovered();
  }

  private storeTrouble(err: unknown): void {
    if (this.storeFailing) return;
    this.storeFailing = true;
    this.log.warn({ reason: (err as Error)?.message ?? String(err) }, 'login limiter store unavailable; refusing logins');
  }

  private storeRecovered(): void {
    if (!this.storeFailing) return;
    this.storeFailing = false;
    this.log.info('login limiter store available again');
  }
}
