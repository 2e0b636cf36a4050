/**
 * Refuses to unsubscribe a socket from a channel it does not hold, or from one whose unsubscribe is in flight.
 *
 * SocketCluster v20 tests `!this.channelSubscriptions[channel]` (serversocket.js `_unsubscribe`), a plain-object lookup
 * that also finds Object.prototype's members: `#unsubscribe "constructor"` passes it and decrements
 * `channelSubscriptionsCount` for a channel never held. `#unsubscribe` reaches no middleware, so a client could send it
 * again and again and push the count, which GATEHOUSE_MAX_CHANNELS is checked against, as low as it liked. This makes
 * the test an own-property one; SocketCluster answers the refusal as any failed unsubscribe (a BrokerError).
 *
 * The entry is deleted, and the count lowered, only once the broker's unsubscribe has finished, so two unsubscribes
 * of one channel started before the first finishes both pass that test and lower the count twice. One frame does
 * it: `#removeAuthToken` (whose deauthentication kicks the socket out of its private channels, an unsubscribe this
 * does not await) then `#unsubscribe` of one of them. A second unsubscribe while one is in flight waits for that one
 * and lowers nothing. It must not fail: when the socket closes meanwhile, SocketCluster unsubscribes it from every
 * channel in a Promise.all it never catches, so a refusal there was an unhandled rejection, which ends the process
 * (`[#removeAuthToken, #authenticate without a cid]` in one frame did it). Installed once, idempotently.
 */

import { patchSocketMethods } from './patch';

interface GuardedSocket {
  readonly channelSubscriptions: object;
}

/** The unsubscribes in flight for each socket, by channel. */
const leaving = new WeakMap<object, Map<string, Promise<unknown>>>();

export function installUnsubscribeGuard(AGServerSocket: { prototype: unknown }): void {
  patchSocketMethods(AGServerSocket, { name: 'unsubscribeGuard', file: 'server/sc/unsubscribe-guard.ts' }, ['_unsubscribe'], (original) => ({
    async _unsubscribe(this: GuardedSocket, channel: unknown) {
      if (typeof channel !== 'string') throw new Error('the socket is not subscribed to this channel');
      const inFlight = leaving.get(this)?.get(channel);
      if (inFlight)
        return inFlight.then(
          () => undefined,
          () => undefined,
        );
      if (!Object.prototype.hasOwnProperty.call(this.channelSubscriptions, channel)) {
        throw new Error('the socket is not subscribed to this channel');
      }
      let mine = leaving.get(this);
      if (!mine) leaving.set(this, (mine = new Map<string, Promise<unknown>>()));
      const unsubscribe = original._unsubscribe.call(this, channel) as Promise<unknown>;
      mine.set(channel, unsubscribe);
      try {
        return await unsubscribe;
      } finally {
        mine.delete(channel);
        if (mine.size === 0) leaving.delete(this);
      }
    },
  }));
}
