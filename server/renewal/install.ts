import type { AuthSettings } from '../auth/settings';
import type { GatewayHost } from '../host';
import { installExpiryNotice } from './expiry-notice';
import { registerRenewalMetrics } from './metrics';
import { RenewalManager, type RetiredKeyProbe, type RevocationProbe } from './renewal-manager';
import type { RenewalSettings } from './settings';

/** Renewal's slice of the configuration and the lifetime of the tokens it signs. */
export type RenewalHostSettings = RenewalSettings & Pick<AuthSettings, 'tokenTtlMs'>;

/** What renewal needs besides the host: whether the node can sign tokens, the revocation check, the key check. */
export interface RenewalDeps {
  readonly canSign: boolean;
  readonly isRevoked: RevocationProbe;
  /** Whether the key that verified a session is gone (a reload removed it): such a session is never renewed. */
  readonly isKeyRetired: RetiredKeyProbe;
}

/**
 * Starts token renewal, on-time expiry and the expiry notices (`gatehouse:tokenExpiry`), counted in the node's
 * metrics; the manager is closed with the host.
 */
export function installRenewal(host: GatewayHost<RenewalHostSettings>, { canSign, isRevoked, isKeyRetired }: RenewalDeps): RenewalManager {
  const { config } = host;
  const manager = new RenewalManager(
    {
      renewIntervalMs: config.renewIntervalMs,
      tokenTtlMs: config.tokenTtlMs,
      sessionMaxAgeMs: config.sessionMaxAgeMs,
      canSign,
    },
    host.clock,
    host.log,
    isRevoked,
    isKeyRetired,
  );
  manager.attach(host.authWatch);
  registerRenewalMetrics(host.metrics, manager.counters);
  installExpiryNotice(host.authWatch, host.clock);
  host.own(() => manager.close());
  return manager;
}
