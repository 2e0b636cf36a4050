import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { readJwksFile, readSigningKey, type PublicKeyEntry, type SigningKey } from '../auth/jwks';
import { MAX_TOKEN_BYTES } from '../../shared';
import { ConfigError, SettingsReader, readConfigFile, type Source } from './reader';

export { ConfigError } from './reader';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Shortest HS256 secret accepted, in bytes (RFC 7518 §3.2: at least the hash size). */
export const MIN_SECRET_BYTES = 32;

/** Smallest GATEHOUSE_MAX_PAYLOAD accepted, in bytes: a handshake frame with a token of MAX_TOKEN_BYTES fits. */
export const MIN_MAX_PAYLOAD = MAX_TOKEN_BYTES + 2048;

/** The whole, validated, frozen configuration of one gateway node. Durations are milliseconds, sizes bytes. */
export interface GatewayConfig {
  readonly port: number;
  readonly host: string;
  /** HS256 shared secret (in development mode an ephemeral random one). */
  readonly authKey?: Buffer;
  readonly jwksFile?: string;
  /** Public keys from the JWK Set file as read at start-up (re-read on SIGHUP). */
  readonly jwks: readonly PublicKeyEntry[];
  readonly signingKey?: SigningKey;
  readonly issuer?: string;
  readonly audience?: readonly string[];
  readonly clockToleranceMs: number;
  readonly maxTokenLifetimeMs: number;
  readonly tokenTtlMs: number;
  /** Allowed browser origins (scheme://host[:port]); undefined allows any. */
  readonly origins?: readonly string[];
  readonly maxPayload: number;
  readonly redisUrl?: string;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  readonly production: boolean;
  /** No key was configured: an ephemeral key was made and the node listens on loopback only. */
  readonly devMode: boolean;
}

export interface LoadOptions {
  readonly env: Source;
  /** Path of a JSON file of settings (`--config`); the environment wins over it. */
  readonly configFile?: string;
}

/** Reads and validates the configuration; throws ConfigError listing every problem. */
export function loadConfig({ env, configFile }: LoadOptions): GatewayConfig {
  const file = configFile === undefined ? {} : readConfigFile(configFile);
  const r = new SettingsReader(env, file, configFile);
  const production = env.NODE_ENV === 'production';

  const port = r.integer('GATEHOUSE_PORT', 8000, 0, 65535);
  let host = r.string('GATEHOUSE_HOST') ?? '0.0.0.0';
  if (isIP(host) === 0 && host !== 'localhost') {
    r.problem('GATEHOUSE_HOST', `${JSON.stringify(host)} is not an IP address (e.g. 0.0.0.0, 127.0.0.1, ::)`);
  }

  let authKey = r.secret('GATEHOUSE_AUTH_KEY');
  if (authKey !== undefined && authKey.length < MIN_SECRET_BYTES) {
    r.problem('GATEHOUSE_AUTH_KEY', `is ${authKey.length} bytes; an HS256 secret needs at least ${MIN_SECRET_BYTES} (try: openssl rand -base64 48)`);
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
    r.problem('GATEHOUSE_TOKEN_TTL', 'must not exceed GATEHOUSE_MAX_TOKEN_LIFETIME, or the gateway would refuse its own tokens');
  }

  const origins = r.list('GATEHOUSE_ORIGINS');
  for (const origin of origins ?? []) {
    if (origin !== '*' && !isOrigin(origin)) {
      r.problem('GATEHOUSE_ORIGINS', `${JSON.stringify(origin)} is not an origin like https://app.example.com or http://localhost:3000`);
    }
  }

  // The floor leaves room for a handshake carrying the largest token we accept; below it a valid token would be cut
  // off with a bare 1009 instead of being verified.
  const maxPayload = r.bytes('GATEHOUSE_MAX_PAYLOAD', 64 * 1024, MIN_MAX_PAYLOAD, 64 * 1024 * 1024);
  const redisUrl = r.string('GATEHOUSE_REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    r.problem('GATEHOUSE_REDIS_URL', `must start with redis:// or rediss:// (got ${JSON.stringify(redisUrl.slice(0, 16))}…)`);
  }
  const shutdownTimeoutMs = r.duration('GATEHOUSE_SHUTDOWN_TIMEOUT', '10s', { min: 100, max: 600_000 });
  const logLevel = r.oneOf('GATEHOUSE_LOG_LEVEL', 'info', LOG_LEVELS);

  const devMode = authKey === undefined && jwksFile === undefined && signingKeyFile === undefined
    && r.problems.every((p) => !p.startsWith('GATEHOUSE_AUTH_KEY'));
  if (devMode && production) {
    r.problem('GATEHOUSE_AUTH_KEY', 'NODE_ENV=production needs a key: set GATEHOUSE_AUTH_KEY (or GATEHOUSE_AUTH_KEY_FILE), or GATEHOUSE_JWKS_FILE');
  }
  if (devMode) {
    host = '127.0.0.1';
    authKey = randomBytes(MIN_SECRET_BYTES);
  }
  if (authKey !== undefined && authKey.length < MIN_SECRET_BYTES) authKey = undefined;

  r.checkUnknown('GATEHOUSE_');
  if (r.problems.length > 0) throw new ConfigError(r.problems);

  return Object.freeze({
    port, host, authKey, jwksFile, jwks, signingKey, issuer,
    audience: audience && audience.length > 0 ? audience : undefined,
    clockToleranceMs, maxTokenLifetimeMs, tokenTtlMs,
    origins: origins === undefined || origins.includes('*') ? undefined : origins.map(normalizeOrigin),
    maxPayload, redisUrl, shutdownTimeoutMs, logLevel, production, devMode,
  });
}

function isOrigin(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.pathname === '/' && !u.search && !u.hash
      && !u.username && !u.password;
  } catch {
    return false;
  }
}

/** The form browsers send in the Origin header: scheme://host[:port], default ports dropped. */
export function normalizeOrigin(text: string): string {
  return new URL(text).origin;
}
