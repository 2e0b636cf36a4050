import { CloseCode } from '../../shared';
import type { GatewayHost } from '../host';
import { ProxyTrust } from '../http/client-ip';
import type { LoginSettings } from '../login/settings';
import { closeServerListener, serverListener, type ServerSocket } from '../sc/facade';
import { ConnectionLimits, type ConnectionRefusal } from './connection-limits';
import { FloodCounter, type FloodReason } from './flood-counter';
import { refuseConnection } from './refuse-connection';
import type { FloodSettings } from './settings';
import { procedureBacklogRule, watchInboundBacklog } from './socket-backlog';

/** The settings the flood guards read: their own, and which proxies' X-Forwarded-For to believe. */
export type FloodHostSettings = FloodSettings & Pick<LoginSettings, 'trustProxy'>;

/** Least time between two warnings about refused connections, ms: a flood must not flood the log. */
const WARN_EVERY_MS = 60_000;

const REASON_OF: Record<ConnectionRefusal, FloodReason> = {
  [CloseCode.TooManyConnections]: 'connections_per_ip',
  [CloseCode.HandshakeRateLimited]: 'handshake_rate',
};

/**
 * Installs the guards against one client taking a node's capacity: per client address, open connections and
 * handshakes a second (a refused connection is accepted, none of its messages is processed, and it is closed with
 * TooManyConnections or HandshakeRateLimited, so the client library sees why instead of an HTTP error it reports as
 * a bare 1006); per socket, a bound on messages waiting to be processed (InboundBacklog) and on calls queued per
 * procedure (TooManyRequestsError). Returns the refusal counts for the metrics.
 */
export function installFloodGuards(host: GatewayHost<FloodHostSettings>): FloodCounter {
  const counter = new FloodCounter();
  const limits = new ConnectionLimits(host.config, new ProxyTrust(host.config.trustProxy));
  host.dispatcher.use('invoke', procedureBacklogRule(() => counter.count('procedure_backlog')));
  let lastWarning = -Infinity;

  const admit = async (socket: ServerSocket) => {
    const decision = await limits.admit(socket);
    if ('release' in decision) {
      watchInboundBacklog(socket, () => counter.count('inbound_backlog'));
      // The WebSocket's own close, not SocketCluster's: the connection holds the node's resources until it is gone.
      if (socket.socket.readyState === socket.socket.CLOSED) decision.release();
      else socket.socket.once('close', decision.release);
      return;
    }
    counter.count(REASON_OF[decision.refusal]);
    if (performance.now() - lastWarning >= WARN_EVERY_MS) {
      lastWarning = performance.now();
      host.log.warn({ address: decision.key, code: decision.refusal }, 'refusing connections from an address over its limit (GATEHOUSE_MAX_CONNECTIONS_PER_IP, GATEHOUSE_HANDSHAKE_RATE_PER_IP); behind a proxy, set GATEHOUSE_TRUST_PROXY or every client counts as the proxy');
    }
    refuseConnection(socket, decision.refusal, decision.refusal === CloseCode.TooManyConnections
      ? 'Too many connections from this address'
      : 'Too many connections a second from this address');
  };

  void (async () => {
    // SocketCluster emits `handshake` as it creates the socket, before any of its messages can have arrived.
    for await (const { socket } of serverListener(host.agServer, 'handshake')) {
      try {
        await admit(socket);
      } catch (err) {
        host.log.error({ err }, 'connection admission failed');
      }
    }
  })();
  host.own(() => closeServerListener(host.agServer, 'handshake'));
  return counter;
}
