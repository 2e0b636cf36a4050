import type { AGServer } from 'socketcluster-server';
import type { GatehouseClaims } from '../../shared';
import { onDeauthentication } from '../sc/deauthentication-hook';
import { claimsOf, closeServerListener, isOpen, serverListener, type ServerSocket } from '../sc/facade';

/** A change in one socket's authentication, as the rest of the gateway learns of it. */
export type AuthChange =
  | { readonly kind: 'authenticated'; readonly socket: ServerSocket; readonly claims: GatehouseClaims }
  | { readonly kind: 'renewed'; readonly socket: ServerSocket; readonly claims: GatehouseClaims; readonly previous: GatehouseClaims }
  | { readonly kind: 'deauthenticated'; readonly socket: ServerSocket; readonly previous: GatehouseClaims }
  | { readonly kind: 'closed'; readonly socket: ServerSocket; readonly previous: GatehouseClaims | null };

export type AuthChangeListener = (change: AuthChange) => void;

const EVENTS = ['authentication', 'closure'] as const;

/**
 * AuthWatch is the single place told whenever a socket's authentication changes: authenticated, renewed,
 * deauthenticated (logout, expiry, a refused re-authentication) or closed. It smooths SocketCluster's events, which
 * fire `deauthentication` even for sockets that were never authenticated and `authentication` for a closed socket
 * given a token, into one ordered stream of real changes. A deauthentication is reported synchronously, from inside
SocketCluster's own call (../sc/deauthentication-hook.ts), so its listeners have taken the socket's grants away
before anything else runs. Listeners run synchronously and must not throw; one that does is reported to
`onListenerError` and the others still run.
 */
export class AuthWatch {
  private readonly listeners: AuthChangeListener[] = [];
  private readonly current = new WeakMap<ServerSocket, GatehouseClaims>();
  private server?: AGServer;
  private unhook?: () => void;

  constructor(private readonly onListenerError: (err: unknown, change: AuthChange) => void = () => undefined) {}

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
        const claims = claimsOf(socket);
        if (!claims || !isOpen(socket)) continue;
        const previous = this.current.get(socket);
        if (previous === claims) continue;
        this.current.set(socket, claims);
        this.emit(previous ? { kind: 'renewed', socket, claims, previous } : { kind: 'authenticated', socket, claims });
      }
    })();
    this.unhook = onDeauthentication<ServerSocket>(server, (socket) => {
      const previous = this.current.get(socket);
      if (!previous || socket.authState === socket.AUTHENTICATED) return;
      this.current.delete(socket);
      this.emit({ kind: 'deauthenticated', socket, previous });
    });
    void (async () => {
      for await (const { socket } of serverListener(server, 'closure')) {
        const previous = this.current.get(socket) ?? null;
        this.current.delete(socket);
        this.emit({ kind: 'closed', socket, previous });
      }
    })();
  }

  private emit(change: AuthChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        // Inside SocketCluster's own call (a deauthentication), a throw would break that socket's processing.
        this.onListenerError(err, change);
      }
    }
  }

  close(): void {
    if (!this.server) return;
    this.unhook?.();
    this.unhook = undefined;
    for (const name of EVENTS) closeServerListener(this.server, name);
    this.server = undefined;
  }
}
