import { AGServerSocket } from 'socketcluster-server';
import type { Gateway } from '../gateway';
import { ChannelBridge } from './channel-bridge';
import { createRedisPubSub } from './redis-pubsub';
import { installSubscribeErrorBridge } from './subscribe-errors';

export { ClusterBroker, SUBSCRIBE_CONFIRM_TIMEOUT_MS } from './broker';
export { CHANNEL_PREFIX, ChannelBridge, type BridgeStats } from './channel-bridge';
export { encodePublishData, PublishPayloadError } from './payload';

/**
 * Connects the gateway's broker to the other nodes through Redis (GATEHOUSE_REDIS_URL) or a Redis Cluster
 * (GATEHOUSE_REDIS_CLUSTER). Without either it does nothing and the node delivers locally only. The bridge's two
 * connections close with the gateway; /readyz stays 503 until Redis has been reached once.
 */
export function installClusterBus(gateway: Gateway): ChannelBridge | undefined {
  installSubscribeErrorBridge(AGServerSocket);
  const transport = createRedisPubSub(gateway.config, gateway.nodeId);
  if (!transport) return undefined;
  const bridge = new ChannelBridge(gateway.broker, transport, gateway.log.child({ nodeId: gateway.nodeId }), gateway.nodeId);
  gateway.broker.attachBus(bridge);
  bridge.start();
  gateway.addReadinessCheck(() => (bridge.everUp ? undefined : 'cluster bus: Redis not reached yet'));
  gateway.own(() => bridge.close());
  return bridge;
}
