import { CloseCode, type GatehouseClaims } from '../../shared';
import type { Logger } from '../log';
import { endSession, isOpen, type ServerSocket } from '../sc/facade';
import type { KeyRing } from './keyring';
import { sessionKeyOf } from './session-claims';

/** Whether the key that verified this session is gone from the ring. */
export function isKeyRetired(claims: GatehouseClaims, keys: KeyRing): boolean {
  const kid = sessionKeyOf(claims);
  return kid !== undefined && !keys.has(kid);
}

/** Closes a socket whose session was verified by a key the operator removed: its client drops the token, then KeyRetired. */
export function closeAsKeyRetired(socket: ServerSocket): void {
  // For the client the session with that key has ended: it needs a token signed with a current key.
  endSession(socket, 'session-ended', { code: CloseCode.KeyRetired, message: 'The key that verified this session was retired' });
}

/**
 * Ends every live session whose key a reload removed: each socket is deauthenticated (its client drops the token)
 * and closed with KeyRetired, final. Without this a socket verified by a leaked key the operator removed would keep
 * its authentication, and its renewals, until it left. Returns how many it closed.
 */
export function closeRetiredSessions(live: readonly [ServerSocket, GatehouseClaims][], keys: KeyRing, log: Logger): number {
  let closed = 0;
  const kids = new Set<string>();
  for (const [socket, claims] of live) {
    if (!isOpen(socket) || !isKeyRetired(claims, keys)) continue;
    kids.add(sessionKeyOf(claims)!);
    closeAsKeyRetired(socket);
    closed += 1;
  }
  if (closed > 0) log.info({ kids: [...kids], closed }, 'closed the sessions of retired keys');
  return closed;
}
