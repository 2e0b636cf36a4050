import type { AGServer } from 'socketcluster-server';
import type { GatehouseClaims } from '../../shared';
import { closeServerListener, isOpen, serverListener, type ServerSocket } from '../sc/facade';

/** A change in one socket's authentication, as the rest of the gateway learns of it. */
export type AuthChange =
  | { readonly kind: 'authenticated'; readonly socket: ServerSocket; readonly claims: GatehouseClaims }
  | { readonly kind: 'renewed'; readonly socket: ServerSocket; readonly claims: GatehouseClaims; readonly previous: GatehouseClaims }
  | { readonly kind: 'deauthenticated'; readonly socket: ServerSocket; readonly previous: GatehouseClaims }
  | { readonly kind: 'closed'; readonly socket: ServerSocket; readonly previous: GatehouseClaims | null };

export type AuthChangeListener = (change: AuthChange) => void;

const EVENTS = ['authentication', 'deauthentication', 'closure'] as const;

/**
 * AuthWatch is the single place told whenever a socket's authentication changes: authenticated, renewed,
 * deauthenticated (logout, expiry, a refused re-authentication) or closed. It smooths SocketCluster's events, which
 * fire `deauthentication` even for sockets that were never authenticated and `authentication` for a closed socket
 * given a token, into one ordered stream of real changes. Listeners run synchronously and must not throw.
 */
export class AuthWatch {
  private readonly listeners: AuthChangeListener[] = [];
  private readonly current = new WeakMap<ServerSocket, GatehouseClaims>();
  private server?: AGServer;

  subscribe(listener: AuthChangeListener): void {
    this.listeners.push(listener);
  }

  /** The claims the watch last saw for a socket. */
  claimsOf(socket: ServerSocket): GatehouseClaims | undefined {
    return this.current.get(socket);
  }

  attach(server: AGServer): void {
    this.server = server;
    void (async () => {
      for await (const { socket } of serverListener(server, 'authentication')) {
        const claims = socket.authToken as unknown as GatehouseClaims | null;
        if (!claims || !isOpen(socket) || socket.authState !== socket.AUTHENTICATED) continue;
        const previous = this.current.get(socket);
        if (previous === claims) continue;
        this.current.set(socket, claims);
        this.emit(previous ? { kind: 'renewed', socket, claims, previous } : { kind: 'authenticated', socket, claims });
      }
    })();
    void (async () => {
      for await (const { socket } of serverListener(server, 'deauthentication')) {
        const previous = this.current.get(socket);
        if (!previous || socket.authState === socket.AUTHENTICATED) continue;
        this.current.delete(socket);
        this.emit({ kind: 'deauthenticated', socket, previous });
      }
    })();
    void (async () => {
      for await (const { socket } of serverListener(server, 'closure')) {
        const previous = this.current.get(socket) ?? null;
        this.current.delete(socket);
        this.emit({ kind: 'closed', socket, previous });
      }
    })();
  }

  private emit(change: AuthChange): void {
    for (const listener of this.listeners) listener(change);
  }

  close(): void {
    if (!this.server) return;
    for (const name of EVENTS) closeServerListener(this.server, name);
    this.server = undefined;
  }
}
