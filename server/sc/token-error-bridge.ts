import { patchSocketMethods } from './patch';

/**
 * Lets the gateway's own authentication errors reach the client unchanged.
 *
 * SocketCluster v20 maps any error thrown by `authEngine.verifyToken` through `AGServerSocket#_processTokenError`,
 * which keeps only jsonwebtoken's three names and renames everything else to `AuthTokenError` with
 * `isBadToken = true` (serversocket.js). That would turn `AuthUnavailableError` into a bad token and delete the
 * client's token. This wraps that one method so an error `passes` accepts goes through as it is, with its own
 * `isBadToken`; every other error keeps SocketCluster's handling. It covers the handshake and `socket.authenticate()`
 * alike, since both go through `_validateAuthToken`. Installed once per process, idempotently: the first `passes`
 * stays.
 */
export function installTokenErrorBridge(AGServerSocket: { prototype: unknown }, passes: (err: unknown) => boolean): void {
  patchSocketMethods(AGServerSocket, { name: 'tokenErrorBridge', file: 'server/sc/token-error-bridge.ts' }, ['_processTokenError'], (original) => ({
    _processTokenError(err: unknown) {
      return passes(err) ? err : original._processTokenError.call(this, err);
    },
  }));
}
