import type { SettingsReader } from '../settings-kit/reader';
import type { NodeSettings } from '../node/settings';

/** Shortest admin (or metrics) key accepted, in bytes. */
export const MIN_ADMIN_KEY_BYTES = 16;

/**
 * What an admin key may do. Every admin route needs one scope: `publish` (POST /admin/publish), `revoke`
 * (POST /admin/revoke), `disconnect` (POST /admin/disconnect), `read` (GET /admin/nodes); `grants` (every route under
 * /admin/grants). GATEHOUSE_ADMIN_KEY holds them all.
 */
export const ADMIN_SCOPES = ['publish', 'revoke', 'disconnect', 'grants', 'read'] as const;
export type AdminScope = (typeof ADMIN_SCOPES)[number];

/** One bearer key of the admin API and what it may do. */
export interface ScopedKey {
  readonly key: Buffer;
  readonly scopes: ReadonlySet<AdminScope>;
}

/** The admin API's and metrics' slice of the configuration. */
export interface AdminSettings {
  /** GATEHOUSE_ADMIN_KEY[_FILE]: bearer key of the admin API, holding every scope; unset (and no scoped keys), 404. */
  readonly adminKey?: Buffer;
  /** GATEHOUSE_ADMIN_KEYS[_FILE]: keys limited to some scopes, beside GATEHOUSE_ADMIN_KEY (default none). */
  readonly adminKeys: readonly ScopedKey[];
  /** GATEHOUSE_METRICS_KEY[_FILE]: bearer key /metrics then requires; unset, /metrics is open (default). */
  readonly metricsKey?: Buffer;
  /** GATEHOUSE_ADMIN_PORT: a second listener (on the same host) for /admin/* and /metrics; unset, they share the port. */
  readonly adminPort?: number;
}

/** A scope name a problem may show: a misspelt scope, never long enough to be a key (MIN_ADMIN_KEY_BYTES). */
const SHOWN_SCOPE_NAME = /^[a-z_-]{0,12}$/;

/**
 * Parses GATEHOUSE_ADMIN_KEYS: entries separated by white space (spaces or new lines, so a _FILE holds one a line),
 * each `scope,scope:KEY`. The scopes end at the first colon; the key is the rest. Problems name the entry by its
 * position and never echo a key.
 */
export function parseAdminKeys(text: string): { keys: ScopedKey[]; problems: string[] } {
  const keys: ScopedKey[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  text
    .split(/\s+/)
    .filter((entry) => entry !== '')
    .forEach((entry, i) => {
      const where = `entry ${i + 1}`;
      const colon = entry.indexOf(':');
      if (colon < 0) return void problems.push(`${where} has no scopes: write scope,scope:KEY (e.g. publish:KEY)`);
      const names = entry.slice(0, colon).split(',');
      const key = Buffer.from(entry.slice(colon + 1), 'utf8');
      const unknown = names.filter((name) => !(ADMIN_SCOPES as readonly string[]).includes(name));
      if (unknown.length > 0) {
        // An entry written key first puts the key where the scopes go: only names too short to be a key are shown.
        const shown = unknown.every((name) => SHOWN_SCOPE_NAME.test(name)) ? unknown.map((name) => JSON.stringify(name)).join(', ') : undefined;
        problems.push(
          shown !== undefined
            ? `${where} names unknown scope ${shown}; scopes are ${ADMIN_SCOPES.join(', ')}`
            : `${where} names an unknown scope (not shown: it may be a key written before its scopes); write scope,scope:KEY, scopes are ${ADMIN_SCOPES.join(', ')}`,
        );
      }
      if (key.length < MIN_ADMIN_KEY_BYTES) {
        problems.push(`${where}'s key is ${key.length} bytes; use at least ${MIN_ADMIN_KEY_BYTES} (try: openssl rand -base64 32)`);
      }
      const earlier = seen.get(key.toString('base64'));
      if (earlier !== undefined) problems.push(`${where} repeats the key of entry ${earlier}: one key, one set of scopes`);
      seen.set(key.toString('base64'), i + 1);
      if (unknown.length === 0) keys.push({ key, scopes: new Set(names as AdminScope[]) });
    });
  return { keys, problems };
}

/**
 * Reads the admin and metrics keys and GATEHOUSE_ADMIN_PORT, reporting each problem to the reader. No scoped key may
 * repeat GATEHOUSE_ADMIN_KEY (it would hold two sets of scopes), and the metrics key is none of them; the admin port
 * exists to keep /admin and /metrics off the public one (`port`).
 */
export function readAdminSettings(r: SettingsReader, { port }: Pick<NodeSettings, 'port'>): AdminSettings {
  const adminKey = r.secret('GATEHOUSE_ADMIN_KEY');
  if (adminKey !== undefined && adminKey.length < MIN_ADMIN_KEY_BYTES) {
    r.problem(r.sourceOf('GATEHOUSE_ADMIN_KEY'), `is ${adminKey.length} bytes; use at least ${MIN_ADMIN_KEY_BYTES} (try: openssl rand -base64 32)`);
  }
  const raw = r.secret('GATEHOUSE_ADMIN_KEYS');
  const { keys: adminKeys, problems } = raw === undefined ? { keys: [], problems: [] } : parseAdminKeys(raw.toString('utf8'));
  for (const problem of problems) r.problem(r.sourceOf('GATEHOUSE_ADMIN_KEYS'), problem);
  if (adminKey !== undefined && adminKeys.some(({ key }) => key.equals(adminKey))) {
    r.problem(r.sourceOf('GATEHOUSE_ADMIN_KEYS'), 'repeats GATEHOUSE_ADMIN_KEY, which already holds every scope');
  }
  const metricsKey = r.secret('GATEHOUSE_METRICS_KEY');
  if (metricsKey !== undefined && metricsKey.length < MIN_ADMIN_KEY_BYTES) {
    r.problem(r.sourceOf('GATEHOUSE_METRICS_KEY'), `is ${metricsKey.length} bytes; use at least ${MIN_ADMIN_KEY_BYTES} (try: openssl rand -base64 32)`);
  }
  if (metricsKey !== undefined && [adminKey, ...adminKeys.map(({ key }) => key)].some((key) => key?.equals(metricsKey))) {
    r.problem(r.sourceOf('GATEHOUSE_METRICS_KEY'), 'is also an admin key; give the scraper its own, so it cannot open the admin API');
  }
  const adminPort = r.raw('GATEHOUSE_ADMIN_PORT') === undefined ? undefined : r.integer('GATEHOUSE_ADMIN_PORT', 0, 0, 65535);
  if (adminPort !== undefined && adminPort !== 0 && adminPort === port) {
    r.problem('GATEHOUSE_ADMIN_PORT', `must differ from GATEHOUSE_PORT (${port}): it exists to keep /admin and /metrics off the public port`);
  }
  return { adminKey, adminKeys, metricsKey, adminPort };
}
