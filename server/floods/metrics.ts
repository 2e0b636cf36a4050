import type { MetricsRegistry } from '../observability/node-metrics';
import { FLOOD_REASONS, type FloodCounter } from './flood-counter';

/** Adds the flood guards' refusals by reason to the node's metrics, read from the counter at scrape. */
export function registerFloodMetrics(metrics: MetricsRegistry, counter: FloodCounter): void {
  metrics.totals(
    {
      name: 'gatehouse_flood_refusals_total',
      help: 'Connections refused or closed, and calls refused, by the per-address and per-socket flood limits, by reason',
      label: 'reason',
    },
    () => FLOOD_REASONS.map((reason) => [reason, counter.get(reason)] as const),
  );
}
