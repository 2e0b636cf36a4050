import { createHash } from 'node:crypto';
import { AuthTokenInvalidError, MAX_TOKEN_ID_LENGTH, type GatehouseClaims } from '../../shared';
import type { KeyRing } from './keyring';

/**
 * What the gateway adds to a verified token's claims so that its session can be followed through renewals, and ended
 * as a whole, on every node:
 *
 * - `sid`, when the token has none: `jti:<jti>`, or for a token without a jti `tok:<hash of its signature>`. Renewals
 *   carry the sid, so a logout (which revokes the sid) covers the original token as well as every token renewed from
 *   it; the same token verified again derives the same sid, so the revocation finds it. With it, `sxp`: the exp of
 *   that token, the only one of the session the gateway did not sign, so a logout's entry need only outlive it and
 *   the gateway's own renewals (the gateway's login sets `sxp` on the sessions it opens too).
 * - `okid`, the kid of the JWK Set key that verified the session's first token (not the gateway's own signing key,
 *   which no reload removes). Renewals carry it too, so a session outlives neither the removal of that key nor a
 *   reconnect to another node: a token whose `okid` is no longer in the key ring is refused, and a reload (SIGHUP) that
 *   removes the key ends the live sockets it verified.
 */
export function completeSessionClaims(claims: GatehouseClaims, signed: string, kid: string | undefined, keys: KeyRing): GatehouseClaims {
  const c = claims as Record<string, unknown>;
  if (c.okid !== undefined) {
    if (typeof c.okid !== 'string') throw new AuthTokenInvalidError('okid must be a string');
    if (!keys.has(c.okid)) throw new AuthTokenInvalidError('the key that verified this session was retired');
  } else if (kid !== undefined && kid !== keys.signingKid) {
    c.okid = kid;
  }
  if (typeof c.sid !== 'string' || c.sid.length === 0) {
    c.sid = derivedSessionId(claims, signed);
    // The session's only token not signed here is this one (a jti names one token): see `sxp` in RevokeOptions.
    c.sxp = claims.exp;
  }
  return claims;
}

/**
 * The session id of a token that names none: from its jti, else from its signature (the same token, the same id). A
 * jti too long to fit beside the prefix in MAX_TOKEN_ID_LENGTH is hashed, so the sid stays revocable.
 */
export function derivedSessionId(claims: GatehouseClaims, signed: string): string {
  if (typeof claims.jti === 'string' && claims.jti.length > 0) {
    const sid = `jti:${claims.jti}`;
    return sid.length <= MAX_TOKEN_ID_LENGTH ? sid : `jth:${digest(claims.jti)}`;
  }
  return `tok:${digest(signed.slice(signed.lastIndexOf('.') + 1))}`;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/** The kid of the key whose retirement ends this session, or undefined (the HS256 secret, or the gateway's own key). */
export function sessionKeyOf(claims: GatehouseClaims): string | undefined {
  return typeof claims.okid === 'string' ? claims.okid : undefined;
}
