import type { AuthSettings } from '../auth/settings';
import { demoFiles, type BrowserSettings } from '../browser/settings';
import type { SettingsReader } from '../settings-kit/reader';
import type { Environment, NodeSettings } from '../node/settings';
import { parseTrustEntry } from '../http/client-ip';
import { readUsersFile, type UserRecord } from './users-file';

/** How long the login backend has to answer, in ms. Not a setting; tests shorten it. */
export const DEFAULT_LOGIN_TIMEOUT_MS = 3000;

/**
 * What login on a node that names no browser origins exposes: any website can open a WebSocket to it, call `login` and
 * read the token, so every visitor's browser becomes a password guesser. NODE_ENV=production refuses to start so;
 * elsewhere it is a start-up and /readyz warning.
 */
export const LOGIN_FROM_ANY_ORIGIN =
  "login is on and GATEHOUSE_ORIGINS is unset, so any website can open a WebSocket to this gateway, call login and read the token (its visitors' browsers become password guessers): list your pages' origins (GATEHOUSE_ORIGINS=https://app.example.com), or set GATEHOUSE_ORIGINS=* to allow any";

/** Login's slice of the configuration. With neither usersFile nor loginUrl there is no `login` procedure and no POST /auth/login. */
export interface LoginSettings {
  /** GATEHOUSE_USERS_FILE: JSON array of users with scrypt password hashes (re-read on SIGHUP). */
  readonly usersFile?: string;
  /** The users file's users as read at start-up (empty without a users file). */
  readonly users: readonly UserRecord[];
  /** GATEHOUSE_LOGIN_URL: the app backend the gateway POSTs {username, password} to. */
  readonly loginUrl?: string;
  /** How long the login backend has to answer, in ms (DEFAULT_LOGIN_TIMEOUT_MS). */
  readonly loginTimeoutMs: number;
  /** GATEHOUSE_LOGIN_MAX_FAILURES: failed logins per username per window before RateLimitedError (default 5). */
  readonly loginMaxFailuresPerUser: number;
  /** GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP: failed logins per client IP (IPv6: per /64) per window (default 20). */
  readonly loginMaxFailuresPerIp: number;
  /** GATEHOUSE_LOGIN_FAILURE_WINDOW: the window failed logins are counted over, in ms (default 15m). */
  readonly loginFailureWindowMs: number;
  /** GATEHOUSE_LOGIN_RATE_PER_USER: login attempts of any outcome per username a minute (default 10). */
  readonly loginRatePerUser: number;
  /** GATEHOUSE_LOGIN_RATE_PER_IP: login attempts of any outcome per client IP (IPv6: per /64) a minute (default 60). */
  readonly loginRatePerIp: number;
  /** GATEHOUSE_TRUST_PROXY: proxies (IPs or CIDR ranges) whose X-Forwarded-For is believed (default none). */
  readonly trustProxy: readonly string[];
}

/** What login's settings are read against: the node's keys, its origins, and whether the demo's users stand in. */
export type LoginSettingsContext = Environment & Pick<AuthSettings, 'devMode' | 'authKey'> & Pick<NodeSettings, 'originsConfigured'> & BrowserSettings;

/**
 * Reads login's settings, reporting each problem to the reader (which lists them all at start-up). With neither
 * GATEHOUSE_USERS_FILE nor GATEHOUSE_LOGIN_URL set a development node's demo brings its users. Login signs tokens, so
 * outside development mode it needs a key to sign with, and in production a list of origins (LOGIN_FROM_ANY_ORIGIN).
 */
export function readLoginSettings(r: SettingsReader, context: LoginSettingsContext): LoginSettings {
  const { production, devMode, authKey, originsConfigured } = context;
  const fallbackUsersFile = demoFiles(context)?.usersFile;
  const usersFile = r.string('GATEHOUSE_USERS_FILE') ?? (r.raw('GATEHOUSE_LOGIN_URL') === undefined ? fallbackUsersFile : undefined);
  let users: UserRecord[] = [];
  if (usersFile !== undefined) {
    try {
      users = readUsersFile(usersFile);
    } catch (err) {
      r.problem('GATEHOUSE_USERS_FILE', `${usersFile}: ${(err as Error).message}`);
    }
  }
  const loginUrl = r.string('GATEHOUSE_LOGIN_URL');
  if (loginUrl !== undefined && !isBackendUrl(loginUrl)) {
    // The value is not echoed: it may carry a password.
    r.problem('GATEHOUSE_LOGIN_URL', 'must be an http:// or https:// URL without user:password@ (e.g. http://127.0.0.1:3000/gatehouse/login)');
  }
  if (usersFile !== undefined && loginUrl !== undefined) {
    r.problem('GATEHOUSE_LOGIN_URL', 'set either GATEHOUSE_USERS_FILE or GATEHOUSE_LOGIN_URL, not both');
  }
  const loginMaxFailuresPerUser = r.integer('GATEHOUSE_LOGIN_MAX_FAILURES', 5, 1, 1000);
  const loginMaxFailuresPerIp = r.integer('GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP', 20, 1, 100_000);
  const loginFailureWindowMs = r.duration('GATEHOUSE_LOGIN_FAILURE_WINDOW', '15m', { min: 1000, max: 86_400_000 });
  const loginRatePerUser = r.integer('GATEHOUSE_LOGIN_RATE_PER_USER', 10, 1, 1_000_000);
  const loginRatePerIp = r.integer('GATEHOUSE_LOGIN_RATE_PER_IP', 60, 1, 1_000_000);
  const trustProxy = r.list('GATEHOUSE_TRUST_PROXY') ?? [];
  for (const entry of trustProxy) {
    const parsed = parseTrustEntry(entry);
    if (typeof parsed === 'string') r.problem('GATEHOUSE_TRUST_PROXY', parsed);
  }
  const loginSetting = usersFile !== undefined ? 'GATEHOUSE_USERS_FILE' : loginUrl !== undefined ? 'GATEHOUSE_LOGIN_URL' : undefined;
  // A signing key file that failed to load is reported on its own: it was configured, so it is not "no key" here.
  if (loginSetting && !devMode && authKey === undefined && r.raw('GATEHOUSE_SIGNING_KEY_FILE') === undefined) {
    r.problem(
      loginSetting,
      'login needs a key to sign the tokens it issues: set GATEHOUSE_SIGNING_KEY_FILE (a PEM private key; its public half is accepted with the JWK Set) or GATEHOUSE_AUTH_KEY (HS256)',
    );
  }
  if (loginSetting && production && !devMode && !originsConfigured) {
    r.problem('GATEHOUSE_ORIGINS', `NODE_ENV=production: ${LOGIN_FROM_ANY_ORIGIN}`);
  }
  return {
    usersFile,
    users,
    loginUrl,
    loginTimeoutMs: DEFAULT_LOGIN_TIMEOUT_MS,
    loginMaxFailuresPerUser,
    loginMaxFailuresPerIp,
    loginFailureWindowMs,
    loginRatePerUser,
    loginRatePerIp,
    trustProxy,
  };
}

function isBackendUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
  } catch {
    return false;
  }
}
