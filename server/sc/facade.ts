/**
 * The one place that papers over gaps in @types/socketcluster-server v20 (../shared/notes §7): untyped socket
 * listeners, `transmit` demanding an options argument, the wrong auth-state field names. Every cast lives here.
 */
import type { AGServer, AGServerSocket } from 'socketcluster-server';
import type { GatehouseClaims } from '../../shared';

export type ServerSocket = AGServerSocket;

/** The verified claims of an authenticated socket, or null. */
export function claimsOf(socket: ServerSocket): GatehouseClaims | null {
  return socket.authState === socket.AUTHENTICATED && socket.authToken ? (socket.authToken as unknown as GatehouseClaims) : null;
}

export function isOpen(socket: ServerSocket): boolean {
  return socket.state === socket.OPEN;
}

/** Sends a fire-and-forget event to one socket. */
export function transmit(socket: ServerSocket, event: string, data?: unknown): void {
  (socket as unknown as { transmit(e: string, d?: unknown, o?: object): void }).transmit(event, data, {});
}

/** The remote address of a socket's connection. */
export function remoteAddressOf(socket: ServerSocket): string | undefined {
  return (socket as unknown as { remoteAddress?: string }).remoteAddress;
}

/** A completed handshake's outcome, as SocketCluster's `connection` event carries it. */
export interface ConnectionStatus {
  readonly isAuthenticated: boolean;
  /** Why the token sent with the handshake was refused; absent when none was sent or it was accepted. */
  readonly authError?: { readonly name?: unknown };
}

/** Server-level event payloads used by Gatehouse (the fields SocketCluster v20 really sends). */
export interface ServerEvents {
  /** A socket was created for an accepted upgrade; its `#handshake` has not been processed yet. */
  handshake: { socket: ServerSocket };
  connection: { socket: ServerSocket } & ConnectionStatus;
  authentication: { socket: ServerSocket; authToken: unknown };
  deauthentication: { socket: ServerSocket; oldAuthToken: unknown };
  closure: { socket: ServerSocket; code: number; reason?: string };
  error: { error: Error };
  warning: { warning: Error };
}

/** A typed server listener stream. */
export function serverListener<K extends keyof ServerEvents>(server: AGServer, name: K): AsyncIterable<ServerEvents[K]> {
  return (server as unknown as { listener(n: string): AsyncIterable<ServerEvents[K]> }).listener(name);
}

export function closeServerListener(server: AGServer, name: keyof ServerEvents): void {
  (server as unknown as { closeListener(n: string): void }).closeListener(name);
}

/** The RPC request SocketCluster hands a procedure consumer. */
export interface ProcedureRequest {
  readonly procedure: string;
  readonly data: unknown;
  end(data?: unknown): void;
  error(err: Error): void;
}

export function procedureStream(socket: ServerSocket, name: string): AsyncIterable<ProcedureRequest> {
  return socket.procedure(name) as unknown as AsyncIterable<ProcedureRequest>;
}
