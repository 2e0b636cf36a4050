import type { Gateway } from '../gateway';
import { describeRedisTarget, redisTarget } from '../redis/connection';
import { packageVersion } from './version';

/**
 * startSummary is what a node tells the person who started it, on stderr: where clients connect, and which parts are
 * on (login, channel rules, shared state, admin API, metrics), each "off" naming the setting that turns it on.
 */
export function startSummary(gateway: Gateway): string {
  const { config } = gateway;
  const http = `http://${hostOf(gateway)}:${gateway.address().port}`;
  const admin = gateway.operations.adminAddress();
  const adminBase = admin ? `http://${hostOf(gateway)}:${admin.port}` : http;
  const redis = redisTarget(config);
  const rows: [string, string][] = [
    ['health', `${http}/healthz and ${http}/readyz`],
    ['demo', 'not served by this build'],
    ['login', config.usersFile ? `on, users file ${config.usersFile}`
      : config.loginUrl ? 'on, your backend (GATEHOUSE_LOGIN_URL)'
        : 'off (set GATEHOUSE_USERS_FILE or GATEHOUSE_LOGIN_URL)'],
    ['rules', config.channelsFile ? `channel rules from ${config.channelsFile}` : 'no rules file: only what tokens grant (GATEHOUSE_CHANNELS_FILE)'],
    ['state', redis ? `shared through ${describeRedisTarget(redis)}` : 'in memory, this node only (GATEHOUSE_REDIS_URL shares it between nodes)'],
    ['admin API', config.adminKey ? `${adminBase}/admin/ (Bearer GATEHOUSE_ADMIN_KEY)` : 'off (set GATEHOUSE_ADMIN_KEY)'],
    ['metrics', `${adminBase}/metrics`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    `Gatehouse ${packageVersion()} (node ${gateway.nodeId}) listening on ${gateway.url}`,
    ...rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`),
  ].join('\n');
}

function hostOf(gateway: Gateway): string {
  const { address, family } = gateway.address();
  return family === 'IPv6' ? `[${address}]` : address;
}
