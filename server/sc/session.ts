import { ServerEvent, type CloseCode, type DeauthenticationReason } from '../../shared';
import type { AGServerSocket } from 'socketcluster-server';

/** How a session's end closes the connection: a final code from the close-code table and its message. */
export interface SessionClose {
  readonly code: CloseCode;
  readonly message: string;
}

/**
 * endSession ends a socket's authenticated session for logout, revocation, key retirement and expiry alike: the
 * socket is deauthenticated at once, its client is told why (the Deauthenticated event, so it can tell a revocation
 * from an expiry) and told to drop its stored token, and with `close` the connection then closes with that code. The
 * AuthWatch hears of it from inside the deauthentication, so the channel rules and the revocation index have let go
 * of the socket when this returns.
 *
 * Both messages are written now, not queued. SocketCluster's own `deauthenticate()` queues `#removeAuthToken` on the
 * socket's outbound stream, which anything written directly overtakes: the close (the client would keep a revoked
 * token, and come back with it) and an RPC answer (logout would resolve while the client still thinks itself
 * authenticated). Writing now gives every caller one order: Deauthenticated, then `#removeAuthToken`, then the close
 * or the answer. Packets already queued (publishes, and the kick-outs the deauthentication itself starts) follow the
 * token's removal: the client needs none of them before it.
 */
export function endSession(socket: AGServerSocket, reason: DeauthenticationReason, close?: SessionClose): void {
  socket.deauthenticateSelf();
  socket.sendObject({ event: ServerEvent.Deauthenticated, data: { reason } });
  socket.sendObject({ event: '#removeAuthToken' });
  if (close) socket.disconnect(close.code, close.message);
}
