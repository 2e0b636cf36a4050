/**
 * Refuses to unsubscribe a socket from a channel it does not hold.
 *
 * SocketCluster v20 tests `!this.channelSubscriptions[channel]` (serversocket.js `_unsubscribe`), a plain-object lookup
 * that also finds Object.prototype's members: `#unsubscribe "constructor"` passes it and decrements
 * `channelSubscriptionsCount` for a channel never held. `#unsubscribe` reaches no middleware, so a client could send it
 * again and again and push the count, which GATEHOUSE_MAX_CHANNELS is checked against, as low as it liked. This makes
 * the test an own-property one; SocketCluster answers the refusal as any failed unsubscribe (a BrokerError).
 * Installed once, idempotently.
 */

const INSTALLED = Symbol.for('gatehouse.unsubscribeGuard');

interface GuardedSocket {
  readonly channelSubscriptions: object;
}

interface ServerSocketPrototype {
  _unsubscribe?: (this: GuardedSocket, channel: unknown) => Promise<void>;
  [INSTALLED]?: boolean;
}

export function installUnsubscribeGuard(AGServerSocket: { prototype: unknown }): void {
  const proto = AGServerSocket.prototype as ServerSocketPrototype;
  if (proto[INSTALLED]) return;
  const original = proto._unsubscribe;
  if (typeof original !== 'function') {
    // A SocketCluster upgrade moved the seam: fail loudly at start-up rather than let the channel count drift.
    throw new Error('socketcluster-server no longer has AGServerSocket#_unsubscribe; review server/sc/unsubscribe-guard.ts');
  }
  proto._unsubscribe = function guardedUnsubscribe(this: GuardedSocket, channel: unknown) {
    if (typeof channel !== 'string' || !Object.prototype.hasOwnProperty.call(this.channelSubscriptions, channel)) {
      return Promise.reject(new Error('the socket is not subscribed to this channel'));
    }
    return original.call(this, channel);
  };
  proto[INSTALLED] = true;
}
