import type { GatehouseClaims } from '../../shared';
import type { ServerSocket } from '../sc/facade';
import { tokenIds, type RevocationTarget } from './store';

/** The sockets one id is carried by: one socket as it is (nearly every jti, sid and sub), several in a Set. */
type Holders = ServerSocket | Set<ServerSocket>;

const KINDS = ['jti', 'sid', 'sub'] as const;

/**
 * LiveSocketIndex finds this node's authenticated sockets by `jti`, `sid` and `sub`, so a revocation reaches its
 * sockets without a scan. It holds a socket only between its authentication and its deauthentication or close.
 * An id held by one socket maps to that socket directly, not to a Set of one: three Sets per connection were most
 * of what the index cost in memory (BENCHMARKS.md, "Live-socket index without Sets of one").
 */
export class LiveSocketIndex {
  private readonly claims = new Map<ServerSocket, GatehouseClaims>();
  private readonly byKind = { jti: new Map<string, Holders>(), sid: new Map<string, Holders>(), sub: new Map<string, Holders>() };

  /** Records (or replaces) a socket's claims. */
  set(socket: ServerSocket, claims: GatehouseClaims): void {
    this.delete(socket);
    this.claims.set(socket, claims);
    const ids = tokenIds(claims);
    for (const kind of KINDS) {
      const id = ids[kind];
      if (id === undefined) continue;
      const map = this.byKind[kind];
      const held = map.get(id);
      if (held === undefined) map.set(id, socket);
      else if (held instanceof Set) held.add(socket);
      else if (held !== socket) map.set(id, new Set([held, socket]));
    }
  }

  delete(socket: ServerSocket): void {
    const claims = this.claims.get(socket);
    if (!claims) return;
    this.claims.delete(socket);
    const ids = tokenIds(claims);
    for (const kind of KINDS) {
      const id = ids[kind];
      if (id === undefined) continue;
      const map = this.byKind[kind];
      const held = map.get(id);
      if (held === socket) {
        map.delete(id);
      } else if (held instanceof Set) {
        held.delete(socket);
        if (held.size === 1) map.set(id, held.values().next().value!);
        else if (held.size === 0) map.delete(id);
      }
    }
  }

  /** The sockets whose token carries this id (a snapshot, safe to act on while the index changes). */
  find(target: RevocationTarget): [ServerSocket, GatehouseClaims][] {
    const held = this.byKind[target.kind].get(target.id);
    if (held === undefined) return [];
    const sockets = held instanceof Set ? [...held] : [held];
    return sockets.map((s) => [s, this.claims.get(s)!]);
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
