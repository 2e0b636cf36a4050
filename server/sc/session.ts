import { ServerEvent, type CloseCode, type DeauthenticationReason } from '../../shared';
import type { AGServerSocket } from 'socketcluster-server';

/** How a session's end closes the connection: a final code from the close-code table and its message. */
export interface SessionClose {
  readonly code: CloseCode;
  readonly message: string;
}

/** The reason of the endSession running for a socket, while its deauthentication is being told. */
const ending = new WeakMap<AGServerSocket, DeauthenticationReason>();

/**
 * Why a socket is being deauthenticated, when endSession is doing it: listeners told of the deauthentication
 * synchronously (the AuthWatch) read it there. Undefined for any other deauthentication (a client's own, a refused
 * re-authentication).
 */
export function sessionEndReason(socket: AGServerSocket): DeauthenticationReason | undefined {
  return ending.get(socket);
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
  ending.set(socket, reason);
  try {
    socket.deauthenticateSelf();
  } finally {
    ending.delete(socket);
  }
  socket.sendObject({ event: ServerEvent.Deauthenticated, data: { reason } });
  socket.sendObject({ event: '#removeAuthToken' });
  // disconnect closes before it returns (see closeSocket in ./facade, which imports this module).
  if (close) void socket.disconnect(close.code, close.message);
}
