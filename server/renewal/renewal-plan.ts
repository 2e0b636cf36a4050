import { expiryWarningSeconds, MAX_EXPIRY_WARNING_SECONDS, type GatehouseClaims } from '../../shared';

/** What the renewal manager will do next for one socket, and when (epoch ms). */
export type Step =
  { readonly kind: 'renew'; readonly at: number } | { readonly kind: 'warn'; readonly at: number } | { readonly kind: 'expire'; readonly at: number };

export interface RenewalPolicy {
  /** Renewal interval in ms; 0 turns renewal off. */
  readonly renewIntervalMs: number;
  readonly tokenTtlMs: number;
  readonly sessionMaxAgeMs: number;
  /** Whether the gateway has a key to sign with. */
  readonly canSign: boolean;
}

/** Longest warning ahead of exp, ms. */
export const MAX_WARNING_MS = MAX_EXPIRY_WARNING_SECONDS * 1000;
/** Renew at least this long before exp, so a slow round trip never lets the token lapse. */
const RENEW_MARGIN_MS = 2_000;

/**
 * The session's start (Unix seconds): auth_time carried through renewals, else the first token's iat. A token's
 * auth_time is never taken as later than its iat (the session cannot start after its token was issued; verification
 * already refuses one later by more than the clock tolerance), so no signer can push GATEHOUSE_SESSION_MAX_AGE back.
 */
export function sessionStart(claims: GatehouseClaims, nowMs: number): number {
  const iat = typeof claims.iat === 'number' ? claims.iat : Math.floor(nowMs / 1000);
  return typeof claims.auth_time === 'number' ? Math.min(claims.auth_time, iat) : iat;
}

/** When the session's maximum age is reached, epoch ms. */
export function sessionEnd(claims: GatehouseClaims, policy: RenewalPolicy, nowMs: number): number {
  return sessionStart(claims, nowMs) * 1000 + policy.sessionMaxAgeMs;
}

/**
 * The next step for a freshly (re)authenticated socket. Pure: `jitter` in [0, 1) spreads sockets that
 * authenticated together over the last fifth of the interval.
 */
export function planNext(claims: GatehouseClaims, policy: RenewalPolicy, nowMs: number, jitter: number): Step {
  const expMs = claims.exp * 1000;
  const renewable =
    policy.renewIntervalMs > 0
    && policy.canSign
    // A renewal must still buy time before the session ends, else it is pointless.
    && sessionEnd(claims, policy, nowMs) > Math.min(expMs, nowMs + policy.renewIntervalMs) + RENEW_MARGIN_MS;
  if (renewable) {
    const byInterval = nowMs + policy.renewIntervalMs * (0.8 + 0.2 * jitter);
    const beforeExp = expMs - Math.min(RENEW_MARGIN_MS + policy.renewIntervalMs * 0.1, (expMs - nowMs) / 2);
    return { kind: 'renew', at: Math.max(nowMs, Math.min(byInterval, beforeExp)) };
  }
  const warnAt = expMs - expiryWarningSeconds(claims) * 1000;
  return warnAt > nowMs ? { kind: 'warn', at: warnAt } : { kind: 'expire', at: expiryTime(claims) };
}

/** When a token counts as expired: SocketCluster's rule is `now > exp * 1000`. */
export function expiryTime(claims: GatehouseClaims): number {
  return claims.exp * 1000 + 1;
}
