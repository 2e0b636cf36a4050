import { AuthError } from '../../shared';

/**
 * Whether a refusal from the auth engine reaches the client as it is (server/sc/token-error-bridge.ts): the gateway's
 * own AuthErrors do, with their name and `isBadToken`, so `AuthUnavailableError` keeps the client's token instead of
 * deleting it as SocketCluster's `AuthTokenError` would. Any other error keeps SocketCluster's mapping.
 */
export function isOwnTokenError(err: unknown): boolean {
  return err instanceof AuthError;
}
