import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { CloseCode } from '../../shared';
import { clientIp, ipLimiterKey, type ProxyTrust } from '../http/client-ip';
import type { FloodSettings } from './settings';

/** Why a connection was refused: the close code it gets. */
export type ConnectionRefusal = typeof CloseCode.TooManyConnections | typeof CloseCode.HandshakeRateLimited;

/**
 * ConnectionLimits admits or refuses each WebSocket upgrade by its client address (IPv6: its /64; behind a trusted
 * proxy, the X-Forwarded-For address): at most `maxConnectionsPerIp` open at once and `handshakeRatePerIp` opened in
 * the current second, on this node. An admitted connection is counted from its upgrade request until its TCP
 * connection closes (also when the upgrade fails half-way); a refused one is never counted, so a flood cannot push its
 * own count up. `close()` stops the one-second timer.
 */
export class ConnectionLimits {
  private readonly open = new Map<string, number>();
  /** Upgrades per address in the current one-second window (a fixed window: the map is emptied each second). */
  private readonly recent = new Map<string, number>();
  /** The address key each counted connection is open under, until it closes. */
  private readonly keyOf = new WeakMap<Socket, string>();
  /** The 'close' listener of every counted connection (EventEmitter calls it with the socket as `this`). */
  private readonly release: (this: Socket) => void;
  private readonly window?: NodeJS.Timeout;

  constructor(
    private readonly settings: FloodSettings,
    private readonly trust: ProxyTrust,
  ) {
    // One listener for every socket: Node calls it with the closing socket as its own `this`.
    const uncount = (socket: Socket) => this.uncount(socket);
    this.release = function release(this: Socket) {
      uncount(this);
    };
    if (settings.handshakeRatePerIp > 0) {
      this.window = setInterval(() => this.recent.clear(), 1000);
      this.window.unref();
    }
  }

  /** Decides on an upgrade request: `{key}` when admitted (and counted), else also the close code to refuse it with. */
  admit(request: IncomingMessage): { key: string; refusal?: ConnectionRefusal } {
    const key = ipLimiterKey(clientIp(request.socket.remoteAddress, request.headers['x-forwarded-for'], this.trust));
    const { maxConnectionsPerIp: maxOpen, handshakeRatePerIp: maxRate } = this.settings;
    if (maxRate > 0) {
      const n = (this.recent.get(key) ?? 0) + 1;
      this.recent.set(key, n);
      if (n > maxRate) return { key, refusal: CloseCode.HandshakeRateLimited };
    }
    const open = this.open.get(key) ?? 0;
    if (maxOpen > 0 && open >= maxOpen) return { key, refusal: CloseCode.TooManyConnections };
    this.open.set(key, open + 1);
    // One listener function for every connection, its key kept beside the socket: a closure (and `once`'s wrapper)
    // per connection would stay in memory for the connection's whole life.
    this.keyOf.set(request.socket, key);
    request.socket.on('close', this.release);
    return { key };
  }

  /** Uncounts a closed connection; 'close' fires once per socket. */
  private uncount(socket: Socket): void {
    const key = this.keyOf.get(socket);
    if (key === undefined) return;
    this.keyOf.delete(socket);
    const left = (this.open.get(key) ?? 1) - 1;
    if (left <= 0) this.open.delete(key);
    else this.open.set(key, left);
  }

  close(): void {
    clearInterval(this.window);
  }
}
