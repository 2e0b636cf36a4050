import { readAdminSettings, type AdminSettings } from '../admin/settings';
import { readAuthSettings, type AuthSettings } from '../auth/settings';
import { readBrowserSettings, type BrowserSettings } from '../browser/settings';
import { readChannelSettings, type ChannelSettings } from '../channels/settings';
import { readClusterSettings, type ClusterSettings } from '../cluster/settings';
import { readFloodSettings, type FloodSettings } from '../floods/settings';
import { readGrantsSettings, type GrantsSettings } from '../grants/settings';
import { readLoginSettings, type LoginSettings } from '../login/settings';
import { readPresenceSettings, type PresenceSettings } from '../presence/settings';
import { readRenewalSettings, type RenewalSettings } from '../renewal/settings';
import { readRevocationSettings, type RevocationSettings } from '../revocation/settings';
import { readWorkerSettings, type WorkerSettings } from '../workers/settings';
import { ConfigError, SettingsReader, readConfigFile, type Source } from '../settings-kit/reader';
import { readNodeSettings, type Environment, type NodeSettings } from '../node/settings';

export { ConfigError } from '../settings-kit/reader';
export { MIN_MAX_PAYLOAD, normalizeOrigin } from '../node/settings';
export { LOG_LEVELS, type LogLevel } from '../log';
export { MIN_ADMIN_KEY_BYTES } from '../admin/settings';
export { MIN_SECRET_BYTES } from '../auth/settings';
export { parseRedisSeed, type RedisSeed } from '../cluster/settings';

/**
 * The whole, validated, frozen configuration of one gateway node: the node's own settings and every feature's slice,
 * each read by the settings.ts beside the code that uses it. Durations are milliseconds, sizes bytes.
 */
export type GatewayConfig = Environment
  & AuthSettings
  & NodeSettings
  & ClusterSettings
  & RenewalSettings
  & RevocationSettings
  & AdminSettings
  & BrowserSettings
  & ChannelSettings
  & LoginSettings
  & FloodSettings
  & GrantsSettings
  & WorkerSettings
  & PresenceSettings;

export interface LoadOptions {
  readonly env: Source;
  /** Path of a JSON file of settings (`--config`); the environment wins over it. */
  readonly configFile?: string;
}

/** Reads and validates the configuration; throws ConfigError listing every problem. */
export function loadConfig({ env, configFile }: LoadOptions): GatewayConfig {
  const file = configFile === undefined ? {} : readConfigFile(configFile);
  const r = new SettingsReader(env, file, configFile);
  // Auth comes first: whether a key is configured decides development mode, which other slices' defaults follow. The
  // order is also the order settings become known in, which breaks ties between equally near "did you mean"
  // suggestions for a misspelt name (GATEHOUSE_REDIS → GATEHOUSE_REDIS_URL, not _CLUSTER or _TIMEOUT).
  const config: GatewayConfig = new Slices(r, { production: env.NODE_ENV === 'production' })
    .read(readAuthSettings)
    .read(readNodeSettings)
    .read(readClusterSettings)
    .read(readRenewalSettings)
    .read(readRevocationSettings)
    .read(readAdminSettings)
    .read(readBrowserSettings)
    .read(readChannelSettings)
    .read(readLoginSettings)
    .read(readWorkerSettings)
    .read(readFloodSettings)
    .read(readGrantsSettings)
    .read(readPresenceSettings).all;
  r.checkUnknown('GATEHOUSE_');
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return Object.freeze(config);
}

/**
 * Slices composes the configuration from its slices, in order. Every reader has one shape: it takes the settings
 * reader and the slices read before it (typed by what it uses, so a reader placed before a slice it needs does not
 * compile), reports its problems to the reader and returns its own slice.
 */
class Slices<Read extends object> {
  constructor(
    private readonly r: SettingsReader,
    readonly all: Read,
  ) {}

  read<Slice extends object>(reader: (r: SettingsReader, earlier: Read) => Slice): Slices<Read & Slice> {
    return new Slices(this.r, { ...this.all, ...reader(this.r, this.all) });
  }
}
