import type { MetricsRegistry } from '../observability/node-metrics';
import { DENIAL_REASONS, type DenialCounter } from './denials';

/** What the channel rules report: their refusals, the output held for clients, and the publishes they let through. */
export interface ChannelCounts {
  readonly denials: DenialCounter;
  /** Bytes the node holds for clients that have not read them yet (the slow-consumer budget). */
  readonly outboundBytes: () => number;
  /** Client publishes allowed since start-up. */
  readonly publishes: () => number;
}

/** Adds the channel rules' series to the node's metrics, all read at scrape. */
export function registerChannelMetrics(metrics: MetricsRegistry, counts: ChannelCounts): void {
  metrics.gauge({
    name: 'gatehouse_outbound_buffered_bytes',
    help: 'Bytes queued for clients and not yet taken by them (bounded by GATEHOUSE_MAX_BUFFERED_TOTAL)',
    collect() {
      this.set(counts.outboundBytes());
    },
  });
  metrics.total({ name: 'gatehouse_publishes_total', help: 'Client publishes allowed by the channel rules' }, counts.publishes);
  metrics.totals({ name: 'gatehouse_denials_total', help: 'Refused or ended channel actions by reason', label: 'reason' }, () =>
    DENIAL_REASONS.map((reason) => [reason, counts.denials.get(reason)] as const),
  );
}
