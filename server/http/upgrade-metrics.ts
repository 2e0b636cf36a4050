import type { MetricsRegistry } from '../observability/node-metrics';
import { UPGRADE_REFUSAL_REASONS, type UpgradeRefusalReason } from './upgrade-gate';

/** Adds the upgrade gate's refusals by reason to the node's metrics, read from the gate at scrape. */
export function registerUpgradeMetrics(metrics: MetricsRegistry, refusals: Readonly<Record<UpgradeRefusalReason, number>>): void {
  metrics.totals(
    {
      name: 'gatehouse_upgrades_refused_total',
      help: 'WebSocket upgrades refused before any handshake, by reason: origin (closed with 4504), not_ready (401), node_full, node_rate and loop_delay (shed with 503)',
      label: 'reason',
    },
    () => UPGRADE_REFUSAL_REASONS.map((reason) => [reason, refusals[reason]] as const),
  );
}
