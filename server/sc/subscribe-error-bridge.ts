import { patchSocketMethods } from './patch';

/**
 * Lets a named error thrown by the broker's `subscribeSocket` reach the client unchanged.
 *
 * SocketCluster v20 wraps any error from `brokerEngine.subscribeSocket` in a `BrokerError` whose message embeds the
 * original (`AGServerSocket#_processSubscribeRequest`, serversocket.js), so the client would see `BrokerError`
 * instead of, say, `SubscribeUnavailableError`. This wraps `_subscribeSocket` to remember an error it threw that
 * `passes` accepts, and `_processSubscribeRequest` to answer the request with that error instead of the wrapper. A
 * socket's inbound packets are processed one at a time, so one remembered error per socket suffices. Every other
 * error keeps SocketCluster's handling. Installed once per process, idempotently: the first `passes` stays.
 */

interface SubscribeRequest {
  error(err: unknown): void;
}

export function installSubscribeErrorBridge(AGServerSocket: { prototype: unknown }, passes: (err: unknown) => boolean): void {
  const seam = { name: 'subscribeErrorBridge', file: 'server/sc/subscribe-error-bridge.ts' };
  patchSocketMethods(AGServerSocket, seam, ['_subscribeSocket', '_processSubscribeRequest'], (original) => {
    const named = new WeakMap<object, unknown>();
    return {
      async _subscribeSocket(this: object, channel: string, options: unknown) {
        try {
          return await original._subscribeSocket.call(this, channel, options);
        } catch (err) {
          if (passes(err)) named.set(this, err);
          throw err;
        }
      },
      async _processSubscribeRequest(this: object, request: SubscribeRequest) {
        const answer = request.error.bind(request);
        request.error = (err: unknown) => {
          const remembered = named.get(this);
          named.delete(this);
          answer(remembered ?? err);
        };
        try {
          return await original._processSubscribeRequest.call(this, request);
        } finally {
          named.delete(this);
        }
      },
    };
  });
}
