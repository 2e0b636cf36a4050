import { AuthUnavailableError, BadRequestError } from '../../shared';
import type { ProcedureHandler } from '../procedures/registry';
import { claimsOf, endSession, isOpen } from '../sc/facade';
import type { RevocationEnforcer } from './enforcer';
import { tokenIds, type RevocationKind, type RevocationStore, type RevocationTarget } from './store';

/** What `logout` answers: which kind of revocation it made, or null when the socket had nothing to revoke. */
export interface LogoutResult {
  readonly revoked: RevocationKind | null;
}

/**
 * The `logout` procedure. Revokes the socket's session (its `sid`: every verified token has one, derived from its jti
 * or signature when it came without, so the original token of a renewed session is revoked too), or with
 * `{everywhere: true}` the user (`sub`), then deauthenticates this socket, which stays connected as anonymous (its
 * client drops the token). Every other socket the revocation hits, on this node and, through the announcement, on
 * every other, is closed as revoked. If the revocation cannot be stored the call fails with AuthUnavailableError and
 * nothing changes, so the client can retry. An anonymous socket's logout is a no-op.
 */
export function logoutProcedure(store: RevocationStore, enforcer: RevocationEnforcer): ProcedureHandler {
  return async (data, socket): Promise<LogoutResult> => {
    const { everywhere } = parseLogoutRequest(data);
    const claims = claimsOf(socket);
    if (!claims) return { revoked: null };
    const target = logoutTarget(claims, everywhere);
    if (target) {
      let revocation;
      try {
        const sessionExp = target.kind === 'sid' && typeof claims.sxp === 'number' ? claims.sxp : undefined;
        revocation = await store.revoke(target, { exp: claims.exp, sessionExp });
      } catch {
        throw new AuthUnavailableError('The logout could not be recorded; retry later');
      }
      // This socket first, so applying the revocation here leaves it connected; it was never closed meanwhile.
      if (isOpen(socket) && claimsOf(socket)) endSession(socket, 'logout');
      enforcer.apply(revocation);
    } else if (isOpen(socket)) {
      // Claims set without a sid or jti (server code's setAuthToken skips verification): nothing to name in a
      // revocation; the token can only leave this socket.
      endSession(socket, 'logout');
    }
    return { revoked: target?.kind ?? null };
  };
}

/** `logout` takes nothing, or `{everywhere?: boolean}`; anything else is a BadRequestError. */
export function parseLogoutRequest(data: unknown): { everywhere: boolean } {
  if (data === undefined || data === null) return { everywhere: false };
  if (typeof data !== 'object' || Array.isArray(data)) throw new BadRequestError('logout takes no payload or {everywhere: boolean}');
  const { everywhere, ...rest } = data as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new BadRequestError('logout accepts only the field "everywhere"');
  if (everywhere !== undefined && typeof everywhere !== 'boolean') throw new BadRequestError('"everywhere" must be a boolean');
  return { everywhere: everywhere === true };
}

function logoutTarget(claims: Parameters<typeof tokenIds>[0], everywhere: boolean): RevocationTarget | undefined {
  const ids = tokenIds(claims);
  if (everywhere) return { kind: 'sub', id: ids.sub };
  if (ids.sid !== undefined) return { kind: 'sid', id: ids.sid };
  if (ids.jti !== undefined) return { kind: 'jti', id: ids.jti };
  return undefined;
}
