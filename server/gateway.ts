import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type WebSocket from 'ws';
import type { AGServer } from 'socketcluster-server';
import { CloseCode } from '../shared';
import { GatehouseAuthEngine } from './auth/auth-engine';
import { createBackends, type Backends, type MemoryHub } from './backends';
import { AuthWatch } from './auth/auth-watch';
import { closeRetiredSessions, isKeyRetired } from './auth/key-retirement';
import { KeyRing } from './auth/keyring';
import { isOwnTokenError } from './auth/token-errors';
import { systemClock, type Clock } from './clock';
import { installChannelRules, type ChannelGuard } from './channels/install';
import { ClusterBroker, installClusterBus, type ChannelBridge } from './cluster';
import { isOwnSubscribeError } from './cluster/subscribe-errors';
import type { GatewayConfig } from './config';
import type { ConnectionHook, Disposer, GatewayHost } from './host';
import { ProxyTrust } from './http/client-ip';
import { healthRoutes, type Route } from './http/health';
import { homeRoute } from './http/home-route';
import { createRequestHandler } from './http/router';
import { UpgradeGate } from './http/upgrade-gate';
import { registerUpgradeMetrics } from './http/upgrade-metrics';
import type { Logger } from './log';
import { installOperations, type Operations } from './admin/install';
import { installFloodGuards } from './floods/install';
import type { GrantsService } from './grants/grants-service';
import { installGrants } from './grants/install';
import type { FloodCounter } from './floods/flood-counter';
import { installBrowserAssets } from './browser/install';
import { installLogin } from './login/install';
import { installPresence, type Presence } from './presence/install';
import { presenceAdminRoutes } from './presence/admin-routes';
import { InboundDispatcher } from './middleware/inbound';
import { installConnectionMetrics } from './observability/connection-metrics';
import { NodeMetrics } from './observability/node-metrics';
import { ProcedureRegistry } from './procedures/registry';
import { installRenewal } from './renewal/install';
import type { RenewalManager } from './renewal/renewal-manager';
import { batchedRevocationCheck } from './revocation/batched-check';
import { installRevocation, type RevocationService } from './revocation/install';
import { closeServerListener, closeSocket, serverListener } from './sc/facade';
import { installSeams } from './sc/seams';
import { allSocketsOf, createAgServer } from './sc/server';

export type GatewayState = 'starting' | 'ready' | 'draining' | 'closed';

export interface GatewayDeps {
  readonly log: Logger;
  readonly clock?: Clock;
  /**
   * Joins this node to the others given the same hub, when Redis is not configured: revocations, channel messages,
   * admin requests and the node list then travel between the Gateways of one process (tests where Redis is not the
   * point). Refused with Redis configured.
   */
  readonly hub?: MemoryHub;
}

/**
 * Gateway is the composition root of one node: the HTTP server, AGServer with our auth engine and inbound
 * middleware, and every feature, each plugged in through the narrow GatewayHost this class implements (features never
 * import this module). `close()` drains and releases everything it started.
 */
