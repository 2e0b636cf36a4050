import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloseCode } from '../../shared';
import type { DenialCounter } from '../channels/denials';
import type { ChannelBridge } from '../cluster/channel-bridge';
import { createRedisPubSub } from '../cluster/redis-pubsub';
import type { NodeSettings } from '../config/settings';
import type { GatewayHost } from '../host';
import type { Route } from '../http/health';
import { createRequestHandler } from '../http/router';
import { createRedisConnection, redisTarget, type RedisConnection, type RedisSettings } from '../redis/connection';
import type { FeedHealth } from '../redis/feed-liveness';
import type { UpgradeRefusalReason } from '../http/upgrade-gate';
import type { LoginService } from '../login/login-service';
import type { FloodCounter } from '../floods/flood-counter';
import { GatewayMetrics, handshakeOutcome } from '../observability/metrics';
import { metricsRoute } from '../observability/metrics-route';
import type { RenewalCounters } from '../renewal/renewal-manager';
import type { RevocationService } from '../revocation/install';
import type { RevocationSettings } from '../revocation/settings';
import { claimsOf } from '../sc/facade';
import { makeAdminAuthenticator, makeBearerCheck } from './admin-auth';
import { AdminUnavailableError, adminOffRoute, adminRoutes, type AdminActions } from './admin-routes';
import { ControlBus, type ControlAction } from './control-bus';
import { LocalNodeRegistry, RedisNodeRegistry, type NodeRegistry, type NodeSnapshot } from './node-registry';
import { ADMIN_SCOPES, type AdminSettings, type ScopedKey } from './settings';

/** Longest an admin revoke or disconnect waits for the other nodes' answers, ms. */
export const ACK_TIMEOUT_MS = 2000;

/** The operator's side of a gateway: metrics, node registry, admin API, and where they listen. */
export interface Operations {
  readonly metrics: GatewayMetrics;
  readonly registry: NodeRegistry;
  /** Where /admin and /metrics listen when GATEHOUSE_ADMIN_PORT moved them off the public port. */
  adminAddress(): AddressInfo | undefined;
}

/** The admin API's slice of the configuration, the host its second listener binds, and the Redis it shares. */
export type OperationsSettings = AdminSettings & Pick<NodeSettings, 'host'> & RedisSettings & RevocationSettings;

/** The features operations report on and act through. */
export interface OperationsDeps {
  readonly revocation: RevocationService;
  readonly denials: DenialCounter;
  /** Unsent output held for clients (the slow-consumer budget). */
  readonly outbound: { measure(): number };
  readonly floods: FloodCounter;
  readonly renewal: RenewalCounters;
  /** Undefined without Redis. */
  readonly bridge?: ChannelBridge;
  /** Undefined when login is not configured. */
  readonly login?: LoginService;
  /** WebSocket upgrades refused before any handshake, by reason. */
  readonly upgradeRefusals: Readonly<Record<UpgradeRefusalReason, number>>;
}

/**
 * Wires metrics and the admin API into a node. /metrics is always served (behind GATEHOUSE_METRICS_KEY when set);
 * /admin/* only with GATEHOUSE_ADMIN_KEY or GATEHOUSE_ADMIN_KEYS.
 * With GATEHOUSE_ADMIN_PORT both move to a second listener, started with the node and closed with it.
 */
