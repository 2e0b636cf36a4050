import { GatehouseError } from '../../shared';

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

const INSTALLED = Symbol.for('gatehouse.subscribeErrorBridge');

interface SubscribeRequest {
  error(err: unknown): void;
}

interface ServerSocketPrototype {
  _subscribeSocket?: (this: object, channel: string, options: unknown) => Promise<void>;
  _processSubscribeRequest?: (this: object, request: SubscribeRequest) => Promise<void>;
  [INSTALLED]?: boolean;
}

export function installSubscribeErrorBridge(AGServerSocket: { prototype: unknown }): void {
  const proto = AGServerSocket.prototype as ServerSocketPrototype;
  if (proto[INSTALLED]) return;
  const subscribe = proto._subscribeSocket;
  const processRequest = proto._processSubscribeRequest;
  if (typeof subscribe !== 'function' || typeof processRequest !== 'function') {
    // A SocketCluster upgrade moved the seam: fail loudly at start-up rather than mislabel subscribe errors.
    throw new Error('socketcluster-server no longer has AGServerSocket#_subscribeSocket/_processSubscribeRequest; review server/cluster/subscribe-errors.ts');
  }
  const named = new WeakMap<object, GatehouseError>();

  proto._subscribeSocket = async function subscribeSocket(channel, options) {
    try {
      return await subscribe.call(this, channel, options);
    } catch (err) {
      if (err instanceof GatehouseError) named.set(this, err);
      throw err;
    }
  };

  proto._processSubscribeRequest = async function processSubscribeRequest(request) {
    const socket = this;
    const answer = request.error;
    request.error = function error(this: SubscribeRequest, err: unknown) {
      const original = named.get(socket);
      named.delete(socket);
      return answer.call(this, original ?? err);
    };
    try {
      return await processRequest.call(this, request);
    } finally {
      named.delete(socket);
    }
  };
  proto[INSTALLED] = true;
}
