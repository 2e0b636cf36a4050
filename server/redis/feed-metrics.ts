import type { MetricsRegistry } from '../observability/node-metrics';
import type { FeedHealth } from './feed-liveness';

/** The features' Redis subscriptions, as the `feed` label names them. */
export type FeedLabel = 'revocation' | 'cluster_bus' | 'admin_bus' | 'presence_bus';

/**
 * Adds one Redis feed's silences to the node's metrics under its label, read at scrape: each feature that subscribes
 * reports its own feed into the one family. Without a feed (no Redis) the family is listed with no value for it.
 */
export function reportFeedSilences(metrics: MetricsRegistry, label: FeedLabel, feed: FeedHealth | undefined): void {
  metrics.totals(
    {
      name: 'gatehouse_redis_feed_silences_total',
      help: 'Times a Redis subscription went silent (a heartbeat Redis took never came back) and its connection was made again, by feed',
      label: 'feed',
    },
    () => (feed ? [[label, feed.silences]] : []),
  );
}
