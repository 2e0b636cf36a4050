import { isIP } from 'node:net';
import { MAX_TOKEN_BYTES } from '../../shared';
import type { AuthSettings } from '../auth/settings';
import { LOG_LEVELS, type LogLevel } from '../log';
import type { SettingsReader } from '../settings-kit/reader';

/** Smallest GATEHOUSE_MAX_PAYLOAD accepted, in bytes: a handshake frame with a token of MAX_TOKEN_BYTES fits. */
export const MIN_MAX_PAYLOAD = MAX_TOKEN_BYTES + 2048;

/**
 * How long past its ping interval a client may stay silent before the node drops it, ms. At the default 8 s interval
 * this is SocketCluster's own 30 s ping timeout.
 */
export const PING_GRACE_MS = 22_000;

/** What the environment says beside the GATEHOUSE_* settings. */
export interface Environment {
  /** NODE_ENV=production: development mode, and login open to any origin, are refused instead of warned of. */
  readonly production: boolean;
}

/**
 * The node's own slice of the configuration, which no feature owns: where it listens, which browser origins may
 * connect, the largest message, how it logs and how long it may take to stop.
 */
export interface NodeSettings {
  /** GATEHOUSE_PORT (default 8000). */
  readonly port: number;
  /** GATEHOUSE_HOST: an IP address or localhost (default 0.0.0.0; in development mode always 127.0.0.1). */
  readonly host: string;
  /** GATEHOUSE_ORIGINS: allowed browser origins (scheme://host[:port]); undefined allows any. */
  readonly origins?: readonly string[];
  /** GATEHOUSE_ORIGINS was set (a list, or `*` for any): unset beside login is refused in production, else warned of. */
  readonly originsConfigured: boolean;
  /** GATEHOUSE_MAX_PAYLOAD: largest WebSocket message, bytes (default 64 KiB). */
  readonly maxPayload: number;
  /** GATEHOUSE_PING_INTERVAL: how often the node pings each socket, ms (default 8s). */
  readonly pingIntervalMs: number;
  /** How long a socket may be silent before the node drops it, ms: the interval plus PING_GRACE_MS. */
  readonly pingTimeoutMs: number;
  /** GATEHOUSE_SHUTDOWN_TIMEOUT: longest graceful shutdown, ms (default 10s). */
  readonly shutdownTimeoutMs: number;
  /** GATEHOUSE_LOG_LEVEL (default info). */
  readonly logLevel: LogLevel;
}

/** Reads the node's own settings, reporting each problem to the reader; a development node listens on loopback only. */
export function readNodeSettings(r: SettingsReader, { devMode }: Pick<AuthSettings, 'devMode'>): NodeSettings {
  const port = r.integer('GATEHOUSE_PORT', 8000, 0, 65535);
  const host = r.string('GATEHOUSE_HOST') ?? '0.0.0.0';
  if (isIP(host) === 0 && host !== 'localhost') {
    r.problem('GATEHOUSE_HOST', `${JSON.stringify(host)} is neither an IP address (e.g. 0.0.0.0, 127.0.0.1, ::) nor localhost`);
  }
  const origins = r.list('GATEHOUSE_ORIGINS');
  const normalized: string[] = [];
  for (const origin of origins ?? []) {
    if (isOrigin(origin)) normalized.push(normalizeOrigin(origin));
    else if (origin !== '*') r.problem('GATEHOUSE_ORIGINS', `${JSON.stringify(origin)} is not an origin like https://app.example.com or http://localhost:3000`);
  }
  // The floor leaves room for a handshake carrying the largest token we accept; below it a valid token would be cut
  // off with a bare 1009 instead of being verified.
  const maxPayload = r.bytes('GATEHOUSE_MAX_PAYLOAD', 64 * 1024, MIN_MAX_PAYLOAD, 64 * 1024 * 1024);
  // Pings are most of an idle node's work (one write per socket per interval); a longer interval saves that CPU, and a
  // client that vanished without a close is then noticed later, its presence lingering as long.
  const pingIntervalMs = r.duration('GATEHOUSE_PING_INTERVAL', '8s', { min: 1000, max: 60_000 });
  const shutdownTimeoutMs = r.duration('GATEHOUSE_SHUTDOWN_TIMEOUT', '10s', { min: 100, max: 600_000 });
  const logLevel = r.oneOf('GATEHOUSE_LOG_LEVEL', 'info', LOG_LEVELS);
  return {
    port,
    host: devMode ? '127.0.0.1' : host,
    origins: origins === undefined || origins.includes('*') ? undefined : normalized,
    originsConfigured: origins !== undefined,
    maxPayload,
    pingIntervalMs,
    pingTimeoutMs: pingIntervalMs + PING_GRACE_MS,
    shutdownTimeoutMs,
    logLevel,
  };
}

function isOrigin(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.pathname === '/' && !u.search && !u.hash && !u.username && !u.password;
  } catch {
    return false;
  }
}

/** The form browsers send in the Origin header: scheme://host[:port], default ports dropped. */
export function normalizeOrigin(text: string): string {
  return new URL(text).origin;
}
