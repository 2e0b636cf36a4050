import type { Histogram } from 'prom-client';
import type { MetricsRegistry } from '../observability/node-metrics';

/** Adds the Redis round-trip histogram to the node's metrics; the node registry's heartbeat reports into it. */
export function registerRoundTripMetric(metrics: MetricsRegistry): Histogram<'operation'> {
  return metrics.histogram({
    name: 'gatehouse_redis_round_trip_seconds',
    help: 'Redis round-trip time by operation',
    labelNames: ['operation'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
  });
}
