import type { GatehouseClaims } from '../../shared';
import type { ServerSocket } from '../sc/facade';
import { tokenIds, type RevocationTarget } from './store';

/**
 * LiveSocketIndex finds this node's authenticated sockets by `jti`, `sid` and `sub`, so a revocation reaches its
 * sockets without a scan. It holds a socket only between its authentication and its deauthentication or close.
 */
export class LiveSocketIndex {
  private readonly claims = new Map<ServerSocket, GatehouseClaims>();
  private readonly byKind = { jti: new Map<string, Set<ServerSocket>>(), sid: new Map<string, Set<ServerSocket>>(), sub: new Map<string, Set<ServerSocket>>() };

  /** Records (or replaces) a socket's claims. */
  set(socket: ServerSocket, claims: GatehouseClaims): void {
    this.delete(socket);
    this.claims.set(socket, claims);
    const ids = tokenIds(claims);
    for (const kind of ['jti', 'sid', 'sub'] as const) {
      const id = ids[kind];
      if (id === undefined) continue;
      const map = this.byKind[kind];
      let sockets = map.get(id);
      if (!sockets) map.set(id, (sockets = new Set()));
      sockets.add(socket);
    }
  }

  delete(socket: ServerSocket): void {
    const claims = this.claims.get(socket);
    if (!claims) return;
    this.claims.delete(socket);
    const ids = tokenIds(claims);
    for (const kind of ['jti', 'sid', 'sub'] as const) {
      const id = ids[kind];
      if (id === undefined) continue;
      const sockets = this.byKind[kind].get(id);
      sockets?.delete(socket);
      if (sockets?.size === 0) this.byKind[kind].delete(id);
    }
  }

  /** The sockets whose token carries this id (a snapshot, safe to act on while the index changes). */
  find(target: RevocationTarget): [ServerSocket, GatehouseClaims][] {
    const sockets = this.byKind[target.kind].get(target.id);
    return sockets ? [...sockets].map((s) => [s, this.claims.get(s)!]) : [];
  }

  /** Every indexed socket with its claims (a snapshot). */
  entries(): [ServerSocket, GatehouseClaims][] {
    return [...this.claims];
  }

  claimsOf(socket: ServerSocket): GatehouseClaims | undefined {
    return this.claims.get(socket);
  }

  get size(): number {
    return this.claims.size;
  }
}
