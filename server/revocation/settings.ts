import type { SettingsReader } from '../settings-kit/reader';

/** Revocation's slice of the configuration. */
export interface RevocationSettings {
  /**
   * GATEHOUSE_REDIS_TIMEOUT: how long a Redis call may take, ms, before authentication (and logout) fails closed with
   * AuthUnavailableError; login limits and the admin API wait on Redis as long. Default 500ms.
   */
  readonly redisTimeoutMs: number;
}

/** Reads the revocation settings, reporting each problem to the reader. */
export function readRevocationSettings(r: SettingsReader): RevocationSettings {
  return { redisTimeoutMs: r.duration('GATEHOUSE_REDIS_TIMEOUT', '500ms', { min: 10, max: 60_000 }) };
}
