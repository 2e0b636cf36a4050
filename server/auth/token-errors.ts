import { AuthError } from '../../shared';

/**
 * Lets our named authentication errors reach the client unchanged.
 *
 * SocketCluster v20 maps any error thrown by `authEngine.verifyToken` through `AGServerSocket#_processTokenError`,
 * which keeps only jsonwebtoken's three names and renames everything else to `AuthTokenError` with
 * `isBadToken = true` (serversocket.js). That would turn `AuthUnavailableError` into a bad token and delete the
 * client's token. This wraps that one method so an `AuthError` passes through as it is, with its own `isBadToken`;
 * every other error keeps SocketCluster's handling. It covers the handshake and `socket.authenticate()` alike, since
 * both go through `_validateAuthToken`. Installed once, idempotently.
 */

const INSTALLED = Symbol.for('gatehouse.tokenErrorBridge');

interface ServerSocketPrototype {
  _processTokenError?: (err: unknown) => unknown;
  [INSTALLED]?: boolean;
}

export function installTokenErrorBridge(AGServerSocket: { prototype: unknown }): void {
  const proto = AGServerSocket.prototype as ServerSocketPrototype;
  if (proto[INSTALLED]) return;
  const original = proto._processTokenError;
  if (typeof original !== 'function') {
    // A SocketCluster upgrade moved the seam: fail loudly at start-up rather than mislabel auth errors.
    throw new Error('socketcluster-server no longer has AGServerSocket#_processTokenError; review server/auth/token-errors.ts');
  }
  proto._processTokenError = function processTokenError(this: unknown, err: unknown) {
    if (err instanceof AuthError) return err;
    return original.call(this, err);
  };
  proto[INSTALLED] = true;
}