export class Gateway implements GatewayHost {
  readonly http: HttpServer;
  readonly agServer: AGServer;
  readonly keys: KeyRing;
  readonly engine: GatehouseAuthEngine;
  readonly authWatch: AuthWatch;
  readonly dispatcher = new InboundDispatcher();
  readonly procedures: ProcedureRegistry;
  readonly renewal: RenewalManager;
  readonly channels: ChannelGuard;
  readonly clock: Clock;
  readonly log: Logger;
  readonly revocation: RevocationService;
  /** This node's id (GATEHOUSE_NODE_ID, else random). */
  readonly nodeId: string;
  /**
   * This process's own name: the node id plus a random suffix. Two processes given one GATEHOUSE_NODE_ID (an operator
   * error the node registry reports) still tell their own messages from each other's by it.
   */
  readonly instanceId: string;
  /** SocketCluster's brokerEngine: local fan-out, plus cross-node delivery when the backends join other nodes. */
  readonly broker = new ClusterBroker();
  /** Where the node keeps what it shares with the others (memory, or Redis) and the connections to it. */
  readonly backends: Backends;
  /** The bridge to the other nodes (through Redis, or a MemoryHub); undefined for a node alone. */
  readonly clusterBus?: ChannelBridge;
  /** This node's Prometheus registry, which every feature adds its series to; /metrics serves it. */
  readonly metrics: NodeMetrics;
  /** /metrics, the node registry and the admin API. */
  readonly operations: Operations;
  /** Who may open a WebSocket: refuses upgrades while not ready, and closes refused browser origins with 4504. */
  readonly upgrades: UpgradeGate;
  /** Live grants: per-user overrides of the tokens' channels, changed by the admin API. */
  readonly grants: GrantsService;
  /** Refusals by the per-address connection limits and the per-socket backlog bounds. */
  readonly floods: FloodCounter;
  /** Who is in each presence channel, across nodes. */
  readonly presence: Presence;
  private readonly routes: Route[] = [];
  private readonly connectionHooks: ConnectionHook[] = [];
  private readonly readinessChecks: (() => string | undefined)[] = [];
  private readonly readinessWarnings: (() => string | undefined)[] = [];
  private readonly reloadHooks: (() => void)[] = [];
  private readonly disposers: Disposer[] = [];
  private readonly startHooks: (() => Promise<void>)[] = [];
  private closing?: Promise<void>;
  state: GatewayState = 'starting';

  constructor(
    readonly config: GatewayConfig,
    deps: GatewayDeps,
  ) {
    this.log = deps.log;
    this.clock = deps.clock ?? systemClock;
    this.nodeId = config.nodeId;
    this.instanceId = `${config.nodeId}/${randomBytes(4).toString('hex')}`;
    this.metrics = new NodeMetrics(config.nodeId);
    this.backends = createBackends(config, { nodeId: this.nodeId, instanceId: this.instanceId, log: this.log, clock: this.clock, hub: deps.hub });
    // Owned first, so closed last: every feature using a connection has closed before it goes.
    this.disposers.push(() => this.backends.close());
    this.authWatch = new AuthWatch((err, change) => this.log.error({ err, change: change.kind }, 'auth change listener failed'));
    this.keys = new KeyRing({ secret: config.authKey, jwks: config.jwks, signingKey: config.signingKey });
    this.engine = new GatehouseAuthEngine(this.keys, config, this.clock);
    this.procedures = new ProcedureRegistry(this.dispatcher, this.log);

    // The home route is a fallback: a page a feature serves at `/` (the demo) wins over it.
    this.http = createServer(createRequestHandler(this.routes, this.log, [homeRoute(() => this.agServer.getPath())]));
    this.routes.push(
      healthRoutes(
        () => this.notReadyReasons(),
        () => this.warnings(),
      ),
    );
    this.agServer = createAgServer(this.http, {
      authEngine: this.engine,
      maxPayload: config.maxPayload,
      pingInterval: config.pingIntervalMs,
      pingTimeout: config.pingTimeoutMs,
      // Refusals are counted by reason instead: a flood of refused actions must not flood the log.
      middlewareEmitFailures: false,
      brokerEngine: this.broker,
    });
    installConnectionMetrics(this);
    this.upgrades = new UpgradeGate(
      config.origins,
      () => (this.state === 'ready' ? undefined : this.state),
      this.log,
      config.demo ? new ProxyTrust(config.trustProxy) : undefined,
    );
    // Every patch of SocketCluster and ws, and the upgrade hook, before any socket exists (server/sc/seams.ts).
    installSeams(this.agServer, { passTokenError: isOwnTokenError, passSubscribeError: isOwnSubscribeError, upgrades: this.upgrades });
    registerUpgradeMetrics(this.metrics, this.upgrades.refusals);
    this.disposers.push(() => this.upgrades.close());
    this.floods = installFloodGuards(this, { upgrades: this.upgrades });
    this.dispatcher.attach(this.agServer);
    this.authWatch.attach(this.agServer);
    this.disposers.push(() => this.authWatch.close());
    this.channels = installChannelRules(this, this.broker);
    this.watchServer();
    this.revocation = installRevocation(this, this.engine, this.backends.revocation());
    const canSign = () => this.keys.signer !== undefined;
    this.renewal = installRenewal(this, {
      canSign: canSign(),
      isRevoked: batchedRevocationCheck(this.revocation.store),
      isKeyRetired: (claims) => isKeyRetired(claims, this.keys),
    });
    installLogin(this, {
      engine: this.engine,
      canSign,
      pastUserRevocation: (sub) => this.revocation.waitPastUserRevocation(sub),
      revokeUser: (sub) => this.revocation.revoke({ kind: 'sub', id: sub }),
      limiterStore: () => this.backends.loginLimiterStore(),
    });
    this.clusterBus = installClusterBus(this, this.broker, this.backends.clusterTransport({ name: 'cluster bus' }));
    this.grants = installGrants(this, { store: this.backends.grants(), sockets: this.revocation.enforcer.index, channels: this.channels });
    this.presence = installPresence(this, {
      matcherFor: (claims) => this.channels.policy.matcherFor(claims),
      backend: () => this.backends.presence(),
      transport: () => this.backends.clusterTransport({ name: 'presence bus' }),
    });
    this.operations = installOperations(this, {
      revocation: this.revocation,
      metrics: this.metrics,
      backends: this.backends,
      adminRoutes: presenceAdminRoutes(this.presence),
      grants: this.grants,
    });
    installBrowserAssets(this);
  }

