import type { Server as HttpServer } from 'node:http';
import * as socketClusterServer from 'socketcluster-server';
import type { AGServer } from 'socketcluster-server';
import type { SimpleBrokerBase } from './broker-base';
import type { ServerSocket } from './facade';

/**
 * An `authEngine` as SocketCluster v20 calls it. Its types say `verifyToken` resolves a jsonwebtoken `Jwt` and
 * `signToken` takes jsonwebtoken's key and options; it really resolves the payload, and the gateway's engine ignores
 * the key SocketCluster passes (the KeyRing decides).
 */
export interface AuthEngine {
  verifyToken(signed: unknown, key: unknown, options?: { socket?: ServerSocket }): Promise<object>;
  signToken(payload: Record<string, unknown>, key: unknown, options?: { expiresIn?: unknown; [option: string]: unknown }): Promise<string>;
}

/** The AGServer options the gateway sets (@types' AGServerOptions takes any key, so a typo would compile there). */
export interface AgServerOptions {
  readonly authEngine: AuthEngine;
  readonly brokerEngine: SimpleBrokerBase;
  readonly maxPayload: number;
  readonly middlewareEmitFailures: boolean;
  /** How often the server pings each socket, ms; and how long a silent socket lives, ms (sent to the client too). */
  readonly pingInterval: number;
  readonly pingTimeout: number;
}

/** Attaches an AGServer to `http`. */
export function createAgServer(http: HttpServer, options: AgServerOptions): AGServer {
  return socketClusterServer.attach(http, {
    authEngine: options.authEngine as unknown as AGServer.AuthEngineType,
    brokerEngine: options.brokerEngine,
    maxPayload: options.maxPayload,
    middlewareEmitFailures: options.middlewareEmitFailures,
    pingInterval: options.pingInterval,
    pingTimeout: options.pingTimeout,
  });
}

/** Every socket of the server: those whose handshake completed, then those still in it. */
export function allSocketsOf(server: AGServer): ServerSocket[] {
  return [...Object.values(server.clients), ...Object.values(server.pendingClients)];
}