export function installOperations(host: GatewayHost<OperationsSettings>, deps: OperationsDeps): Operations {
  const { config, log, clock, agServer } = host;
  const { revocation } = deps;
  const feeds = new Map<string, FeedHealth>();
  if (revocation.feed) feeds.set('revocation', revocation.feed);
  if (deps.bridge) feeds.set('cluster_bus', deps.bridge.feed);
  const metrics = new GatewayMetrics({
    nodeId: host.nodeId,
    connections: () => agServer.clientsCount,
    authenticated: () => revocation.enforcer.index.size,
    denials: deps.denials,
    floods: deps.floods,
    renewal: deps.renewal,
    login: deps.login,
    bridge: deps.bridge,
    outboundBytes: () => deps.outbound.measure(),
    upgradeRefusals: deps.upgradeRefusals,
    feeds,
  });
  countHandshakes(host, metrics);
  // Runs after the channel rules: reached only by publishes they let through.
  host.dispatcher.use('publishIn', () => {
    metrics.countPublish();
    return undefined;
  });
  revocation.enforcer.observe({
    socketRevoked(delayMs) {
      metrics.revocationsApplied.inc();
      if (delayMs !== undefined) metrics.revocationPropagation.observe(Math.max(0, delayMs) / 1000);
    },
  });

  const startedAt = clock.now();
  const snapshot: NodeSnapshot = () => ({
    nodeId: host.nodeId,
    connections: agServer.clientsCount,
    authenticated: revocation.enforcer.index.size,
    startedAt,
  });
  const redis = commandConnection(host);
  const registry: NodeRegistry = redis
    ? new RedisNodeRegistry(redis, snapshot, clock, log, host.instanceId, (ms) => metrics.redisRoundTrip.labels('heartbeat').observe(ms / 1000))
    : new LocalNodeRegistry(snapshot, clock);
  host.addReadinessCheck(() => (registry.listed ? undefined : 'node registry: first heartbeat not written yet'));
  host.addReadinessWarning(() => registry.warning());
  host.own(async () => {
    await registry.close();
    redis?.disconnect();
  });

  const routes: Route[] = [metricsRoute(metrics, config.metricsKey && makeBearerCheck(config.metricsKey))];
  // GATEHOUSE_ADMIN_KEY holds every scope; GATEHOUSE_ADMIN_KEYS' keys hold theirs.
  const keys: ScopedKey[] = [...(config.adminKey ? [{ key: config.adminKey, scopes: new Set(ADMIN_SCOPES) }] : []), ...config.adminKeys];
  if (keys.length > 0) {
    const bus = new ControlBus(host.nodeId, (action) => act(host, revocation, action), log, createRedisPubSub(config, host.nodeId, { name: 'admin bus', log }));
    bus.start();
    const busFeed = bus.feed;
    if (busFeed) {
      feeds.set('admin_bus', busFeed);
      host.addReadinessWarning(() => busFeed.warning());
    }
    host.own(() => bus.close());
    routes.push(adminRoutes(makeAdminAuthenticator(keys), adminActions(host, revocation, bus, registry)));
  } else {
    routes.push(adminOffRoute());
  }

  let adminServer: HttpServer | undefined;
  if (config.adminPort === undefined) {
    for (const route of routes) host.addRoute(route);
  } else {
    const server = createServer(createRequestHandler(routes, log));
    adminServer = server;
    host.onStart(() => new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.adminPort, config.host, () => {
        server.off('error', reject);
        log.info({ port: (server.address() as AddressInfo).port }, 'admin listener ready');
        resolve();
      });
    }));
    host.own(() => new Promise<void>((resolve) => {
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
function countHandshakes(host: GatewayHost<unknown>, metrics: GatewayMetrics): void {
  host.onConnection((_socket, { isAuthenticated, authError }) => metrics.countHandshake(handshakeOutcome(isAuthenticated, authError)));
}

/** Carries out an operator's action on this node and answers how many sockets it closed. */
function act(host: GatewayHost<unknown>, revocation: RevocationService, action: ControlAction): number {
  const { enforcer } = revocation;
  if (action.op === 'revoke') return enforcer.applyOnce(action.revocation);
  let closed = 0;
  for (const [socket] of enforcer.index.find({ kind: 'sub', id: action.sub })) {
    if (claimsOf(socket)?.sub !== action.sub) continue;
    socket.disconnect(CloseCode.DisconnectedByAdmin, 'Disconnected by an operator');
    closed += 1;
  }
  host.log.info({ sub: action.sub, closed }, 'admin disconnect applied');
  return closed;
}

function adminActions(host: GatewayHost<unknown>, revocation: RevocationService, bus: ControlBus, registry: NodeRegistry): AdminActions {
  const liveNodes = async () => {
    try {
      return (await registry.list()).map((n) => n.nodeId);
    } catch {
      return [];
    }
  };
  return {
    async revoke(target) {
      let stored;
      try {
        stored = await revocation.revoke(target);
      } catch (err) {
        throw new AdminUnavailableError(`the revocation could not be stored (${(err as Error).message}); nothing was revoked`);
      }
      host.log.info({ kind: target.kind, via: 'admin' }, 'revoked');
      const outcome = await bus.broadcast({ op: 'revoke', revocation: stored }, await liveNodes(), ACK_TIMEOUT_MS);
      return { revoked: { kind: stored.kind, id: stored.id, at: stored.at }, ...outcome };
    },
    async disconnect(sub) {
      return bus.broadcast({ op: 'disconnect', sub }, await liveNodes(), ACK_TIMEOUT_MS);
    },
    async publish(channel, data) {
      await host.agServer.exchange.invokePublish(channel, data);
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
function commandConnection(host: GatewayHost<OperationsSettings>): RedisConnection | undefined {
  const target = redisTarget(host.config);
  if (!target) return undefined;
  const connection = createRedisConnection(target, {
    connectionName: `gatehouse-registry-${host.nodeId}`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: host.config.redisTimeoutMs,
  });
  connection.on('error', (err: Error) => host.log.debug({ reason: err.message }, 'registry Redis error'));
  return connection;
}
