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

import { patchSocketMethods } from './patch';

interface GuardedSocket {
  readonly channelSubscriptions: object;
}

export function installUnsubscribeGuard(AGServerSocket: { prototype: unknown }): void {
  patchSocketMethods(AGServerSocket, { name: 'unsubscribeGuard', file: 'server/sc/unsubscribe-guard.ts' }, ['_unsubscribe'], (original) => ({
    _unsubscribe(this: GuardedSocket, channel: unknown) {
      if (typeof channel !== 'string' || !Object.prototype.hasOwnProperty.call(this.channelSubscriptions, channel)) {
        return Promise.reject(new Error('the socket is not subscribed to this channel'));
      }
      return original._unsubscribe.call(this, channel);
    },
  }));
}
