import type { AddressInfo } from 'node:net';
import type { GatewayConfig } from '../config';
import { describeRedisTarget, redisTarget } from '../redis/connection';
import { packageVersion } from './version';

/** What the summary reports of a node that has started. */
export interface StartedNode {
  readonly config: Pick<GatewayConfig, 'usersFile' | 'loginUrl' | 'channelsFile' | 'redisUrl' | 'redisCluster' | 'adminKey' | 'adminKeys' | 'metricsKey' | 'demo'>;
  readonly nodeId: string;
  /** The WebSocket URL. */
  readonly url: string;
  readonly address: AddressInfo;
  /** Where the admin listener listens, when GATEHOUSE_ADMIN_PORT moved it off the public port. */
  readonly adminAddress?: AddressInfo;
}

/**
 * startSummary is what a node tells the person who started it, on stderr: where clients connect, and which parts are
 * on (login, channel rules, shared state, admin API, metrics), each "off" naming the setting that turns it on.
 */
export function startSummary(node: StartedNode): string {
  const { config } = node;
  const host = hostOf(node.address);
  const http = `http://${host}:${node.address.port}`;
  const adminBase = node.adminAddress ? `http://${host}:${node.adminAddress.port}` : http;
  const redis = redisTarget(config);
  const adminKeys = [config.adminKey && 'GATEHOUSE_ADMIN_KEY', config.adminKeys.length > 0 && 'a GATEHOUSE_ADMIN_KEYS key'].filter(Boolean).join(' or ');
  const rows: [string, string][] = [
    ['health', `${http}/healthz and ${http}/readyz`],
    ['demo', config.demo ? `open ${http}/ in a browser` : 'off (GATEHOUSE_DEMO=1 serves it)'],
    ['client', `${http}/client.js (import { createClient } from it)`],
    ['login', config.usersFile ? `on, users file ${config.usersFile}`
      : config.loginUrl ? 'on, your backend (GATEHOUSE_LOGIN_URL)'
        : 'off (set GATEHOUSE_USERS_FILE or GATEHOUSE_LOGIN_URL)'],
    ['rules', config.channelsFile ? `channel rules from ${config.channelsFile}` : 'no rules file: only what tokens grant (GATEHOUSE_CHANNELS_FILE)'],
    ['state', redis ? `shared through ${describeRedisTarget(redis)}` : 'in memory, this node only (GATEHOUSE_REDIS_URL shares it between nodes)'],
    ['admin API', adminKeys ? `${adminBase}/admin/ (Bearer ${adminKeys})` : 'off (set GATEHOUSE_ADMIN_KEY)'],
    ['metrics', `${adminBase}/metrics${config.metricsKey ? ' (Bearer GATEHOUSE_METRICS_KEY)' : ''}`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    `Gatehouse ${packageVersion()} (node ${node.nodeId}) listening on ${node.url}`,
    ...rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`),
  ].join('\n');
}

function hostOf({ address, family }: AddressInfo): string {
  return family === 'IPv6' ? `[${address}]` : address;
}
