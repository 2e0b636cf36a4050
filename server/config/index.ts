import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { MIN_ADMIN_KEY_BYTES, readAdminKeySettings, type AdminKeySettings } from '../admin/settings';
import { readJwksFile, readSigningKey, type PublicKeyEntry, type SigningKey } from '../auth/jwks';
import { readBrowserSettings, type BrowserSettings } from '../browser/settings';
import { readChannelSettings, type ChannelSettings } from '../channels/settings';
import { readFloodSettings, type FloodSettings } from '../floods/settings';
import { LOG_LEVELS, type LogLevel } from '../log';
import { LOGIN_FROM_ANY_ORIGIN, readLoginSettings, type LoginSettings } from '../login/settings';
import { readWorkerSettings, type WorkerSettings } from '../workers/settings';
import { MAX_TOKEN_BYTES } from '../../shared';
import { ConfigError, SettingsReader, readConfigFile, type Source } from './reader';

export { ConfigError } from './reader';

export { LOG_LEVELS, type LogLevel } from '../log';

export { MIN_ADMIN_KEY_BYTES } from '../admin/settings';

/** Shortest HS256 secret accepted, in bytes (RFC 7518 §3.2: at least the hash size). */
export const MIN_SECRET_BYTES = 32;

/** Smallest GATEHOUSE_MAX_PAYLOAD accepted, in bytes: a handshake frame with a token of MAX_TOKEN_BYTES fits. */
export const MIN_MAX_PAYLOAD = MAX_TOKEN_BYTES + 2048;

/**
 * The whole, validated, frozen configuration of one gateway node. Durations are milliseconds, sizes bytes. Features
 * own their slices (ChannelSettings, LoginSettings): their settings and file formats are read beside them.
 */
