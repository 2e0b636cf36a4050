import { GatehouseError } from '../../shared';
import { patchSocketMethods } from '../sc/patch';

/**
 * Lets a named error thrown by the broker's `subscribeSocket` reach the client unchanged.
 *
 * SocketCluster v20 wraps any error from `brokerEngine.subscribeSocket` in a `BrokerError` whose message embeds the
 * original (`AGServerSocket#_processSubscribeRequest`, serversocket.js), so the client would see `BrokerError`
 * instead of `SubscribeUnavailableError`. This wraps `_subscribeSocket` to remember a GatehouseError it threw, and
 * `_processSubscribeRequest` to answer the request with that error instead of the wrapper. A socket's inbound packets
 * are processed one at a time, so one remembered error per socket suffices. Every other error keeps SocketCluster's
 * handling. Installed once, idempotently.
 */

interface SubscribeRequest {
  error(err: unknown): void;
}

export function installSubscribeErrorBridge(AGServerSocket: { prototype: unknown }): void {
  const seam = { name: 'subscribeErrorBridge', file: 'server/cluster/subscribe-errors.ts' };
  patchSocketMethods(AGServerSocket, seam, ['_subscribeSocket', '_processSubscribeRequest'], (original) => {
    const named = new WeakMap<object, GatehouseError>();
    return {
      async _subscribeSocket(this: object, channel: string, options: unknown) {
        try {
          return await original._subscribeSocket.call(this, channel, options);
        } catch (err) {
          if (err instanceof GatehouseError) named.set(this, err);
          throw err;
        }
      },
      async _processSubscribeRequest(this: object, request: SubscribeRequest) {
        const socket = this;
        const answer = request.error;
        request.error = function error(this: SubscribeRequest, err: unknown) {
          const original = named.get(socket);
          named.delete(socket);
          return answer.call(this, original ?? err);
        };
        try {
          return await original._processSubscribeRequest.call(this, request);
        } finally {
          named.delete(socket);
        }
      },
    };
  });
}
