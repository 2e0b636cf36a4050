import type { MetricsRegistry } from '../observability/node-metrics';
import { reportFeedSilences } from '../redis/feed-metrics';
import type { FeedHealth } from '../redis/feed-liveness';

/** What presence counts on this node, read at scrape. */
export class PresenceCounts {
  /** Batches this node's writes made (a member joined, left or changed). */
  batches = 0;
  /** Reports that could not be written (Redis away); each is written again in full later. */
  writeFailures = 0;
  /** Gone nodes' epochs this node reaped. */
  reapedEpochs = 0;
  /** `gatehouse:presence` events sent to this node's watchers. */
  eventsSent = 0;
}

/** Adds presence's series to the node's metrics: its counts, the channels it holds, and its bus' silences. */
export function registerPresenceMetrics(metrics: MetricsRegistry, counts: PresenceCounts, channels: () => number, feed: FeedHealth | undefined): void {
  metrics.total({ name: 'gatehouse_presence_batches_total', help: 'Presence change batches this node wrote' }, () => counts.batches);
  metrics.total(
    { name: 'gatehouse_presence_write_failures_total', help: 'Presence reports not written (Redis away); each channel is written again in full' },
    () => counts.writeFailures,
  );
  metrics.total({ name: 'gatehouse_presence_reaped_epochs_total', help: "Gone nodes' presence entries this node reaped, by epoch" }, () => counts.reapedEpochs);
  metrics.total({ name: 'gatehouse_presence_events_total', help: 'gatehouse:presence events sent to watchers on this node' }, () => counts.eventsSent);
  metrics.gauge({
    name: 'gatehouse_presence_channels',
    help: 'Presence channels this node holds a socket in',
    collect() {
      this.set(channels());
    },
  });
  if (feed) reportFeedSilences(metrics, 'presence_bus', feed);
}
