import type { MetricsRegistry } from '../observability/node-metrics';
import type { FeedHealth } from '../redis/feed-liveness';
import { reportFeedSilences } from '../redis/feed-metrics';
import type { RevocationEnforcer } from './enforcer';

/**
 * Adds revocation's series to the node's metrics: the authenticated sockets it indexes, the sockets it closed as
 * revoked and how long the news took (told by the enforcer), and its announcement feed's silences (with Redis).
 */
export function registerRevocationMetrics(metrics: MetricsRegistry, enforcer: RevocationEnforcer, feed: FeedHealth | undefined): void {
  metrics.gauge({
    name: 'gatehouse_authenticated_sockets',
    help: 'Connections currently authenticated',
    collect() {
      this.set(enforcer.index.size);
    },
  });
  const applied = metrics.counter({
    name: 'gatehouse_revocations_applied_total',
    help: 'Sockets closed on this node because their token, session or user was revoked',
  });
  const propagation = metrics.histogram({
    name: 'gatehouse_revocation_propagation_seconds',
    help: "From a revocation's timestamp to the socket closed, measured by the node that closed it",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  enforcer.observe({
    socketRevoked(delayMs) {
      applied.inc();
      if (delayMs !== undefined) propagation.observe(Math.max(0, delayMs) / 1000);
    },
  });
  reportFeedSilences(metrics, 'revocation', feed);
}