  /** Adds an HTTP route, tried before the 404. */
  addRoute(route: Route): void {
    this.routes.splice(this.routes.length, 0, route);
  }

  /** Runs for every socket once its handshake completes, with the handshake's outcome. */
  onConnection(hook: ConnectionHook): void {
    this.connectionHooks.push(hook);
  }

  /** Adds a readiness condition: returns a reason while the node should not receive traffic. */
  addReadinessCheck(check: () => string | undefined): void {
    this.readinessChecks.push(check);
  }

  /** Adds an operator warning /readyz lists without turning 503: returns it while it holds. */
  addReadinessWarning(check: () => string | undefined): void {
    this.readinessWarnings.push(check);
  }

  /** The operator warnings that hold now. */
  warnings(): string[] {
    return this.readinessWarnings.flatMap((check) => check() ?? []);
  }

  /** Runs once the port is bound and before the node turns ready (e.g. waiting for Redis); awaited in order. */
  onStart(hook: () => Promise<void>): void {
    this.startHooks.push(hook);
  }

  /** Registers something to stop when the gateway closes (reverse order of registration). */
  own(disposer: Disposer): void {
    this.disposers.push(disposer);
  }

  notReadyReasons(): string[] {
    const reasons: string[] = [];
    if (this.state !== 'ready') reasons.push(this.state);
    for (const check of this.readinessChecks) {
      const reason = check();
      if (reason) reasons.push(reason);
    }
    return reasons;
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.config.port, this.config.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    for (const hook of this.startHooks) await hook();
    this.state = 'ready';
    return this.address();
  }

  address(): AddressInfo {
    return this.http.address() as AddressInfo;
  }

  /** The WebSocket URL clients connect to. */
  get url(): string {
    const { address, port, family } = this.address();
    const host = family === 'IPv6' ? `[${address}]` : address;
    return `ws://${host}:${port}${this.agServer.getPath()}`;
  }

  /** Runs on every `reload()` (SIGHUP); a hook logs its own failures and keeps its previous state. */
  onReload(hook: () => void): void {
    this.reloadHooks.push(hook);
  }

  /** Re-reads every file the node reads at start-up (SIGHUP): the JWK Set, then whatever registered `onReload`. */
  reload(): void {
    this.reloadKeys();
    for (const hook of this.reloadHooks) {
      try {
        hook();
      } catch (err) {
        this.log.error({ err }, 'reload hook failed');
      }
    }
  }

