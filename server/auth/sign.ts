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

/** Claims the signer always sets itself; a caller's values for them are dropped. */
const STAMPED = ['iat', 'exp', 'nbf', 'jti', 'iss', 'aud'] as const;

/** A random id for jti and sid: 128 bits, URL-safe. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Completes a payload into the claims of a fresh token: a new jti, the caller's sid or a new one, iat, exp = now + TTL,
 * and iss / aud when configured. Returns the completed claims (a new object).
 */
export function stampClaims(payload: Record<string, unknown>, policy: SignPolicy, nowMs: number): GatehouseClaims {
  const claims: Record<string, unknown> = { ...payload };
  for (const name of STAMPED) delete claims[name];
  const iat = Math.floor(nowMs / 1000);
  claims.iat = iat;
  claims.exp = iat + Math.max(1, Math.floor(policy.tokenTtlMs / 1000));
  claims.jti = newId();
  if (typeof claims.sid !== 'string' || claims.sid.length === 0) claims.sid = newId();
  if (policy.issuer !== undefined) claims.iss = policy.issuer;
  if (policy.audience !== undefined) claims.aud = policy.audience.length === 1 ? policy.audience[0] : [...policy.audience];
  return claims as unknown as GatehouseClaims;
}

/** Signs complete claims with the gateway's key (and its kid). Synchronous: a KeyObject sign takes a few µs. */
export function signClaims(claims: GatehouseClaims, signer: Signer): string {
  // iat is already in the claims; jsonwebtoken keeps it.
  const options: jwt.SignOptions = { algorithm: signer.alg };
  if (signer.kid !== undefined) options.keyid = signer.kid;
  return jwt.sign(claims as object, signer.key, options);
}
