import type { MetricsRegistry } from '../observability/node-metrics';
import type { RenewalCounters } from './renewal-manager';

/** Adds renewal's and expiry's counts to the node's metrics, read from the manager's counters at scrape. */
export function registerRenewalMetrics(metrics: MetricsRegistry, counters: Readonly<RenewalCounters>): void {
  metrics.total({ name: 'gatehouse_renewals_total', help: 'Tokens renewed on live sockets' }, () => counters.renewals);
  metrics.total({ name: 'gatehouse_renewals_refused_total', help: 'Renewals refused because the session was revoked' }, () => counters.renewalsRefused);
  metrics.total(
    { name: 'gatehouse_renewals_postponed_total', help: 'Renewals postponed because revocation could not be checked' },
    () => counters.renewalsFailed,
  );
  metrics.total({ name: 'gatehouse_expiries_total', help: 'Sockets deauthenticated on time because their token expired' }, () => counters.expiries);
  metrics.total({ name: 'gatehouse_auth_expiring_warnings_total', help: 'gatehouse:authExpiring warnings sent' }, () => counters.warnings);
}