export interface GatewayConfig extends ChannelSettings, LoginSettings, FloodSettings, BrowserSettings, AdminKeySettings, WorkerSettings {
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
  /** GATEHOUSE_ORIGINS was set (a list, or `*` for any): unset beside login is refused in production, else warned of. */
  readonly originsConfigured: boolean;
  readonly maxPayload: number;
  readonly redisUrl?: string;
  // --- revocation (issue 4) ---
  /** How long a Redis call may take before authentication fails closed with AuthUnavailableError. Default 500ms. */
  readonly redisTimeoutMs: number;
  // --- end revocation ---
  /**
   * Several nodes (issue 6): Redis Cluster seed nodes, used like redisUrl for revocations, login limits and channels;
   * mutually exclusive with redisUrl.
   */
  readonly redisCluster?: readonly RedisSeed[];
  /** Several nodes (issue 6): this node's id, unique per process; default random (12 hex digits). */
  readonly nodeId: string;
  // --- admin API and metrics (issue 6) ---
  /** GATEHOUSE_ADMIN_KEY[_FILE]: bearer key of the admin API; unset, every /admin path answers 404. */
  readonly adminKey?: Buffer;
  /** GATEHOUSE_ADMIN_PORT: a second listener (on the same host) for /admin/* and /metrics; unset, they share the port. */
  readonly adminPort?: number;
  readonly shutdownTimeoutMs: number;
  // --- renewal (issue 5) ---
  /** How often authenticated sockets get a fresh token; 0 turns renewal off. Default 5m. */
  readonly renewIntervalMs: number;
  /** A session (auth_time, else the first token's iat) is never renewed past this age. Default 24h. */
  readonly sessionMaxAgeMs: number;
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
    r.problem('GATEHOUSE_HOST', `${JSON.stringify(host)} is neither an IP address (e.g. 0.0.0.0, 127.0.0.1, ::) nor localhost`);
  }

  let authKey = r.secret('GATEHOUSE_AUTH_KEY');
  if (authKey !== undefined && authKey.length < MIN_SECRET_BYTES) {
    r.problem(r.sourceOf('GATEHOUSE_AUTH_KEY'), `is ${authKey.length} bytes; an HS256 secret needs at least ${MIN_SECRET_BYTES} (try: openssl rand -base64 48)`);
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
  // Cross-setting problems show both values as the operator wrote them (or the defaults), so the fix is obvious.
  const shown = (name: string, fallback: string) => r.raw(name) ?? fallback;
  if (tokenTtlMs > maxTokenLifetimeMs) {
    r.problem('GATEHOUSE_TOKEN_TTL', `${shown('GATEHOUSE_TOKEN_TTL', '15m')} is longer than GATEHOUSE_MAX_TOKEN_LIFETIME (${shown('GATEHOUSE_MAX_TOKEN_LIFETIME', '24h')}), so the gateway would refuse its own tokens`);
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
  // --- renewal (issue 5) ---
  // Without any key this is development mode (decided below): renewals come every 30 s, so the demo shows them.
  // A key setting that was given but refused (unreadable file, too short) is not "no key".
  const keyless = authKey === undefined && jwksFile === undefined && signingKeyFile === undefined
    && r.problems.every((p) => !p.startsWith('GATEHOUSE_AUTH_KEY'));
  const renewIntervalMs = r.duration('GATEHOUSE_RENEW_INTERVAL', keyless ? '30s' : '5m');
  const sessionMaxAgeMs = r.duration('GATEHOUSE_SESSION_MAX_AGE', '24h', { min: 1000 });
  if (renewIntervalMs > 0 && tokenTtlMs <= renewIntervalMs) {
    r.problem('GATEHOUSE_TOKEN_TTL', `${shown('GATEHOUSE_TOKEN_TTL', '15m')} must be longer than GATEHOUSE_RENEW_INTERVAL (${shown('GATEHOUSE_RENEW_INTERVAL', '5m')}), or tokens lapse between renewals; or set GATEHOUSE_RENEW_INTERVAL=0`);
  }

  // --- revocation (issue 4) ---
  const redisTimeoutMs = r.duration('GATEHOUSE_REDIS_TIMEOUT', '500ms', { min: 10, max: 60_000 });
  // --- end revocation ---
  // --- Several nodes (issue 6): Redis Cluster seeds and the node id ---
  // GATEHOUSE_REDIS_CLUSTER lists seed nodes as host:port; the client discovers the rest. One Redis or one cluster:
  // setting it beside GATEHOUSE_REDIS_URL is ambiguous, so it is refused.
  const redisCluster = r.list('GATEHOUSE_REDIS_CLUSTER')?.map((seed) => {
    const parsed = parseRedisSeed(seed);
    if (!parsed) r.problem('GATEHOUSE_REDIS_CLUSTER', `${JSON.stringify(seed)} is not host:port (e.g. 10.0.0.5:6379,redis-1:6379)`);
    return parsed;
  }).filter((seed): seed is RedisSeed => seed !== undefined);
  if (redisCluster !== undefined && redisUrl !== undefined) {
    r.problem('GATEHOUSE_REDIS_CLUSTER', 'is set together with GATEHOUSE_REDIS_URL; set one: a single Redis or a Redis Cluster');
  }
  // Logs and the admin API name nodes by it, so each node needs its own: leave it unset (random) unless every node
  // gets a distinct name (a pod name, say). Echo filtering does not depend on it being unique.
  const nodeId = r.string('GATEHOUSE_NODE_ID') ?? randomBytes(6).toString('hex');
  if (!NODE_ID_PATTERN.test(nodeId)) {
    r.problem('GATEHOUSE_NODE_ID', `${JSON.stringify(nodeId.slice(0, 80))} must be 1-64 characters of A-Z a-z 0-9 . _ - (starting with a letter or digit)`);
  }
  // --- end of several nodes ---

  // --- admin API and metrics (issue 6) ---
  const adminKey = r.secret('GATEHOUSE_ADMIN_KEY');
  if (adminKey !== undefined && adminKey.length < MIN_ADMIN_KEY_BYTES) {
    r.problem(r.sourceOf('GATEHOUSE_ADMIN_KEY'), `is ${adminKey.length} bytes; use at least ${MIN_ADMIN_KEY_BYTES} (try: openssl rand -base64 32)`);
  }
  const adminKeys = readAdminKeySettings(r, adminKey);
  const adminPort = r.raw('GATEHOUSE_ADMIN_PORT') === undefined ? undefined : r.integer('GATEHOUSE_ADMIN_PORT', 0, 0, 65535);
  if (adminPort !== undefined && adminPort !== 0 && adminPort === port) {
    r.problem('GATEHOUSE_ADMIN_PORT', `must differ from GATEHOUSE_PORT (${port}): it exists to keep /admin and /metrics off the public port`);
  }
  // --- end admin ---

  const shutdownTimeoutMs = r.duration('GATEHOUSE_SHUTDOWN_TIMEOUT', '10s', { min: 100, max: 600_000 });
  const logLevel = r.oneOf('GATEHOUSE_LOG_LEVEL', 'info', LOG_LEVELS);

  const browser = readBrowserSettings(r, keyless);
  const channels = readChannelSettings(r, maxPayload, browser.demoFiles?.channelsFile);
  const login = readLoginSettings(r, browser.demoFiles?.usersFile);
  const floods = readFloodSettings(r);

  const devMode = authKey === undefined && jwksFile === undefined && signingKeyFile === undefined
    && r.problems.every((p) => !p.startsWith('GATEHOUSE_AUTH_KEY'));
  if (jwksFile !== undefined && jwks.length === 0 && !r.problems.some((p) => p.startsWith('GATEHOUSE_JWKS_FILE'))
    && authKey === undefined && signingKeyFile === undefined) {
    r.problem('GATEHOUSE_JWKS_FILE', `${jwksFile} holds no keys and is the only key configured, so every token would be refused; add one (gatehouse keys add) or set GATEHOUSE_AUTH_KEY`);
  }
  const loginSetting = login.usersFile !== undefined ? 'GATEHOUSE_USERS_FILE' : login.loginUrl !== undefined ? 'GATEHOUSE_LOGIN_URL' : undefined;
  if (loginSetting && !devMode && authKey === undefined && signingKeyFile === undefined) {
    r.problem(loginSetting, 'login needs a key to sign the tokens it issues: set GATEHOUSE_SIGNING_KEY_FILE (a PEM private key; its public half is accepted with the JWK Set) or GATEHOUSE_AUTH_KEY (HS256)');
  }
  if (loginSetting && production && !devMode && origins === undefined) {
    r.problem('GATEHOUSE_ORIGINS', `NODE_ENV=production: ${LOGIN_FROM_ANY_ORIGIN}`);
  }
  if (devMode && production) {
    r.problem('GATEHOUSE_AUTH_KEY', 'NODE_ENV=production needs a key: set GATEHOUSE_AUTH_KEY (or GATEHOUSE_AUTH_KEY_FILE), or GATEHOUSE_JWKS_FILE');
  }
  const workers = readWorkerSettings(r, { redis: redisUrl !== undefined || redisCluster !== undefined, devMode, nodeId });
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
    originsConfigured: origins !== undefined,
    maxPayload, redisUrl,
    redisCluster: redisCluster && redisCluster.length > 0 ? redisCluster : undefined, nodeId,
    shutdownTimeoutMs, renewIntervalMs, sessionMaxAgeMs, logLevel, production, devMode,
    ...channels, ...login, ...floods, demo: browser.demo, redisTimeoutMs, adminKey, ...adminKeys, adminPort, ...workers,
  });
}

/** One Redis Cluster seed node. */
export interface RedisSeed {
  readonly host: string;
  readonly port: number;
}

const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `host:port` or `[v6]:port`, port 1-65535; undefined when malformed. */
export function parseRedisSeed(text: string): RedisSeed | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2], port };
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
