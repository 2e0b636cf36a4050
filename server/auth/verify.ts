import jwt from 'jsonwebtoken';
import {
  AuthTokenExpiredError, AuthTokenInvalidError, AuthTokenNotBeforeError, MAX_SUB_LENGTH, MAX_TOKEN_BYTES,
  type AuthError, type GatehouseClaims,
} from '../../shared';
import type { KeyRing } from './keyring';

/** What a token must satisfy besides its signature. Durations in milliseconds. */
export interface VerifyPolicy {
  readonly issuer?: string;
  readonly audience?: readonly string[];
  readonly clockToleranceMs: number;
  readonly maxTokenLifetimeMs: number;
}

/**
 * Verifies a signed token and returns its claims (every claim but a `__proto__` one), or throws one of the shared
 * AuthErrors. Synchronous and free of I/O: it runs on the handshake path.
 */
export function verifyToken(signed: unknown, keys: KeyRing, policy: VerifyPolicy, nowMs: number): GatehouseClaims {
  if (typeof signed !== 'string' || signed.length === 0) throw new AuthTokenInvalidError('token must be a non-empty string');
  // Length before any parsing: an attacker's megabyte of base64 costs nothing to refuse.
  if (signed.length > MAX_TOKEN_BYTES) throw new AuthTokenInvalidError(`token is longer than ${MAX_TOKEN_BYTES} bytes`);

  // Only the header is read here, to choose the key; jwt.verify parses and checks the whole token itself.
  const header = headerOf(signed);
  if (header === undefined) throw new AuthTokenInvalidError('token is malformed');
  const choice = keys.select(header.kid);
  if (typeof choice === 'string') throw new AuthTokenInvalidError(choice);

  const nowSec = Math.floor(nowMs / 1000);
  let payload: jwt.JwtPayload;
  try {
    payload = jwt.verify(signed, choice.key, {
      algorithms: choice.algorithms,
      issuer: policy.issuer,
      audience: policy.audience as [string, ...string[]] | undefined,
      // nbf gets the tolerance below; exp is strict (SocketCluster drops a socket the moment exp passes).
      ignoreNotBefore: true,
      clockTimestamp: nowSec,
    }) as jwt.JwtPayload;
  } catch (err) {
    throw translateJwtError(err);
  }

  if (typeof payload !== 'object' || payload === null) throw new AuthTokenInvalidError('token is malformed');
  // JSON.parse keeps a `__proto__` claim as an own key; any later copy by assignment (SocketCluster clones the claims
  // on renewal) would make it the claims' prototype, and its members (`channels`) claims of their own.
  if (Object.prototype.hasOwnProperty.call(payload, '__proto__')) delete (payload as Record<string, unknown>)['__proto__'];
  const toleranceSec = policy.clockToleranceMs / 1000;
  const { sub, exp, iat, nbf } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH) {
    throw new AuthTokenInvalidError(`sub must be a string of 1 to ${MAX_SUB_LENGTH} characters`);
  }
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new AuthTokenInvalidError('exp is required');
  if (nbf !== undefined) {
    if (typeof nbf !== 'number' || !Number.isFinite(nbf)) throw new AuthTokenInvalidError('nbf must be a number');
    if (nbf > nowSec + toleranceSec) throw new AuthTokenNotBeforeError('jwt not active', nbf * 1000);
  }
  if (iat !== undefined) {
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new AuthTokenInvalidError('iat must be a number');
    if (iat > nowSec + toleranceSec) throw new AuthTokenInvalidError('iat is in the future');
  }
  const lifetimeSec = exp - (iat ?? nowSec);
  if (lifetimeSec * 1000 > policy.maxTokenLifetimeMs) {
    throw new AuthTokenInvalidError(`token lifetime exceeds the maximum of ${policy.maxTokenLifetimeMs / 1000}s`);
  }
  return payload as GatehouseClaims;
}

/**
 * The JOSE header of a compact token, read the way jsonwebtoken (jws) reads it: base64 of the first segment, decoded
 * as latin1, then JSON. Undefined when that is not a JSON object. Cheaper than jwt.decode, which parses the payload too.
 */
function headerOf(signed: string): { kid?: unknown } | undefined {
  const dot = signed.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(signed.slice(0, dot), 'base64').toString('latin1'));
    return typeof header === 'object' && header !== null && !Array.isArray(header) ? header : undefined;
  } catch {
    return undefined;
  }
}

/** jsonwebtoken's errors, by name, as the shared catalogue's; anything unexpected is an invalid token. */
function translateJwtError(err: unknown): AuthError {
  const e = err as { name?: string; message?: string; expiredAt?: Date; date?: Date };
  switch (e?.name) {
    case 'TokenExpiredError':
      return new AuthTokenExpiredError('jwt expired', e.expiredAt?.getTime());
    case 'NotBeforeError':
      return new AuthTokenNotBeforeError('jwt not active', e.date?.getTime());
    default:
      return new AuthTokenInvalidError(typeof e?.message === 'string' ? e.message : 'invalid token');
  }
}
