import type { GatehouseClaims, TokenExpiry } from '../shared';

/** A token's claims, read without verifying it (the gateway verifies; the client only plans with them). */
export function claimsOf(token: string): GatehouseClaims | null {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
    return claims && typeof claims === 'object' && 'exp' in claims && typeof claims.exp === 'number' ? (claims as GatehouseClaims) : null;
  } catch {
    return null;
  }
}

/**
 * The gateway's clock as this client last learned it: each `gatehouse:tokenExpiry` says how many seconds a token has
 * left, which fixes the offset between the gateway's clock and ours. Deadlines then come out right even when the
 * client's clock is minutes off.
 */
export class GatewayClock {
  /** Gateway time minus local time, ms; 0 until the first notice. */
  private offset = 0;

  learn(notice: TokenExpiry, localNow = Date.now()): void {
    this.offset = notice.exp * 1000 - notice.expiresIn * 1000 - localNow;
  }

  /** Seconds `claims` have left by the gateway's clock. */
  secondsLeft(claims: GatehouseClaims, localNow = Date.now()): number {
    return claims.exp - (localNow + this.offset) / 1000;
  }
}
