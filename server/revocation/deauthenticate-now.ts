import { CloseCode } from '../../shared';
import type { ServerSocket } from '../sc/facade';

/**
 * Deauthenticates a socket and tells its client to drop the stored token, with the message on the wire before
 * anything sent after this call. `socket.deauthenticate()` queues #removeAuthToken on the outbound stream instead:
 * a close right after overtakes it (the client would keep a revoked token) and so does an RPC answer (logout would
 * resolve before the client knows it is anonymous).
 */
export function deauthenticateNow(socket: ServerSocket): void {
  socket.deauthenticateSelf();
  socket.sendObject({ event: '#removeAuthToken' });
}

/** Closes a socket whose token was revoked: its client drops the token first, then the close is final (TokenRevoked). */
export function closeAsRevoked(socket: ServerSocket): void {
  deauthenticateNow(socket);
  socket.disconnect(CloseCode.TokenRevoked, 'Token revoked');
}

/** Closes a socket whose session was verified by a key the operator removed: its client drops the token, then KeyRetired. */
export function closeAsKeyRetired(socket: ServerSocket): void {
  deauthenticateNow(socket);
  socket.disconnect(CloseCode.KeyRetired, 'The key that verified this session was retired');
}
