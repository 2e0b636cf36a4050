import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloseCode } from '../../shared';
import { createRedisPubSub } from '../cluster/redis-pubsub';
import type { Gateway } from '../gateway';
import type { Route } from '../http/health';
import { createRequestHandler } from '../http/router';
import { createRedisConnection, redisTarget, type RedisConnection } from '../redis/connection';
import type { LoginService } from '../login/login-service';
import { GatewayMetrics, handshakeOutcome } from '../observability/metrics';
import { metricsRoute } from '../observability/metrics-route';
import { claimsOf, closeServerListener, serverListener } from '../sc/facade';
import { makeAdminAuthenticator } from './admin-auth';
import { AdminUnavailableError, adminRoutes, type AdminActions } from './admin-routes';
import { ControlBus, type ControlAction } from './control-bus';
import { LocalNodeRegistry, RedisNodeRegistry, type NodeRegistry, type NodeSnapshot } from './node-registry';

/** Longest an admin revoke or disconnect waits for the other nodes' answers, ms. */
export const ACK_TIMEOUT_MS = 2000;

/** The operator's side of a gateway: metrics, node registry, admin API, and where they listen. */
export interface Operations {
  readonly metrics: GatewayMetrics;
  readonly registry: NodeRegistry;
  /** Where /admin and /metrics listen when GATEHOUSE_ADMIN_PORT moved them off the public port. */
  adminAddress(): AddressInfo | undefined;
}

/**
 * Wires metrics and the admin API into a gateway. /metrics is always served; /admin/* only with GATEHOUSE_ADMIN_KEY.
 * With GATEHOUSE_ADMIN_PORT both move to a second listener, started with the gateway and closed with it.
 */
export function installOperations(gateway: Gateway, login: LoginService | undefined): Operations {
  const { config, log, clock, agServer } = gateway;
  const metrics = new GatewayMetrics({
    nodeId: gateway.nodeId,
    connections: () => agServer.clientsCount,
    authenticated: () => gateway.revocation.enforcer.index.size,
    denials: gateway.channels.denials,
    renewal: gateway.renewal.counters,
    login,
    bridge: gateway.clusterBus,
  });
  countHandshakes(gateway, metrics);
  // Runs after the channel rules: reached only by publishes they let through.
  gateway.dispatcher.use('publishIn', () => {
    metrics.publishes.inc();
    return undefined;
  });
  gateway.revocation.enforcer.observe({
    socketRevoked(delayMs) {
      metrics.revocationsApplied.inc();
      if (delayMs !== undefined) metrics.revocationPropagation.observe(Math.max(0, delayMs) / 1000);
    },
  });

  const startedAt = clock.now();
  const snapshot: NodeSnapshot = () => ({
    nodeId: gateway.nodeId,
    connections: agServer.clientsCount,
    authenticated: gateway.revocation.enforcer.index.size,
    startedAt,
  });
  const redis = commandConnection(gateway);
  const registry: NodeRegistry = redis
    ? new RedisNodeRegistry(redis, snapshot, clock, log, (ms) => metrics.redisRoundTrip.labels('heartbeat').observe(ms / 1000))
    : new LocalNodeRegistry(snapshot, clock);
  gateway.own(async () => {
    await registry.close();
    redis?.disconnect();
  });

  const routes: Route[] = [metricsRoute(metrics)];
  if (config.adminKey) {
    const bus = new ControlBus(gateway.nodeId, (action) => act(gateway, action), log, createRedisPubSub(config, gateway.nodeId));
    bus.start();
    gateway.own(() => bus.close());
    routes.push(adminRoutes(makeAdminAuthenticator(config.adminKey), adminActions(gateway, bus, registry)));
  }

  let adminServer: HttpServer | undefined;
  if (config.adminPort === undefined) {
    for (const route of routes) gateway.addRoute(route);
  } else {
    const server = createServer(createRequestHandler(routes, log));
    adminServer = server;
    gateway.onStart(() => new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.adminPort, config.host, () => {
        server.off('error', reject);
        log.info({ port: (server.address() as AddressInfo).port }, 'admin listener ready');
        resolve();
      });
    }));
    gateway.own(() => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  }

  return {
    metrics,
    registry,
    adminAddress: () => (adminServer?.listening ? (adminServer.address() as AddressInfo) : undefined),
  };
}

/** Counts each completed handshake by outcome (authenticated, anonymous, or the auth error's name: handshakeOutcome). */
function countHandshakes(gateway: Gateway, metrics: GatewayMetrics): void {
  void (async () => {
    for await (const event of serverListener(gateway.agServer, 'connection')) {
      const { isAuthenticated, authError } = event as { isAuthenticated: boolean; authError?: { name?: unknown } };
      metrics.handshakes.labels(handshakeOutcome(isAuthenticated, authError)).inc();
    }
  })();
  gateway.own(() => closeServerListener(gateway.agServer, 'connection'));
}

/** Carries out an operator's action on this node and answers how many sockets it closed. */
function act(gateway: Gateway, action: ControlAction): number {
  const { enforcer } = gateway.revocation;
  if (action.op === 'revoke') return enforcer.applyOnce(action.revocation);
  let closed = 0;
  for (const [socket] of enforcer.index.find({ kind: 'sub', id: action.sub })) {
    if (claimsOf(socket)?.sub !== action.sub) continue;
    socket.disconnect(CloseCode.DisconnectedByAdmin, 'Disconnected by an operator');
    closed += 1;
  }
  gateway.log.info({ sub: action.sub, closed }, 'admin disconnect applied');
  return closed;
}

function adminActions(gateway: Gateway, bus: ControlBus, registry: NodeRegistry): AdminActions {
  const liveNodes = async () => {
    try {
      return (await registry.list()).map((n) => n.nodeId);
    } catch {
      return [];
    }
  };
  return {
    async revoke(target) {
      let revocation;
      try {
        revocation = await gateway.revocation.revoke(target);
      } catch (err) {
        throw new AdminUnavailableError(`the revocation could not be stored (${(err as Error).message}); nothing was revoked`);
      }
      gateway.log.info({ kind: target.kind, via: 'admin' }, 'revoked');
      const outcome = await bus.broadcast({ op: 'revoke', revocation }, await liveNodes(), ACK_TIMEOUT_MS);
      return { revoked: { kind: revocation.kind, id: revocation.id, at: revocation.at }, ...outcome };
    },
    async disconnect(sub) {
      return bus.broadcast({ op: 'disconnect', sub }, await liveNodes(), ACK_TIMEOUT_MS);
    },
    async publish(channel, data) {
      await gateway.agServer.exchange.invokePublish(channel, data);
    },
    async nodes() {
      try {
        return await registry.list();
      } catch (err) {
        throw new AdminUnavailableError(`the node list is in Redis, which did not answer (${(err as Error).message})`);
      }
    },
  };
}

/** A command connection for the node registry: fails fast while Redis is away, reconnects by itself. */
function commandConnection(gateway: Gateway): RedisConnection | undefined {
  const target = redisTarget(gateway.config);
  if (!target) return undefined;
  const connection = createRedisConnection(target, {
    connectionName: `gatehouse-registry-${gateway.nodeId}`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: gateway.config.redisTimeoutMs,
  });
  connection.on('error', (err: Error) => gateway.log.debug({ reason: err.message }, 'registry Redis error'));
  return connection;
}
