/**
 * The typed socket vocabulary features use: a socket's claims, whether it is open, sending it an event, its remote
 * address, typed server listeners and procedure streams. It papers over the gaps in @types/socketcluster-server v20
 * (../shared/notes §7): untyped socket listeners, `transmit` demanding an options argument, the wrong auth-state field
 * names. Its casts, like every cast around SocketCluster, stay in server/sc/; what it reads past the public API is
 * listed in ./seams.ts.
 */
import type { AGServer, AGServerSocket } from 'socketcluster-server';
import type { CloseCode, GatehouseClaims } from '../../shared';

export type ServerSocket = AGServerSocket;

/** The verified claims of an authenticated socket, or null. */
export function claimsOf(socket: ServerSocket): GatehouseClaims | null {
  return socket.authState === socket.AUTHENTICATED && socket.authToken ? (socket.authToken as unknown as GatehouseClaims) : null;
}

export function isOpen(socket: ServerSocket): boolean {
  return socket.state === socket.OPEN;
}

/**
 * Closes a socket's connection with a code from the close-code table. SocketCluster's `disconnect` is async in name
 * only: it closes before it returns, and its promise has nothing left to wait for.
 */
export function closeSocket(socket: ServerSocket, code: CloseCode, reason: string): void {
  void socket.disconnect(code, reason);
}

interface Transmitter {
  readonly cloneData?: boolean;
  transmit(e: string, d?: unknown, o?: object): void;
  sendObject(packet: { event: string; data?: unknown }): void;
}

/**
 * Sends a fire-and-forget event to one socket. SocketCluster queues a transmit on the socket's outbound stream, and
 * that stream's consumer, idle until then, turns into a dictionary-mode object of ~450 bytes at its first packet
 * (writable-consumable-stream deletes properties): every authenticated socket got its expiry notice that way, and
 * kept the cost for life. When nothing waits in that queue, the event is written now, as the queue's consumer would
 * write it next (a non-publish event passes no middleware); with anything queued it goes behind it, so events still
 * reach the client in the order they were sent.
 */
export function transmit(socket: ServerSocket, event: string, data?: unknown): void {
  const transmitter = socket as unknown as Transmitter;
  if (isOpen(socket) && !transmitter.cloneData && socket.getOutboundBackpressure() === 0) transmitter.sendObject({ event, data });
  else transmitter.transmit(event, data, {});
}

/** The remote address of a socket's connection. */
export function remoteAddressOf(socket: ServerSocket): string | undefined {
  return (socket as unknown as { remoteAddress?: string }).remoteAddress;
}

/** The channels a socket holds, including subscriptions whose broker call is still in flight. */
export function subscriptionsOf(socket: ServerSocket): string[] {
  return socket.subscriptions();
}

/**
 * Ends a socket's session: deauthenticates it, tells its client why, drops the client's token, optionally closes.
 * With the functions above, the socket vocabulary features speak instead of SocketCluster's members.
 */
export { endSession, sessionEndReason, type SessionClose } from './session';

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
  /** A socket's subscription holds (the broker's subscribe finished). */
  subscription: { socket: ServerSocket; channel: string };
  /** A socket's subscription ended: its own unsubscribe, a kick-out, or its closing. */
  unsubscription: { socket: ServerSocket; channel: string };
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
  return socket.procedure(name);
}