  /**
   * Re-reads the JWK Set (SIGHUP) and ends the live sessions of keys it no longer lists (KeyRetired). A bad file keeps
   * the old keys; the reason is logged.
   */
  reloadKeys(): void {
    if (!this.config.jwksFile) return;
    try {
      const kids = this.keys.reloadJwks(this.config.jwksFile);
      this.log.info({ kids }, 'JWK Set reloaded');
      closeRetiredSessions(this.revocation.enforcer.index.entries(), this.keys, this.log);
    } catch (err) {
      this.log.error({ file: this.config.jwksFile, reason: (err as Error).message }, 'JWK Set reload failed; keeping the previous keys');
    }
  }

  private watchServer(): void {
    void (async () => {
      // The one consumer of `connection`: every feature told of completed handshakes is a hook here.
      for await (const event of serverListener(this.agServer, 'connection')) {
        for (const hook of this.connectionHooks) {
          try {
            hook(event.socket, event);
          } catch (err) {
            this.log.error({ err }, 'connection hook failed');
          }
        }
      }
    })();
    void (async () => {
      for await (const { error } of serverListener(this.agServer, 'error')) {
        // A failed listen reaches AGServer through the HTTP server too; listen()'s caller reports it, in one line.
        if ((error as { syscall?: unknown } | undefined)?.syscall === 'listen') continue;
        this.log.warn({ err: error }, 'server error');
      }
    })();
    void (async () => {
      // Per-socket protocol errors (malformed frames, refused tokens) arrive here; debug only, so abuse cannot flood.
      for await (const { warning } of serverListener(this.agServer, 'warning')) {
        const detail = (warning as { detail?: unknown } | undefined)?.detail;
        this.log.debug({ name: warning?.name, message: warning?.message, ...(detail === undefined ? {} : { detail }) }, 'socket warning');
      }
    })();
    this.disposers.push(() => {
      for (const name of ['connection', 'error', 'warning'] as const) closeServerListener(this.agServer, name);
    });
  }

  /**
   * Graceful shutdown: /readyz turns 503 and new WebSocket upgrades are refused while the listener stays up (so probes
   * still get their 503), every socket is closed with ShuttingDown (clients reconnect elsewhere) and given until the
   * shutdown timeout to finish the close handshake, then the listener closes and everything is released. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    // Real elapsed time, not the injected token clock: a test that freezes token time must not freeze its shutdown.
    const deadline = performance.now() + this.config.shutdownTimeoutMs;
    this.state = 'draining';

    // Waiting on the transports, not SocketCluster's counts (which drop at once), lets each client read the close
    // code before its connection goes; one that never answers the close is cut off at the deadline.
    const transports = new Set<WebSocket>();
    const disconnectAll = () => {
      for (const socket of allSocketsOf(this.agServer)) {
        transports.add(socket.socket);
        closeSocket(socket, CloseCode.ShuttingDown, 'Server shutting down');
      }
    };
    const drained = () => [...transports].every((ws) => ws.readyState === ws.CLOSED);
    disconnectAll();
    // A slice of the budget is kept for releasing everything after the drain, so the whole shutdown fits the timeout.
    await waitUntil(drained, deadline - Math.min(500, this.config.shutdownTimeoutMs / 5));

    const httpClosed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    // A socket whose upgrade was already under way when draining began.
    disconnectAll();

    for (const dispose of this.disposers.splice(0).reverse()) {
      try {
        await dispose();
      } catch (err) {
        this.log.error({ err }, 'shutdown step failed');
      }
    }
    await this.agServer.close();
    for (const ws of transports) if (ws.readyState !== ws.CLOSED) ws.terminate();
    this.http.closeAllConnections();
    let giveUp: NodeJS.Timeout | undefined;
    await Promise.race([
      httpClosed,
      new Promise<void>((resolve) => {
        giveUp = setTimeout(resolve, Math.max(0, deadline - performance.now()));
      }),
    ]);
    clearTimeout(giveUp);
    this.state = 'closed';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Polls `done` until it holds or `deadline` (performance.now() milliseconds) passes. */
async function waitUntil(done: () => boolean, deadline: number): Promise<void> {
  while (!done() && performance.now() < deadline) await sleep(10);
}
