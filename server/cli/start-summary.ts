import type { AddressInfo } from 'node:net';
import type { GatewayConfig } from '../config';
import { describeRedisTarget, redisTarget } from '../redis/connection';
import { packageVersion } from './version';

/** What the summary reports of a node that has started. */
export interface StartedNode {
  readonly config: Pick<
    GatewayConfig,
    | 'usersFile'
    | 'loginUrl'
    | 'channelsFile'
    | 'redisUrl'
    | 'redisCluster'
    | 'adminKey'
    | 'adminKeys'
    | 'metricsKey'
    | 'demo'
    | 'authKey'
    | 'jwks'
    | 'jwksFile'
    | 'signingKey'
    | 'devMode'
    | 'renewIntervalMs'
    | 'origins'
    | 'maxHandshakeRate'
    | 'workers'
  >;
  readonly nodeId: string;
  /**
   * The gateway's own process id: the one to send SIGHUP to. Under `npm start` it is npm's child, and npm does not
   * pass SIGHUP on (it dies of it), so a reload sent to npm's PID never arrives.
   */
  readonly pid: number;
  /** The WebSocket URL. */
  readonly url: string;
  readonly address: AddressInfo;
  /** Where the admin listener listens, when GATEHOUSE_ADMIN_PORT moved it off the public port. */
  readonly adminAddress?: AddressInfo;
}

/**
 * startSummary is what a node tells the person who started it, on stderr: where clients connect, which process to
 * signal, which keys verify and sign tokens, which origins may connect, and which parts are on (login, channel rules,
 * shared state, admin API, metrics), each "off" naming the setting that turns it on.
 */
export function startSummary(node: StartedNode): string {
  const { config } = node;
  const host = hostOf(node.address);
  const http = `http://${host}:${node.address.port}`;
  const adminBase = node.adminAddress ? `http://${host}:${node.adminAddress.port}` : http;
  const redis = redisTarget(config);
  const adminKeys = [config.adminKey && 'GATEHOUSE_ADMIN_KEY', config.adminKeys.length > 0 && 'a GATEHOUSE_ADMIN_KEYS key'].filter(Boolean).join(' or ');
  const rows: [string, string][] = [
    ['pid', `${node.pid} (SIGHUP reloads the JWK Set and users file, SIGTERM stops; send them to this PID)`],
    ['verifies', verifyingKeys(config)],
    ['signs', signingKeyText(config)],
    [
      'origins',
      config.origins
        ? `${config.origins.join(', ')}${config.demo ? " and this gateway's own origin (for the demo)" : ''}`
        : 'any origin (GATEHOUSE_ORIGINS limits browsers to a list)',
    ],
    ['health', `${http}/healthz and ${http}/readyz`],
    ['demo', config.demo ? `open ${http}/ in a browser` : 'off (GATEHOUSE_DEMO=1 serves it)'],
    ['client', `${http}/client.js (import { createClient } from it)`],
    [
      'login',
      config.usersFile
        ? `on, users file ${config.usersFile}`
        : config.loginUrl
          ? 'on, your backend (GATEHOUSE_LOGIN_URL)'
          : 'off (set GATEHOUSE_USERS_FILE or GATEHOUSE_LOGIN_URL)',
    ],
    ['rules', config.channelsFile ? `channel rules from ${config.channelsFile}` : 'no rules file: only what tokens grant (GATEHOUSE_CHANNELS_FILE)'],
    ['state', redis ? `shared through ${describeRedisTarget(redis)}` : 'in memory, this node only (GATEHOUSE_REDIS_URL shares it between nodes)'],
    ['admin API', adminKeys ? `${adminBase}/admin/ (Bearer ${adminKeys})` : 'off (set GATEHOUSE_ADMIN_KEY)'],
    ['metrics', `${adminBase}/metrics${config.metricsKey ? ' (Bearer GATEHOUSE_METRICS_KEY)' : ''}`],
    ['pacing', handshakeRateText(config)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    `Gatehouse ${packageVersion()} (node ${node.nodeId}) listening on ${node.url}`,
    ...rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`),
  ].join('\n');
}

/** Which tokens the node accepts: the HS256 secret for tokens without a kid, and the kids it knows. */
function verifyingKeys(config: StartedNode['config']): string {
  const parts: string[] = [];
  if (config.authKey) parts.push(config.devMode ? 'HS256 (an ephemeral development key)' : 'HS256 (GATEHOUSE_AUTH_KEY)');
  const kids = config.jwks.map((k) => `${k.kid} (${k.alg})`);
  if (config.jwksFile !== undefined) {
    parts.push(kids.length > 0 ? `JWK Set kids ${kids.join(', ')}` : `JWK Set ${config.jwksFile} (no keys yet)`);
  }
  if (config.signingKey && !config.jwks.some((k) => k.kid === config.signingKey!.kid)) {
    parts.push(`the signing key's kid ${config.signingKey.kid} (${config.signingKey.alg})`);
  }
  return parts.join('; ');
}

/** What the node signs its own tokens with (login and renewal), or why they are off. */
function signingKeyText(config: StartedNode['config']): string {
  const key = config.signingKey
    ? `${config.signingKey.alg} key ${config.signingKey.kid} (GATEHOUSE_SIGNING_KEY_FILE)`
    : config.authKey
      ? 'the HS256 key'
      : undefined;
  if (key !== undefined) {
    return config.renewIntervalMs > 0 ? `login and renewal sign with ${key}` : `login signs with ${key} (renewal is off: GATEHOUSE_RENEW_INTERVAL=0)`;
  }
  return 'nothing: login and renewal cannot sign (set GATEHOUSE_SIGNING_KEY_FILE, or GATEHOUSE_AUTH_KEY)';
}

/** How fast the node (each worker) starts handshakes: the pacing a reconnecting crowd meets. */
function handshakeRateText({ maxHandshakeRate, workers }: StartedNode['config']): string {
  const where = workers > 1 ? 'each worker' : 'this node';
  return maxHandshakeRate > 0
    ? `${where} starts at most ${maxHandshakeRate} handshakes a second; more upgrades get HTTP 503 and back off (GATEHOUSE_MAX_HANDSHAKE_RATE)`
    : `${where} starts handshakes as fast as they come (GATEHOUSE_MAX_HANDSHAKE_RATE=0)`;
}

function hostOf({ address, family }: AddressInfo): string {
  return family === 'IPv6' ? `[${address}]` : address;
}
