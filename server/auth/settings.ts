import { randomBytes } from 'node:crypto';
import type { SettingsReader } from '../settings-kit/reader';
import { readJwksFile, readSigningKey, type PublicKeyEntry, type SigningKey } from './jwks';

/** Shortest HS256 secret accepted, in bytes (RFC 7518 §3.2: at least the hash size). */
export const MIN_SECRET_BYTES = 32;

/** The keys' and token rules' slice of the configuration. */
export interface AuthSettings {
  /** GATEHOUSE_AUTH_KEY[_FILE]: HS256 shared secret (in development mode an ephemeral random one). */
  readonly authKey?: Buffer;
  /** GATEHOUSE_JWKS_FILE: the JWK Set file of public keys (re-read on SIGHUP). */
  readonly jwksFile?: string;
  /** Public keys from the JWK Set file as read at start-up. */
  readonly jwks: readonly PublicKeyEntry[];
  /** GATEHOUSE_SIGNING_KEY_FILE and _ID: the key the gateway signs its own tokens with, instead of the HS256 secret. */
  readonly signingKey?: SigningKey;
  /** GATEHOUSE_ISSUER: the `iss` every token must carry (default: any). */
  readonly issuer?: string;
  /** GATEHOUSE_AUDIENCE: a token must carry one of these in `aud` (default: any). */
  readonly audience?: readonly string[];
  /** GATEHOUSE_CLOCK_TOLERANCE: leeway for `nbf` and `iat`, ms (default 5s, at most 5m). */
  readonly clockToleranceMs: number;
  /** GATEHOUSE_MAX_TOKEN_LIFETIME: tokens whose `exp − iat` is longer are refused, ms (default 24h). */
  readonly maxTokenLifetimeMs: number;
  /** GATEHOUSE_TOKEN_TTL: lifetime of the tokens the gateway signs, ms (default 15m). */
  readonly tokenTtlMs: number;
  /** No key was configured: an ephemeral key was made and the node listens on loopback only. */
  readonly devMode: boolean;
}

/**
 * Reads the key and token settings, reporting each problem to the reader. Without any key the node is in development
 * mode, which `production` (NODE_ENV=production) refuses; a key setting that was given but refused (unreadable file,
 * too short) is not "no key", so a mistyped key never turns a node into a development one.
 */
export function readAuthSettings(r: SettingsReader, { production }: { readonly production: boolean }): AuthSettings {
  let authKey = r.secret('GATEHOUSE_AUTH_KEY');
  if (authKey !== undefined && authKey.length < MIN_SECRET_BYTES) {
    r.problem(
      r.sourceOf('GATEHOUSE_AUTH_KEY'),
      `is ${authKey.length} bytes; an HS256 secret needs at least ${MIN_SECRET_BYTES} (try: openssl rand -base64 48)`,
    );
  }

  const jwksFile = r.string('GATEHOUSE_JWKS_FILE');
  let jwks: PublicKeyEntry[] = [];
  if (jwksFile !== undefined) {
    try {
      jwks = readJwksFile(jwksFile);
    } catch (err) {
      r.problem('GATEHOUSE_JWKS_FILE', `${jwksFile}: ${(err as Error).message}`);
    }
  }

  const signingKeyFile = r.string('GATEHOUSE_SIGNING_KEY_FILE');
  const signingKeyId = r.string('GATEHOUSE_SIGNING_KEY_ID');
  let signingKey: SigningKey | undefined;
  if (signingKeyFile !== undefined) {
    try {
      signingKey = readSigningKey(signingKeyFile, signingKeyId);
    } catch (err) {
      r.problem('GATEHOUSE_SIGNING_KEY_FILE', `${signingKeyFile}: ${(err as Error).message}`);
    }
    if (signingKey && jwks.some((k) => k.kid === signingKey!.kid && !k.key.equals(signingKey!.publicKey))) {
      r.problem('GATEHOUSE_SIGNING_KEY_ID', `kid ${JSON.stringify(signingKey.kid)} names a different key in GATEHOUSE_JWKS_FILE`);
    }
  } else if (signingKeyId !== undefined) {
    r.problem('GATEHOUSE_SIGNING_KEY_ID', 'is set without GATEHOUSE_SIGNING_KEY_FILE');
  }

  const issuer = r.string('GATEHOUSE_ISSUER');
  const audience = r.list('GATEHOUSE_AUDIENCE');
  const clockToleranceMs = r.duration('GATEHOUSE_CLOCK_TOLERANCE', '5s', { max: 300_000 });
  const maxTokenLifetimeMs = r.duration('GATEHOUSE_MAX_TOKEN_LIFETIME', '24h', { min: 1000 });
  const tokenTtlMs = r.duration('GATEHOUSE_TOKEN_TTL', '15m', { min: 1000 });
  if (tokenTtlMs > maxTokenLifetimeMs) {
    // Both values as the operator wrote them (or the defaults), so the fix is obvious.
    r.problem(
      'GATEHOUSE_TOKEN_TTL',
      `${r.raw('GATEHOUSE_TOKEN_TTL') ?? '15m'} is longer than GATEHOUSE_MAX_TOKEN_LIFETIME (${r.raw('GATEHOUSE_MAX_TOKEN_LIFETIME') ?? '24h'}), so the gateway would refuse its own tokens`,
    );
  }

  const devMode =
    authKey === undefined && jwksFile === undefined && signingKeyFile === undefined && r.problems.every((p) => !p.startsWith('GATEHOUSE_AUTH_KEY'));
  if (
    jwksFile !== undefined
    && jwks.length === 0
    && !r.problems.some((p) => p.startsWith('GATEHOUSE_JWKS_FILE'))
    && authKey === undefined
    && signingKeyFile === undefined
  ) {
    r.problem(
      'GATEHOUSE_JWKS_FILE',
      `${jwksFile} holds no keys and is the only key configured, so every token would be refused; add one (gatehouse keys add) or set GATEHOUSE_AUTH_KEY`,
    );
  }
  if (devMode && production) {
    r.problem('GATEHOUSE_AUTH_KEY', 'NODE_ENV=production needs a key: set GATEHOUSE_AUTH_KEY (or GATEHOUSE_AUTH_KEY_FILE), or GATEHOUSE_JWKS_FILE');
  }
  if (devMode) authKey = randomBytes(MIN_SECRET_BYTES);
  // A key shorter than MIN_SECRET_BYTES is reported above, so a configuration holding it is never returned.

  return {
    authKey,
    jwksFile,
    jwks,
    signingKey,
    issuer,
    audience: audience && audience.length > 0 ? audience : undefined,
    clockToleranceMs,
    maxTokenLifetimeMs,
    tokenTtlMs,
    devMode,
  };
}
