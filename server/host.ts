import type { AGServer } from 'socketcluster-server';
import type { AuthWatch } from './auth/auth-watch';
import type { Clock } from './clock';
import type { GatewayConfig } from './config';
import type { Route } from './http/health';
import type { Logger } from './log';
import type { InboundDispatcher } from './middleware/inbound';
import type { MetricsRegistry } from './observability/node-metrics';
import type { ProcedureRegistry } from './procedures/registry';
import type { ConnectionStatus, ServerSocket } from './sc/facade';

/** Told of each completed handshake: the socket and whether it authenticated (else the auth error, if any). */
export type ConnectionHook = (socket: ServerSocket, status: ConnectionStatus) => void;

/** Something started with the gateway and stopped, in reverse order, when it closes. */
export type Disposer = () => void | Promise<void>;

/**
 * GatewayHost is everything a feature may plug into on one node. The gateway (the composition root) implements it and
 * is the only module that knows the features; a feature sees this, its slice of the config (`C`), and whatever other
 * feature it needs passed to it explicitly.
 */
export interface GatewayHost<C = GatewayConfig> {
  readonly config: C;
  readonly log: Logger;
  readonly clock: Clock;
  /** This node's id (GATEHOUSE_NODE_ID, else random). */
  readonly nodeId: string;
  /**
   * This process's own name: the node id plus a random suffix. Two processes given one GATEHOUSE_NODE_ID (an operator
   * error the node registry reports) still tell their own messages from each other's by it.
   */
  readonly instanceId: string;
  readonly agServer: AGServer;
  /** The one inbound middleware: features add rules per action type. */
  readonly dispatcher: InboundDispatcher;
  /** RPC procedures clients may invoke; anything else answers ProcedureNotFoundError. */
  readonly procedures: ProcedureRegistry;
  /** The single place told of authenticated / renewed / deauthenticated / closed sockets. */
  readonly authWatch: AuthWatch;
  /** This node's Prometheus registry: each feature adds the series of what it counts. */
  readonly metrics: MetricsRegistry;
  /** Adds an HTTP route on the public port, tried before the 404. */
  addRoute(route: Route): void;
  /** Adds a readiness condition: returns a reason while the node should not receive traffic. */
  addReadinessCheck(check: () => string | undefined): void;
  /** Adds an operator warning /readyz lists without turning 503: returns it while it holds. */
  addReadinessWarning(check: () => string | undefined): void;
  /** Runs once the port is bound and before the node turns ready (e.g. waiting for Redis); awaited in order. */
  onStart(hook: () => Promise<void>): void;
  /** Runs on every reload (SIGHUP); a hook logs its own failures and keeps its previous state. */
  onReload(hook: () => void): void;
  /** Runs for every socket once its handshake completes, with the handshake's outcome. */
  onConnection(hook: ConnectionHook): void;
  /** Registers something to stop when the gateway closes (reverse order of registration). */
  own(disposer: Disposer): void;
}
