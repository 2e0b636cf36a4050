import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloseCode } from '../../shared';
import type { PubSubTransport } from '../cluster/transport';
import type { NodeSettings } from '../node/settings';
import type { GatewayHost } from '../host';
import type { Route } from '../http/health';
import { createRequestHandler } from '../http/router';
import { metricsRoute } from './metrics-route';
import type { MetricsExposition } from '../observability/node-metrics';
import { reportFeedSilences } from '../redis/feed-metrics';
import type { GrantsService } from '../grants/grants-service';
import type { RevocationService } from '../revocation/install';
import { claimsOf, closeSocket } from '../sc/facade';
import { makeAdminAuthenticator, makeBearerCheck } from './admin-auth';
import { AdminUnavailableError, adminOffRoute, adminRoutes, type AdminActions, type FeatureAdminRoute } from './admin-routes';
import { ControlBus, type ControlAction } from './control-bus';
import { registerRoundTripMetric } from './metrics';
import type { NodeRegistry, NodeSnapshot } from './node-registry';
import { ADMIN_SCOPES, type AdminSettings, type ScopedKey } from './settings';

/** Longest an admin revoke, disconnect or grants change waits for the other nodes' answers, ms. */
export const ACK_TIMEOUT_MS = 2000;

/** The operator's side of a gateway: /metrics, node registry, admin API, and where they listen. */
export interface Operations {
  readonly registry: NodeRegistry;
  /** Where /admin and /metrics listen when GATEHOUSE_ADMIN_PORT moved them off the public port. */
  adminAddress(): AddressInfo | undefined;
}

/** The admin API's slice of the configuration, and the host its second listener binds. */
export type OperationsSettings = AdminSettings & Pick<NodeSettings, 'host'>;

/** What operations serve and act through. */
export interface OperationsDeps {
  readonly revocation: RevocationService;
  /** The node's series, which /metrics serves. */
  readonly metrics: MetricsExposition;
  /** Where the node registry and the admin bus live: the node's backends. */
  readonly backends: OperationsBackends;
  /** Features' own admin routes, by path (e.g. presence's reads). */
  readonly adminRoutes?: Readonly<Record<string, FeatureAdminRoute>>;
  /** Live grants: the admin API stores changes through it, and the admin bus carries them to every node. */
  readonly grants: GrantsService;
}

/** What operations takes from the node's backends (memory, or Redis: see server/backends/). */
export interface OperationsBackends {
  /** The registry this node heartbeats into; `onRoundTrip` is told each heartbeat's round trip, ms (Redis only). */
  nodeRegistry(snapshot: NodeSnapshot, onRoundTrip?: (ms: number) => void): NodeRegistry;
  /** The admin bus' transport between nodes; undefined for a node alone (it then acts on itself only). */
  clusterTransport(feed: { readonly name: string }): PubSubTransport | undefined;
}

/**
 * Serves the node's metrics and the admin API. /metrics is always served (behind GATEHOUSE_METRICS_KEY when set);
 * /admin/* only with GATEHOUSE_ADMIN_KEY or GATEHOUSE_ADMIN_KEYS. The node registry's heartbeat round trip and the
 * admin bus's silences are counted in the metrics.
 * With GATEHOUSE_ADMIN_PORT both move to a second listener, started with the node and closed with it.
 */
