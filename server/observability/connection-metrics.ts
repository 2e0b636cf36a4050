import { ERROR_CATALOGUE } from '../../shared';
import type { GatewayHost } from '../host';

/**
 * The error names a handshake's auth error can carry: the catalogue's authentication errors, and SocketCluster's own
 * `AuthTokenError` for anything else verifyToken throws. Labels come only from here, never from what a socket sends.
 */
const HANDSHAKE_ERROR_NAMES: ReadonlySet<string> = new Set([
  ...ERROR_CATALOGUE.filter((e) => e.removesToken !== undefined).map((e) => e.name),
  'AuthTokenError',
]);

/** The `outcome` label of a completed handshake: authenticated, anonymous, a known auth error's name, or other. */
export function handshakeOutcome(isAuthenticated: boolean, authError: { name?: unknown } | undefined): string {
  if (isAuthenticated) return 'authenticated';
  if (!authError) return 'anonymous';
  return typeof authError.name === 'string' && HANDSHAKE_ERROR_NAMES.has(authError.name) ? authError.name : 'other';
}

/**
 * Counts the node's own connections: open WebSockets (read from AGServer at scrape) and completed handshakes by
 * outcome (handshakeOutcome), kept in a map and copied into their counter at scrape.
 */
export function installConnectionMetrics(host: GatewayHost<unknown>): void {
  const { agServer, metrics } = host;
  metrics.gauge({
    name: 'gatehouse_connections',
    help: 'Open WebSocket connections (handshake completed)',
    collect() {
      this.set(agServer.clientsCount);
    },
  });
  const handshakes = new Map<string, number>();
  metrics.totals(
    { name: 'gatehouse_handshakes_total', help: 'Completed handshakes by outcome: authenticated, anonymous, or the auth error name', label: 'outcome' },
    () => handshakes,
  );
  host.onConnection((_socket, { isAuthenticated, authError }) => {
    const outcome = handshakeOutcome(isAuthenticated, authError);
    handshakes.set(outcome, (handshakes.get(outcome) ?? 0) + 1);
  });
}
