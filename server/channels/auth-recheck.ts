import type { AuthChange } from '../auth/auth-watch';
import { claimsOf, isOpen, type ServerSocket } from '../sc/facade';
import type { DenialCounter } from './denials';
import type { ChannelPolicy } from './policy';

/** What a kicked-out client reads in its `kickOut` event. */
export const REVOKED_SUBSCRIPTION_MESSAGE = 'Your authentication no longer grants this channel';

/**
 * Kicks a socket out of every channel its current authentication does not let it subscribe to. SocketCluster keeps
 * subscriptions across deauthentication, so this runs on every loss of grants: deauthentication (logout, expiry, a
 * refused re-authentication) and renewal with another token. Gaining authentication only adds grants.
 */
export function recheckSubscriptions(socket: ServerSocket, policy: ChannelPolicy, denials: DenialCounter): void {
  if (!isOpen(socket)) return;
  const matcher = policy.matcherFor(claimsOf(socket));
  for (const channel of socket.subscriptions()) {
    if (matcher.allows('subscribe', channel)) continue;
    denials.count('subscription_revoked');
    // kickOut's promise rejects only if the channel went away meanwhile: nothing left to do then.
    socket.kickOut(channel, REVOKED_SUBSCRIPTION_MESSAGE).catch(() => undefined);
  }
}

/** The AuthWatch listener that runs the re-check on the changes that can take grants away. */
export function recheckOnAuthChange(policy: ChannelPolicy, denials: DenialCounter): (change: AuthChange) => void {
  return (change) => {
    if (change.kind === 'deauthenticated' || change.kind === 'renewed') recheckSubscriptions(change.socket, policy, denials);
  };
}