export function installOperations(host: GatewayHost<OperationsSettings>, deps: OperationsDeps): Operations {
  const { config, log, clock, agServer } = host;
  const { revocation } = deps;
  const roundTrip = registerRoundTripMetric(host.metrics);

  const startedAt = clock.now();
  const snapshot: NodeSnapshot = () => ({
    nodeId: host.nodeId,
    connections: agServer.clientsCount,
    authenticated: revocation.enforcer.index.size,
    startedAt,
  });
  const registry = deps.backends.nodeRegistry(snapshot, (ms) => roundTrip.labels('heartbeat').observe(ms / 1000));
  host.addReadinessCheck(() => (registry.listed ? undefined : 'node registry: first heartbeat not written yet'));
  host.addReadinessWarning(() => registry.warning());
  host.own(() => registry.close());

  const routes: Route[] = [metricsRoute(deps.metrics, config.metricsKey && makeBearerCheck(config.metricsKey))];
  // GATEHOUSE_ADMIN_KEY holds every scope; GATEHOUSE_ADMIN_KEYS' keys hold theirs.
  const keys: ScopedKey[] = [...(config.adminKey ? [{ key: config.adminKey, scopes: new Set(ADMIN_SCOPES) }] : []), ...config.adminKeys];
  if (keys.length > 0) {
    const bus = new ControlBus(host.nodeId, (action) => act(host, revocation, deps.grants, action), log, deps.backends.clusterTransport({ name: 'admin bus' }));
    bus.start();
    const busFeed = bus.feed;
    if (busFeed) {
      reportFeedSilences(host.metrics, 'admin_bus', busFeed);
      host.addReadinessWarning(() => busFeed.warning());
    }
    host.own(() => bus.close());
    const actions = adminActions(host, revocation, bus, registry, deps.grants);
    deps.grants.useBroadcast(async (records) => {
      const outcome = await bus.broadcast({ op: 'grants', records }, await actions.liveNodes(), ACK_TIMEOUT_MS);
      return { applied: outcome.closed, unanswered: outcome.unanswered };
    });
    routes.push(adminRoutes(makeAdminAuthenticator(keys), actions, deps.adminRoutes));
  } else {
    routes.push(adminOffRoute());
  }

  let adminServer: HttpServer | undefined;
  if (config.adminPort === undefined) {
    for (const route of routes) host.addRoute(route);
  } else {
    const server = createServer(createRequestHandler(routes, log));
    adminServer = server;
    host.onStart(
      () =>
        new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(config.adminPort, config.host, () => {
            server.off('error', reject);
            log.info({ port: (server.address() as AddressInfo).port }, 'admin listener ready');
            resolve();
          });
        }),
    );
    host.own(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
  }

  return {
    registry,
    adminAddress: () => (adminServer?.listening ? (adminServer.address() as AddressInfo) : undefined),
  };
}

/** Carries out an operator's action on this node and answers how many sockets it closed. */
function act(host: GatewayHost<unknown>, revocation: RevocationService, grants: GrantsService, action: ControlAction): number {
  const { enforcer } = revocation;
  if (action.op === 'revoke') return enforcer.applyOnce(action.revocation);
  if (action.op === 'grants') return grants.applyHere(action.records);
  let closed = 0;
  for (const [socket] of enforcer.index.find({ kind: 'sub', id: action.sub })) {
    if (claimsOf(socket)?.sub !== action.sub) continue;
    closeSocket(socket, CloseCode.DisconnectedByAdmin, 'Disconnected by an operator');
    closed += 1;
  }
  host.log.info({ sub: action.sub, closed }, 'admin disconnect applied');
  return closed;
}

function adminActions(
  host: GatewayHost<unknown>,
  revocation: RevocationService,
  bus: ControlBus,
  registry: NodeRegistry,
  grants: GrantsService,
): AdminActions & { liveNodes(): Promise<string[]> } {
  const liveNodes = async () => {
    try {
      return (await registry.list()).map((n) => n.nodeId);
    } catch {
      return [];
    }
  };
  return {
    liveNodes,
    grants: {
      async change(changes) {
        try {
          return await grants.change(changes);
        } catch (err) {
          throw new AdminUnavailableError(`the grants change could not be stored (${(err as Error).message}); nothing was changed`);
        }
      },
      async get(sub) {
        try {
          return await grants.get(sub);
        } catch (err) {
          throw new AdminUnavailableError(`the grants are in Redis, which did not answer (${(err as Error).message})`);
        }
      },
    },
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
