import type { GatewayConfig } from '../config';
import type { GatewayHost } from '../host';
import type { ClusterBroker } from './broker';
import { ChannelBridge } from './channel-bridge';
import { registerClusterMetrics } from './metrics';
import { createRedisPubSub } from './redis-pubsub';

export { ClusterBroker, SUBSCRIBE_CONFIRM_TIMEOUT_MS } from './broker';
export { CHANNEL_PREFIX, ChannelBridge, type BridgeStats } from './channel-bridge';
export { encodePublishData, PublishPayloadError } from './payload';

/**
 * Connects the gateway's broker to the other nodes through Redis (GATEHOUSE_REDIS_URL) or a Redis Cluster
 * (GATEHOUSE_REDIS_CLUSTER). Without either it starts nothing and the node delivers locally only. The bridge's two
 * connections close with the host; /readyz stays 503 until Redis has been reached once. Its state is in the metrics.
 */
export function installClusterBus(
  host: GatewayHost<Pick<GatewayConfig, 'redisUrl' | 'redisCluster'>>,
  broker: ClusterBroker,
): ChannelBridge | undefined {
  const transport = createRedisPubSub(host.config, host.nodeId, { name: 'cluster bus', log: host.log });
  const bridge = transport && new ChannelBridge(broker, transport, host.log, host.nodeId);
  registerClusterMetrics(host.metrics, bridge);
  if (!transport || !bridge) return undefined;
  broker.attachBus(bridge);
  bridge.start();
  host.addReadinessCheck(() => (bridge.everUp ? undefined : 'cluster bus: Redis not reached yet'));
  host.addReadinessWarning(() => transport.feed.warning());
  host.own(() => bridge.close());
  return bridge;
}
