import type { GatewayConfig } from '../config';

/** Errors from listen() that are the operator's to fix, by errno code. */
const REASONS: Record<string, string> = {
  EADDRINUSE: 'is already in use by another process',
  EACCES: 'needs privileges this process does not have (ports below 1024 usually do)',
  EADDRNOTAVAIL: 'is on an address this machine does not have',
};

/**
 * listenProblem turns a failed listen into one line that names the setting to change (GATEHOUSE_PORT or
 * GATEHOUSE_ADMIN_PORT, GATEHOUSE_HOST), or undefined for an error that is not the operator's to fix.
 */
export function listenProblem(err: unknown, config: Pick<GatewayConfig, 'host' | 'port' | 'adminPort'>): string | undefined {
  const { code, port } = (err ?? {}) as { code?: unknown; port?: unknown };
  if (typeof code !== 'string' || !(code in REASONS)) return undefined;
  const admin = config.adminPort !== undefined && port === config.adminPort && port !== config.port;
  const setting = admin ? 'GATEHOUSE_ADMIN_PORT' : 'GATEHOUSE_PORT';
  const where = `${config.host}:${admin ? config.adminPort : config.port}`;
  if (code === 'EADDRNOTAVAIL') return `GATEHOUSE_HOST: ${where} ${REASONS[code]}; use one of its addresses, 0.0.0.0 or localhost`;
  return `${setting}: ${where} ${REASONS[code]}; choose another port with ${setting}`;
}
