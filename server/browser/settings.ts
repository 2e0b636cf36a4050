import { join } from 'node:path';
import type { AuthSettings } from '../auth/settings';
import type { SettingsReader } from '../settings-kit/reader';
import { packageRoot } from '../paths';

/** The browser side's slice of the configuration. */
export interface BrowserSettings {
  /** GATEHOUSE_DEMO: serve the demo page at `/`; default on in development mode only. */
  readonly demo: boolean;
}

/** Reads GATEHOUSE_DEMO (`1`/`true`, `0`/`false`; unset: on in development mode), reporting a problem to the reader. */
export function readBrowserSettings(r: SettingsReader, { devMode }: Pick<AuthSettings, 'devMode'>): BrowserSettings {
  const setting = r.raw('GATEHOUSE_DEMO');
  if (setting !== undefined && !['0', '1', 'true', 'false'].includes(setting))
    r.problem('GATEHOUSE_DEMO', `${JSON.stringify(setting)} is not 1, true, 0 or false`);
  return { demo: setting === '1' || setting === 'true' || (setting === undefined && devMode) };
}

/** The demo's own users and channel rules (demo/users.json, demo/channels.json). */
export interface DemoFiles {
  readonly usersFile: string;
  readonly channelsFile: string;
}

/**
 * The demo's users and channel rules, which stand in for whatever of them the operator left unset; undefined but on a
 * development node serving the demo: their passwords are published, so they never stand in beside a real key.
 */
export function demoFiles({ demo, devMode }: BrowserSettings & Pick<AuthSettings, 'devMode'>): DemoFiles | undefined {
  if (!demo || !devMode) return undefined;
  const dir = join(packageRoot(), 'demo');
  return { usersFile: join(dir, 'users.json'), channelsFile: join(dir, 'channels.json') };
}
