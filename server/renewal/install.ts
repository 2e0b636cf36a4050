import type { GatewayConfig } from '../config';
import type { GatewayHost } from '../host';
import { installExpiryNotice } from './expiry-notice';
import { RenewalManager, type RevocationProbe } from './renewal-manager';

export type RenewalSettings = Pick<GatewayConfig, 'renewIntervalMs' | 'tokenTtlMs' | 'sessionMaxAgeMs'>;

/** What renewal needs besides the host: whether the node can sign tokens, and the revocation check. */
export interface RenewalDeps {
  readonly canSign: boolean;
  readonly isRevoked: RevocationProbe;
}

/**
 * Starts token renewal, on-time expiry and the expiry notices (`gatehouse:tokenExpiry`); the manager is closed with
 * the host.
 */
export function installRenewal(host: GatewayHost<RenewalSettings>, { canSign, isRevoked }: RenewalDeps): RenewalManager {
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
  );
  manager.attach(host.authWatch);
  installExpiryNotice(host.authWatch, host.clock);
  host.own(() => manager.close());
  return manager;
}
