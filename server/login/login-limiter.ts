import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { LoginUnavailableError, RateLimitedError } from '../../shared';
import type { Logger } from '../log';
import { ipLimiterKey } from '../http/client-ip';
import type { RedisConnection } from '../redis/connection';

/** How many failed logins are allowed, and over what window. */
export interface LoginLimits {
  /** Failed logins per username within a window (default 5). */
  readonly maxFailuresPerUser: number;
  /** Failed logins per client IP within a window (default 20). */
  readonly maxFailuresPerIp: number;
  /** The fixed window, in milliseconds (default 15 minutes); whole seconds are used. */
  readonly windowMs: number;
}

/** How a reserved login attempt ended. */
export type AttemptOutcome = 'success' | 'failure' | 'unavailable';

/** A login attempt the limiter let through; settle it once the verifier has answered. */
export interface Reservation {
  settle(outcome: AttemptOutcome): Promise<void>;
}

/**
 * LoginLimiter counts failed logins per username and per client IP (rate-limiter-flexible; Redis or the Redis
 * Cluster when the gateway has one, so every node shares the counts, else memory). Every attempt reserves a point on
 * both counters BEFORE the password is checked, so parallel attempts cannot slip past the limit and a refused attempt
 * costs no hashing; the IP's point is taken first, and an attempt refused for its IP takes nothing from the username.
 * Settling gives back what was not a failure: a success clears the username's counter and returns the IP's point,
 * an unavailable backend returns both. When the store cannot answer, logins fail closed with LoginUnavailableError.
 */
export class LoginLimiter {
  private readonly perUser: RateLimiterAbstract;
  private readonly perIp: RateLimiterAbstract;
  private storeFailing = false;

  constructor(limits: LoginLimits, private readonly log: Logger, redis?: RedisConnection) {
    const duration = Math.max(1, Math.round(limits.windowMs / 1000));
    const make = (keyPrefix: string, points: number) => redis
      ? new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration })
      : new RateLimiterMemory({ keyPrefix, points, duration });
    this.perUser = make('gatehouse:login-fail:user', limits.maxFailuresPerUser);
    this.perIp = make('gatehouse:login-fail:ip', limits.maxFailuresPerIp);
  }

  /** Reserves an attempt, or throws RateLimitedError (with retryAfter) or LoginUnavailableError. */
  async reserve(username: string, ip: string): Promise<Reservation> {
    const userKey = usernameKey(username);
    const ipKey = ipLimiterKey(ip);
    // The address first: an attempt refused for its address never touches a username's count, so a blocked address
    // can neither lock its victims out nor make the limiter keep a counter for every username it makes up.
    await this.consume(this.perIp, ipKey);
    await this.consume(this.perUser, userKey);
    return {
      settle: async (outcome) => {
        if (outcome === 'failure') return;
        const undo = outcome === 'success'
          ? [this.perUser.delete(userKey), this.perIp.reward(ipKey, 1)]
          : [this.perUser.reward(userKey, 1), this.perIp.reward(ipKey, 1)];
        const results = await Promise.allSettled(undo);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) this.storeTrouble(failed.reason);
      },
    };
  }

  /** Takes one point, or throws RateLimitedError when the key is over its limit, LoginUnavailableError when the store fails. */
  private async consume(limiter: RateLimiterAbstract, key: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (reason) {
      if (!(reason instanceof RateLimiterRes)) {
        this.storeTrouble(reason);
        throw new LoginUnavailableError();
      }
      this.storeRecovered();
      throw new RateLimitedError('Too many failed logins; retry later', reason.msBeforeNext / 1000);
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

/** Case variants of a username share one counter, so `Alice` and `alice` cannot double an attacker's budget. */
function usernameKey(username: string): string {
  return username.normalize('NFKC').toLowerCase();
}
