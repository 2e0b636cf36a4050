import type { GatehouseClaims, TokenExpiry } from '../../shared';

/** How long `claims` have left at `nowMs` by the gateway's clock: seconds to the millisecond, never negative. */
export function tokenExpiry(claims: Pick<GatehouseClaims, 'exp'>, nowMs: number): TokenExpiry {
  return { exp: claims.exp, expiresIn: Math.max(0, Math.round(claims.exp * 1000 - nowMs) / 1000) };
}
