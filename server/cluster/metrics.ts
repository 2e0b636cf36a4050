import type { MetricsRegistry } from '../observability/node-metrics';
import { reportFeedSilences } from '../redis/feed-metrics';
import type { ChannelBridge } from './channel-bridge';

/** Adds the cross-node bus's state and its feed's silences to the node's metrics; `bridge` is undefined without Redis. */
export function registerClusterMetrics(metrics: MetricsRegistry, bridge: ChannelBridge | undefined): void {
  metrics.gauge({
    name: 'gatehouse_cluster_bus_connected',
    help: '1 while the cross-node Redis bus is connected (absent without Redis)',
    collect() {
      if (bridge) this.set(bridge.connected ? 1 : 0);
    },
  });
  if (bridge) reportFeedSilences(metrics, 'cluster_bus', bridge.feed);
}
