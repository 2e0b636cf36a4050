import { CloseCode, ServerEvent, type DeauthenticationReason } from '../../shared';
import type { ServerSocket } from '../sc/facade';

/**
 * Deauthenticates a socket and tells its client to drop the stored token, with the message on the wire before
 * anything sent after this call. `socket.deauthenticate()` queues #removeAuthToken on the outbound stream instead:
 * a close right after overtakes it (the client would keep a revoked token) and so does an RPC answer (logout would
 * resolve before the client knows it is anonymous).
 */
export function deauthenticateNow(socket: ServerSocket, reason: DeauthenticationReason): void {
  socket.deauthenticateSelf();
  // Why, first: the client cannot tell a revocation from an expiry by #removeAuthToken alone.
  socket.sendObject({ event: ServerEvent.Deauthenticated, data: { reason } });
  socket.sendObject({ event: '#removeAuthToken' });
}

/** Closes a socket whose token was revoked: its client drops the token first, then the close is final (TokenRevoked). */
export function closeAsRevoked(socket: ServerSocket): void {
  deauthenticateNow(socket, 'revoked');
  socket.disconnect(CloseCode.TokenRevoked, 'Token revoked');
}

/** Closes a socket whose session was verified by a key the operator removed: its client drops the token, then KeyRetired. */
export function closeAsKeyRetired(socket: ServerSocket): void {
  // For the client the session with that key has ended: it needs a token signed with a current key.
  deauthenticateNow(socket, 'session-ended');
  socket.disconnect(CloseCode.KeyRetired, 'The key that verified this session was retired');
}
