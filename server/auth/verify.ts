import jwt from 'jsonwebtoken';
import {
  AuthTokenExpiredError,
  AuthTokenInvalidError,
  AuthTokenNotBeforeError,
  MAX_SUB_LENGTH,
  MAX_TOKEN_BYTES,
  MAX_TOKEN_ID_LENGTH,
  type AuthError,
  type GatehouseClaims,
} from '../../shared';
import { compactFormProblem, headerOf } from './compact-form';
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
  return verifyTokenAndKey(signed, keys, policy, nowMs).claims;
}

/** `verifyToken`, also answering the kid of the key that verified the token (undefined: the HS256 secret). */
export function verifyTokenAndKey(signed: unknown, keys: KeyRing, policy: VerifyPolicy, nowMs: number): { claims: GatehouseClaims; kid?: string } {
  if (typeof signed !== 'string' || signed.length === 0) throw new AuthTokenInvalidError('token must be a non-empty string');
  // Length before any parsing: an attacker's megabyte of base64 costs nothing to refuse.
  if (signed.length > MAX_TOKEN_BYTES) throw new AuthTokenInvalidError(`token is longer than ${MAX_TOKEN_BYTES} bytes`);

  // Only the header is read here, to choose the key; jwt.verify parses and checks the whole token itself.
  const header = headerOf(signed);
  if (header === undefined) throw new AuthTokenInvalidError('token is malformed');
  const formProblem = compactFormProblem(signed, header);
  if (formProblem !== undefined) throw new AuthTokenInvalidError(formProblem);
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
  const problem = claimsProblem(payload, policy, nowSec);
  if (problem) throw problem;
  return { claims: payload as GatehouseClaims, kid: header.kid as string | undefined };
}

/**
 * What the verifier refuses in a token's claims besides its signature, issuer and audience, as the error it throws;
 * undefined when nothing. The signer runs the same rules (`signToken`), so the gateway never signs a token it would
 * refuse.
 */
export function claimsProblem(payload: Record<string, unknown>, policy: VerifyPolicy, nowSec: number): AuthError | undefined {
  const toleranceSec = policy.clockToleranceMs / 1000;
  const { sub, exp, iat, nbf, auth_time: authTime } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH) {
    return new AuthTokenInvalidError(`sub must be a string of 1 to ${MAX_SUB_LENGTH} characters`);
  }
  // A jti or sid that is not a string is no id (the token is revoked by its other ids); a string one must be revocable.
  for (const name of ['jti', 'sid'] as const) {
    const id = payload[name];
    if (typeof id === 'string' && id.length > MAX_TOKEN_ID_LENGTH)
      return new AuthTokenInvalidError(`${name} must be at most ${MAX_TOKEN_ID_LENGTH} characters`);
  }
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return new AuthTokenInvalidError('exp is required');
  const dateProblem =
    numericDateProblem('exp', exp) ?? numericDateProblem('nbf', nbf) ?? numericDateProblem('iat', iat) ?? numericDateProblem('auth_time', authTime);
  if (dateProblem !== undefined) return new AuthTokenInvalidError(dateProblem);
  const issuedAt = iat as number | undefined;
  if (nbf !== undefined) {
    // A token whose nbf is after its exp is never valid: refused as invalid, so the client drops it instead of
    // keeping it (AuthTokenNotBeforeError keeps the token) and retrying it forever.
    if ((nbf as number) > exp) return new AuthTokenInvalidError('nbf is after exp');
    if ((nbf as number) > nowSec + toleranceSec) return new AuthTokenNotBeforeError('jwt not active', (nbf as number) * 1000);
  }
  if (issuedAt !== undefined && issuedAt > nowSec + toleranceSec) return new AuthTokenInvalidError('iat is in the future');
  // The session cannot have started after the token was issued: a later auth_time would stretch
  // GATEHOUSE_SESSION_MAX_AGE, which counts from it, as far as the signer liked.
  if (authTime !== undefined && (authTime as number) > (issuedAt ?? nowSec) + toleranceSec) {
    return new AuthTokenInvalidError('auth_time is later than iat');
  }
  const lifetimeSec = exp - (issuedAt ?? nowSec);
  if (lifetimeSec * 1000 > policy.maxTokenLifetimeMs) {
    return new AuthTokenInvalidError(`token lifetime exceeds the maximum of ${policy.maxTokenLifetimeMs / 1000}s`);
  }
  return undefined;
}

/**
 * Why a NumericDate claim is refused, or undefined when it is absent or a whole number of seconds from 0 up. A
 * fraction reached the Redis revocation store as a non-integer TTL, which Redis refuses (the token could not be
 * logged out); a negative or unsafe integer is no date any issuer means.
 */
function numericDateProblem(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? undefined : `${name} must be a whole number of seconds`;
}

/** jsonwebtoken's errors, by name, as the shared catalogue's; anything unexpected is an invalid token. */
function translateJwtError(err: unknown): AuthError {
  const e = err as { name?: string; message?: string; expiredAt?: Date; date?: Date };
  switch (e?.name) {
    case 'TokenExpiredError':
      return new AuthTokenExpiredError('jwt expired', e.expiredAt?.getTime());
    case 'NotBeforeError':
      return new AuthTokenNotBeforeError('jwt not active', e.date?.getTime());
    default: {
      const message = typeof e?.message === 'string' ? e.message : 'invalid token';
      // jsonwebtoken's messages name the configured issuer and every accepted audience: the client learns only that
      // its own was not accepted; the operator's log (`detail`, never sent) keeps the rest.
      if (message.startsWith('jwt issuer invalid')) return withDetail(new AuthTokenInvalidError('issuer not accepted'), message);
      if (message.startsWith('jwt audience invalid')) return withDetail(new AuthTokenInvalidError('audience not accepted'), message);
      return new AuthTokenInvalidError(message);
    }
  }
}

/**
 * Adds what the operator may read but the client must not: a non-enumerable `detail` (SocketCluster sends an
 * error's name, message and own enumerable properties only).
 */
function withDetail<E extends Error>(err: E, detail: string): E {
  Object.defineProperty(err, 'detail', { value: detail, enumerable: false });
  return err;
}
