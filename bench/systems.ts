/** The systems a bench run compares, each started the same way: a compiled server under plain `node`, pinned. */
import { readFileSync } from 'node:fs';
import type { Built } from './build';

export type SystemName = 'gatehouse-redis' | 'gatehouse-local' | 'stock-string' | 'stock-keyobject' | 'socketio' | 'baseline-redis' | 'baseline-local';

/** The systems a run compares unless told otherwise. */
export const SYSTEMS: readonly SystemName[] = ['gatehouse-redis', 'gatehouse-local', 'stock-string', 'stock-keyobject', 'socketio'];
/**
 * Also Gatehouse as it was at another commit (`--baseline=REF`), Redis and one node: a change's before and after,
 * interleaved in the same run.
 */
export const ALL_SYSTEMS: readonly SystemName[] = [...SYSTEMS, 'baseline-redis', 'baseline-local'];

export const LABELS: Record<SystemName, string> = {
  'gatehouse-redis': 'Gatehouse as deployed (Redis, revocation check, claims, channel rules, renewal)',
  'gatehouse-local': 'Gatehouse, one node without Redis',
  'stock-string': 'stock AGServer as documented (string authKey, inbound middleware on authToken.channels)',
  'stock-keyobject': 'stock AGServer tuned (KeyObject authKey, same middleware)',
  socketio: 'Socket.IO 4 (io.use JWT middleware, rooms)',
  'baseline-redis': 'Gatehouse at the --baseline commit, as deployed (Redis)',
  'baseline-local': 'Gatehouse at the --baseline commit, one node without Redis',
};

/** Settings shared by every run. */
export interface RunContext {
  readonly secret: string;
  readonly redisUrl?: string;
  readonly adminKey: string;
  readonly issuer: string;
  readonly audience: string;
  readonly usersFile?: string;
}

export interface SystemLaunch {
  readonly argv: string[];
  readonly env: Record<string, string>;
  readonly protocol: 'sc' | 'sio';
}

/** How to start a system on a port; `extraEnv` adds Gatehouse settings (the scale run's renewal interval, a node id). */
export function launch(system: SystemName, built: Built, port: number, ctx: RunContext, extraEnv: Record<string, string> = {}): SystemLaunch {
  const node = [process.execPath, '--expose-gc', '-r', built.probe];
  if (isGatehouse(system)) {
    const env: Record<string, string> = {
      GATEHOUSE_HOST: '127.0.0.1',
      GATEHOUSE_PORT: String(port),
      GATEHOUSE_AUTH_KEY: ctx.secret,
      GATEHOUSE_ISSUER: ctx.issuer,
      GATEHOUSE_AUDIENCE: ctx.audience,
      // The bench publishes far faster than a person: the limiter still runs on every publish, it just never refuses.
      GATEHOUSE_PUBLISH_RATE: '1000000',
      GATEHOUSE_PUBLISH_BURST: '1000000',
      // Likewise the per-address flood and login limits: thousands of connections from a few loopback addresses, the
      // same user logging in over and over.
      GATEHOUSE_MAX_CONNECTIONS_PER_IP: '10000000',
      GATEHOUSE_HANDSHAKE_RATE_PER_IP: '10000000',
      // The node's handshake pacing too: the handshake phase measures the cost of each handshake at full tilt, which
      // the pacer would shed. Its checks still run.
      GATEHOUSE_MAX_HANDSHAKE_RATE: '10000000',
      GATEHOUSE_MAX_LOOP_DELAY: '60s',
      GATEHOUSE_LOGIN_RATE_PER_USER: '1000000',
      GATEHOUSE_LOGIN_RATE_PER_IP: '1000000',
      GATEHOUSE_LOG_LEVEL: 'info',
      GATEHOUSE_SHUTDOWN_TIMEOUT: '2s',
      ...(ctx.usersFile ? { GATEHOUSE_USERS_FILE: ctx.usersFile } : {}),
      ...extraEnv,
    };
    if (usesRedis(system)) {
      if (!ctx.redisUrl) throw new Error('gatehouse-redis needs the bench Redis');
      env.GATEHOUSE_REDIS_URL = ctx.redisUrl;
      env.GATEHOUSE_ADMIN_KEY = ctx.adminKey;
    }
    const bundle = system.startsWith('baseline') ? built.baseline : built.gatehouse;
    if (!bundle) throw new Error(`${system} needs --baseline=REF`);
    // A baseline from before a setting existed refuses it as unknown; what it lacks, it does not do either.
    if (system.startsWith('baseline')) for (const name of Object.keys(env)) if (!bundleNames(bundle, name)) delete env[name];
    return { argv: [...node, bundle, 'start'], env, protocol: 'sc' };
  }
  const env = { BENCH_PORT: String(port), BENCH_SECRET: ctx.secret };
  if (system === 'socketio') return { argv: [...node, built.socketio], env, protocol: 'sio' };
  return { argv: [...node, built.stock], env: { ...env, BENCH_KEY: system === 'stock-keyobject' ? 'keyobject' : 'string' }, protocol: 'sc' };
}

const bundleText = new Map<string, string>();

/** Whether the bundle's code names the setting (its config reads settings by their full names). */
function bundleNames(bundle: string, name: string): boolean {
  let text = bundleText.get(bundle);
  if (text === undefined) bundleText.set(bundle, (text = readFileSync(bundle, 'utf8')));
  return text.includes(name);
}

export function isGatehouse(system: SystemName): boolean {
  return system.startsWith('gatehouse') || system.startsWith('baseline');
}

/** Gatehouse as deployed, with Redis (now or at the baseline). */
export function usesRedis(system: SystemName): boolean {
  return system === 'gatehouse-redis' || system === 'baseline-redis';
}
