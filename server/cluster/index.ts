import type { GatewayHost } from '../host';
import type { ClusterBroker } from './broker';
import { ChannelBridge } from './channel-bridge';
import { registerClusterMetrics } from './metrics';
import type { PubSubTransport } from './transport';

export { ClusterBroker, SUBSCRIBE_CONFIRM_TIMEOUT_MS } from './broker';
export { CHANNEL_PREFIX, ChannelBridge, type BridgeStats } from './channel-bridge';
export { MemoryPubSub, MemoryPubSubHub } from './memory-pubsub';
export { encodePublishData, PublishPayloadError } from './payload';
export type { PubSubTransport } from './transport';

/**
 * Connects the gateway's broker to the other nodes through the transport the node's backends made: Redis
 * (GATEHOUSE_REDIS_URL), a Redis Cluster (GATEHOUSE_REDIS_CLUSTER), or the memory hub of nodes sharing one process.
 * Without one it does nothing and the node delivers locally only. The bridge closes with the host; /readyz stays 503
 * until the transport has been up once and its publisher connected. Its state is in the metrics.
 */
export function installClusterBus(host: GatewayHost<unknown>, broker: ClusterBroker, transport: PubSubTransport | undefined): ChannelBridge | undefined {
  const bridge = transport && new ChannelBridge(broker, transport, host.log, host.nodeId);
  registerClusterMetrics(host.metrics, bridge);
  if (!transport || !bridge) return undefined;
  broker.attachBus(bridge);
  bridge.start();
  // A publish fails at once while the publisher connects: the node takes no client's publish before it can send one.
  let publisherUp = false;
  host.addReadinessCheck(() => {
    if (!bridge.everUp) return 'cluster bus: Redis not reached yet';
    publisherUp ||= transport.canPublish;
    return publisherUp ? undefined : 'cluster bus: publisher not connected yet';
  });
  host.addReadinessWarning(() => transport.feed.warning());
  host.own(() => bridge.close());
  return bridge;
}
