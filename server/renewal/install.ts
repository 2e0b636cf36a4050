import type { Gateway } from '../gateway';
import { RenewalManager, type RevocationProbe } from './renewal-manager';

/** Starts token renewal and on-time expiry for a gateway; the manager is closed with the gateway. */
export function installRenewal(gateway: Gateway, isRevoked: RevocationProbe): RenewalManager {
  const { config } = gateway;
  const manager = new RenewalManager(
    {
      renewIntervalMs: config.renewIntervalMs,
      tokenTtlMs: config.tokenTtlMs,
      sessionMaxAgeMs: config.sessionMaxAgeMs,
      canSign: gateway.keys.signer !== undefined,
    },
    gateway.clock,
    gateway.log,
    isRevoked,
  );
  manager.attach(gateway.authWatch);
  gateway.own(() => manager.close());
  return manager;
}
