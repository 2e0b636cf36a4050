import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { GatehouseClaims } from '../../shared';
import type { Signer } from './keyring';

/** What the gateway stamps on the tokens it signs. */
export interface SignPolicy {
  readonly issuer?: string;
  readonly audience?: readonly string[];
  readonly tokenTtlMs: number;
}

/** Claims the signer always sets itself; a caller's values for them are dropped (aud is narrowed, see stampClaims). */
const STAMPED = ['iat', 'exp', 'nbf', 'jti', 'iss'] as const;

/**
 * Thrown to server code that asks the gateway to sign claims its verifier would refuse (`socket.setAuthToken({username})`
 * without a `sub`, an audience none of the configured ones): such a token would authenticate nowhere, so it is never
 * signed. Through `setAuthToken`, SocketCluster then closes that socket (4002) and the call rejects with this error.
 */
export class UnsignableClaimsError extends Error {
  override readonly name = 'UnsignableClaimsError';
}

/** A random id for jti and sid: 128 bits, URL-safe. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Completes a payload into the claims of a fresh token: a new jti, the caller's sid or a new one, iat, exp = now + TTL,
 * iss when configured, and aud: the caller's (a renewal passes the original token's) narrowed to the configured
 * audiences, or every configured one when the caller gives none, so a renewal never widens a token's audience.
 * Returns the completed claims (a new object); throws UnsignableClaimsError when the caller's aud names none of the
 * configured audiences.
 */
export function stampClaims(payload: Record<string, unknown>, policy: SignPolicy, nowMs: number): GatehouseClaims {
  const claims: Record<string, unknown> = { ...payload };
  for (const name of STAMPED) delete claims[name];
  const iat = Math.floor(nowMs / 1000);
  claims.iat = iat;
  claims.exp = iat + Math.max(1, Math.floor(policy.tokenTtlMs / 1000));
  claims.jti = newId();
  if (typeof claims.sid !== 'string' || claims.sid.length === 0) {
    // A session opened here: its tokens are this one and the gateway's renewals of it (sxp: see RevokeOptions).
    claims.sid = newId();
    claims.sxp = claims.exp;
  }
  if (policy.issuer !== undefined) claims.iss = policy.issuer;
  const aud = narrowAudience(claims.aud, policy.audience);
  if (aud === undefined) delete claims.aud;
  else claims.aud = aud;
  // exp and iat are set above; sub is the caller's (GatehouseAuthEngine refuses to sign without a valid one, see
  // claimsProblem; the token command takes it from --sub).
  return claims as GatehouseClaims;
}

/** The aud a signed token gets: see stampClaims. */
function narrowAudience(wanted: unknown, configured: readonly string[] | undefined): string | string[] | undefined {
  if (configured === undefined) return typeof wanted === 'string' || isStringArray(wanted) ? wanted : undefined;
  if (wanted === undefined) return configured.length === 1 ? configured[0] : [...configured];
  const asked = typeof wanted === 'string' ? [wanted] : isStringArray(wanted) ? wanted : [];
  const kept = configured.filter((a) => asked.includes(a));
  if (kept.length === 0) {
    throw new UnsignableClaimsError(`refusing to sign a token every node would refuse: aud ${JSON.stringify(wanted)} names none of the configured audiences`);
  }
  return kept.length === 1 ? kept[0] : kept;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** Signs complete claims with the gateway's key (and its kid). Synchronous: a KeyObject sign takes a few µs. */
export function signClaims(claims: GatehouseClaims, signer: Signer): string {
  // iat is already in the claims; jsonwebtoken keeps it.
  const options: jwt.SignOptions = { algorithm: signer.alg };
  if (signer.kid !== undefined) options.keyid = signer.kid;
  return jwt.sign(claims, signer.key, options);
}
