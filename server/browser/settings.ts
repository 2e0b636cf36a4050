import { join } from 'node:path';
import type { SettingsReader } from '../config/reader';
import { packageRoot } from '../paths';

/** The browser side's slice of the configuration. */
export interface BrowserSettings {
  /** GATEHOUSE_DEMO: serve the demo page at `/`; default on in development mode only. */
  readonly demo: boolean;
}

/**
 * Reads GATEHOUSE_DEMO (`1`/`true`, `0`/`false`; unset: on in development mode). On a development node (`keyless`)
 * the demo also brings its users and channel rules (demo/users.json, demo/channels.json) for whatever the operator
 * left unset: their passwords are published, so they never stand in beside a real key.
 */
export function readBrowserSettings(r: SettingsReader, keyless: boolean): BrowserSettings & { demoFiles?: { usersFile: string; channelsFile: string } } {
  const setting = r.raw('GATEHOUSE_DEMO');
  if (setting !== undefined && !['0', '1', 'true', 'false'].includes(setting)) r.problem('GATEHOUSE_DEMO', `${JSON.stringify(setting)} is not 1, true, 0 or false`);
  const demo = setting === '1' || setting === 'true' || (setting === undefined && keyless);
  if (!demo || !keyless) return { demo };
  const dir = join(packageRoot(), 'demo');
  return { demo, demoFiles: { usersFile: join(dir, 'users.json'), channelsFile: join(dir, 'channels.json') } };
}
