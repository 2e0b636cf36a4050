import { AuthError } from '../../shared';
import { patchSocketMethods } from '../sc/patch';

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

export function installTokenErrorBridge(AGServerSocket: { prototype: unknown }): void {
  patchSocketMethods(AGServerSocket, { name: 'tokenErrorBridge', file: 'server/auth/token-errors.ts' }, ['_processTokenError'], (original) => ({
    _processTokenError(err: unknown) {
      return err instanceof AuthError ? err : original._processTokenError.call(this, err);
    },
  }));
}
