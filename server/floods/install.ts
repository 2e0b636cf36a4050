import { CloseCode } from '../../shared';
import type { GatewayHost } from '../host';
import { ProxyTrust } from '../http/client-ip';
import type { AdmissionRule, LoadCheck } from '../http/upgrade-gate';
import type { LoginSettings } from '../login/settings';
import { ThrottledWarning } from '../observability/throttled-warning';
import { closeServerListener, serverListener } from '../sc/facade';
import { ConnectionLimits } from './connection-limits';
import { FloodCounter } from './flood-counter';
import { HandshakePacer } from './handshake-pacer';
import { registerFloodMetrics } from './metrics';
import type { FloodSettings } from './settings';
import { InboundBacklogGuard, procedureBacklogRule } from './socket-backlog';

/** The settings the flood guards read: their own, and which proxies' X-Forwarded-For to believe. */
export type FloodHostSettings = FloodSettings & Pick<LoginSettings, 'trustProxy'>;

/** Where the connection limits plug in: the gate every WebSocket upgrade passes. */
export interface FloodDeps {
  readonly upgrades: { admit(rule: AdmissionRule): void; shedWhen(check: LoadCheck): void };
}

/**
 * Installs the guards against one client taking a node's capacity. Per client address, open connections and
 * handshakes a second, checked at the upgrade: a refused upgrade is accepted only to be closed with
 * TooManyConnections (4101) or HandshakeRateLimited (4102), never reaching SocketCluster, so the client library sees
 * why instead of an HTTP error it reports as a bare 1006. Per socket, a bound on messages waiting to be processed
 * (InboundBacklog, 4103) and on calls queued per procedure (TooManyRequestsError). For the node as a whole, pacing of
 * handshakes (server/floods/handshake-pacer.ts). The refusals are counted by reason in the node's metrics; returns
 * their counter.
 */
export function installFloodGuards(host: GatewayHost<FloodHostSettings>, { upgrades }: FloodDeps): FloodCounter {
  const counter = new FloodCounter();
  registerFloodMetrics(host.metrics, counter);
  const limits = new ConnectionLimits(host.config, new ProxyTrust(host.config.trustProxy));
  host.own(() => limits.close());
  installPacing(host, upgrades);
  const warning = new ThrottledWarning();
  upgrades.admit((request) => {
    const { key, refusal } = limits.admit(request);
    if (refusal === undefined) return undefined;
    counter.count(refusal === CloseCode.TooManyConnections ? 'connections_per_ip' : 'handshake_rate');
    const count = warning.due();
    if (count !== undefined) {
      host.log.warn(
        { address: key, code: refusal, count },
        'refusing connections from an address over its limit (GATEHOUSE_MAX_CONNECTIONS_PER_IP, GATEHOUSE_HANDSHAKE_RATE_PER_IP); behind a proxy, set GATEHOUSE_TRUST_PROXY or every client counts as the proxy',
      );
    }
    return refusal === CloseCode.TooManyConnections
      ? { code: refusal, reason: 'Too many connections from this address' }
      : { code: refusal, reason: 'Too many connections a second from this address' };
  });

  host.dispatcher.use(
    'invoke',
    procedureBacklogRule(() => counter.count('procedure_backlog')),
  );
  const backlog = new InboundBacklogGuard(() => counter.count('inbound_backlog'));
  void (async () => {
    // SocketCluster emits `handshake` as it creates the socket, before any of its messages can have arrived.
    for await (const { socket } of serverListener(host.agServer, 'handshake')) backlog.watch(socket);
  })();
  host.own(() => closeServerListener(host.agServer, 'handshake'));
  return counter;
}

/**
 * Sheds upgrades (HTTP 503) while the node holds GATEHOUSE_MAX_CONNECTIONS, or its handshake rate is spent, or its
 * event loop runs late; logs each at most once a minute.
 */
function installPacing(host: GatewayHost<FloodHostSettings>, upgrades: FloodDeps['upgrades']): void {
  const { maxConnections } = host.config;
  if (maxConnections > 0) {
    const server = host.agServer;
    const warning = new ThrottledWarning();
    upgrades.shedWhen(() => {
      // Sockets still in their handshake count: each holds a descriptor already.
      if (server.clientsCount + server.pendingClientsCount < maxConnections) return undefined;
      const count = warning.due();
      if (count !== undefined) host.log.warn({ maxConnections, count }, 'shedding WebSocket upgrades (HTTP 503): the node holds GATEHOUSE_MAX_CONNECTIONS');
      return 'node_full';
    });
  }
  const pacer = new HandshakePacer(host.config);
  if (!pacer.enabled) return;
  host.own(() => pacer.close());
  const warning = new ThrottledWarning();
  upgrades.shedWhen(() => {
    const reason = pacer.refusal();
    if (reason === undefined) return undefined;
    const count = warning.due();
    if (count !== undefined) {
      host.log.warn(
        { reason, count },
        reason === 'node_rate'
          ? 'shedding WebSocket upgrades (HTTP 503): handshakes arrive faster than GATEHOUSE_MAX_HANDSHAKE_RATE a second; clients back off and retry'
          : 'shedding WebSocket upgrades (HTTP 503): the event loop runs later than GATEHOUSE_MAX_LOOP_DELAY; clients back off and retry',
      );
    }
    return reason;
  });
}
