import { AGServerSocket } from 'socketcluster-server';
import type { GatewayHost } from '../host';
import type { ClusterBroker } from './broker';
import { ChannelBridge } from './channel-bridge';
import { createRedisPubSub } from './redis-pubsub';
import type { ClusterSettings } from './settings';
import { installSubscribeErrorBridge } from './subscribe-errors';

export { ClusterBroker, SUBSCRIBE_CONFIRM_TIMEOUT_MS } from './broker';
export { CHANNEL_PREFIX, ChannelBridge, type BridgeStats } from './channel-bridge';
export { encodePublishData, PublishPayloadError } from './payload';

/**
 * Connects the gateway's broker to the other nodes through Redis (GATEHOUSE_REDIS_URL) or a Redis Cluster
 * (GATEHOUSE_REDIS_CLUSTER). Without either it does nothing and the node delivers locally only. The bridge's two
 * connections close with the host; /readyz stays 503 until Redis has been reached once.
 */
export function installClusterBus(
  host: GatewayHost<Pick<ClusterSettings, 'redisUrl' | 'redisCluster'>>,
  broker: ClusterBroker,
): ChannelBridge | undefined {
  installSubscribeErrorBridge(AGServerSocket);
  const transport = createRedisPubSub(host.config, host.nodeId, { name: 'cluster bus', log: host.log });
  if (!transport) return undefined;
  const bridge = new ChannelBridge(broker, transport, host.log, host.nodeId);
  broker.attachBus(bridge);
  bridge.start();
  host.addReadinessCheck(() => (bridge.everUp ? undefined : 'cluster bus: Redis not reached yet'));
  host.addReadinessWarning(() => transport.feed.warning());
  host.own(() => bridge.close());
  return bridge;
}
