import type { AuthSettings } from '../auth/settings';
import type { SettingsReader } from '../settings-kit/reader';

/** Renewal's slice of the configuration. */
export interface RenewalSettings {
  /** GATEHOUSE_RENEW_INTERVAL: how often authenticated sockets get a fresh token, ms; 0 is off (default 5m). */
  readonly renewIntervalMs: number;
  /**
   * GATEHOUSE_SESSION_MAX_AGE: no renewal reaches past the session's start (auth_time, else the first token's iat)
   * plus this, ms (default 24h).
   */
  readonly sessionMaxAgeMs: number;
}

/**
 * Reads the renewal settings, reporting each problem to the reader. A development node renews every 30 s, so the demo
 * shows renewals; the gateway's tokens (GATEHOUSE_TOKEN_TTL) must outlive the interval, or they lapse between renewals.
 */
export function readRenewalSettings(r: SettingsReader, { devMode, tokenTtlMs }: Pick<AuthSettings, 'devMode' | 'tokenTtlMs'>): RenewalSettings {
  const renewIntervalMs = r.duration('GATEHOUSE_RENEW_INTERVAL', devMode ? '30s' : '5m');
  const sessionMaxAgeMs = r.duration('GATEHOUSE_SESSION_MAX_AGE', '24h', { min: 1000 });
  if (renewIntervalMs > 0 && tokenTtlMs <= renewIntervalMs) {
    // Both values as the operator wrote them (or the defaults), so the fix is obvious.
    r.problem(
      'GATEHOUSE_TOKEN_TTL',
      `${r.raw('GATEHOUSE_TOKEN_TTL') ?? '15m'} must be longer than GATEHOUSE_RENEW_INTERVAL (${r.raw('GATEHOUSE_RENEW_INTERVAL') ?? '5m'}), or tokens lapse between renewals; or set GATEHOUSE_RENEW_INTERVAL=0`,
    );
  }
  return { renewIntervalMs, sessionMaxAgeMs };
}
