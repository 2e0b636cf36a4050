import { GatehouseError } from '../../shared';

/**
 * Whether an error the broker's `subscribeSocket` throws reaches the client as it is (server/sc/subscribe-error-bridge.ts):
 * the gateway's named errors do (`SubscribeUnavailableError` when the channel's Redis subscription does not hold),
 * rather than SocketCluster's `BrokerError` wrapper. Any other error keeps SocketCluster's handling.
 */
export function isOwnSubscribeError(err: unknown): boolean {
  return err instanceof GatehouseError;
}
