import type { GatehouseClaims } from '../../shared';

/** What a revocation names: one token (`jti`), one session and every token renewed from it (`sid`), or a user (`sub`). */
export type RevocationKind = 'jti' | 'sid' | 'sub';

export const REVOCATION_KINDS: readonly RevocationKind[] = ['jti', 'sid', 'sub'];

export interface RevocationTarget {
  readonly kind: RevocationKind;
  readonly id: string;
}

/** One revocation as stored and announced. */
export interface Revocation extends RevocationTarget {
  /**
   * When it was revoked, Unix milliseconds; announcements carry it so a node can tell how long the news took. A `sub`
   * revocation covers the user's tokens with `iat` ≤ floor(at / 1000): whole seconds, so a token minted in the same
   * second is revoked too.
   */
  readonly at: number;
  /** Unix milliseconds after which the entry is gone, because no token it could match can still be valid. */
  readonly until: number;
  /**
   * Who revoked: the revoking process's instance id (`nodeId/suffix`), or `cli/suffix`. A process skips only its own
   * announcements (it applied them when it revoked); node ids need not be unique for that to hold.
   */
  readonly origin: string;
}

export interface RevokeOptions {
  /** `exp` (Unix seconds) of the token being revoked, when known: a `jti` entry then lives only until it. */
  readonly exp?: number;
}

/** How long entries must live: the token rules of the gateway's config. Milliseconds. */
export interface RevocationPolicy {
  readonly maxTokenLifetimeMs: number;
  readonly clockToleranceMs: number;
}

/** Raised when the store cannot answer in time; authentication then fails closed (AuthUnavailableError). */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/**
 * RevocationStore holds the live revocations and announces new ones. Two implementations sit side by side: memory
 * (one node) and Redis (every node sharing it); one contract suite runs against both.
 */
export interface RevocationStore {
  /** Records a revocation and announces it to every node. Rejects with StoreUnavailableError. */
  revoke(target: RevocationTarget, options?: RevokeOptions): Promise<Revocation>;
  /** Whether any revocation hits these claims: one round trip at most. Rejects with StoreUnavailableError. */
  check(claims: GatehouseClaims): Promise<boolean>;
  /** `check` for many tokens at once (the re-check after an outage), in order; batched round trips. */
  checkMany(claims: readonly GatehouseClaims[]): Promise<boolean[]>;
  /** Called with every announced revocation, this store's own included. */
  onRevocation(listener: (revocation: Revocation) => void): void;
  /**
   * Called when the announcement feed is back after an interruption: revocations announced meanwhile may have been
   * missed, so live sockets must be checked again.
   */
  onResync(listener: () => void): void;
  /** Why the store cannot serve right now (for /readyz), or undefined. */
  unavailableReason(): string | undefined;
  /** Resolves once the store can serve, or after `maxWaitMs` (then it keeps trying in the background). */
  ready(maxWaitMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** When an entry for a revocation made at `atMs` may be dropped, Unix milliseconds. */
export function entryDeadline(target: RevocationTarget, options: RevokeOptions, atMs: number, policy: RevocationPolicy): number {
  // The latest any token alive now can expire: verify caps exp − iat, and iat may run ahead by the tolerance.
  const longest = atMs + policy.maxTokenLifetimeMs + policy.clockToleranceMs;
  // A node whose clock lags by up to the tolerance still accepts a token until exp + tolerance by its own clock.
  const known = options.exp === undefined ? undefined : options.exp * 1000 + policy.clockToleranceMs;
  if (target.kind === 'jti' && known !== undefined) return Math.max(atMs + 1, known);
  // Other tokens of a session or user may have been renewed to a later exp than the one known here.
  return Math.max(longest, known ?? 0);
}

/**
 * Whether a stored `sub` revocation moment (Unix ms) covers a token. A token without `iat` cannot show it was minted
 * after the revocation, so it is covered.
 */
export function subRevocationCovers(revokedAtMs: number, claims: GatehouseClaims): boolean {
  return claims.iat === undefined || claims.iat <= Math.floor(revokedAtMs / 1000);
}

/** The ids a token can be revoked by. A `jti` or `sid` that is not a string is not an id (it cannot be revoked by). */
export interface TokenIds {
  readonly jti?: string;
  readonly sid?: string;
  readonly sub: string;
}

export function tokenIds(claims: GatehouseClaims): TokenIds {
  return {
    jti: typeof claims.jti === 'string' && claims.jti.length > 0 ? claims.jti : undefined,
    sid: typeof claims.sid === 'string' && claims.sid.length > 0 ? claims.sid : undefined,
    sub: claims.sub,
  };
}

/** Whether a revocation hits a token. */
export function revocationHits(revocation: Revocation, claims: GatehouseClaims): boolean {
  const ids = tokenIds(claims);
  switch (revocation.kind) {
    case 'jti':
      return ids.jti === revocation.id;
    case 'sid':
      return ids.sid === revocation.id;
    case 'sub':
      return claims.sub === revocation.id && subRevocationCovers(revocation.at, claims);
  }
}

/** Validates a target from outside (CLI, announcements): a known kind and a non-empty id of sane length. */
export function isRevocationTarget(value: unknown): value is RevocationTarget {
  const v = value as Partial<RevocationTarget> | null;
  return typeof v === 'object' && v !== null && REVOCATION_KINDS.includes(v.kind as RevocationKind)
    && typeof v.id === 'string' && v.id.length > 0 && v.id.length <= MAX_ID_LENGTH;
}

/** Validates a whole revocation from outside (announcements, the admin bus): a target, its moments and its origin. */
export function isRevocation(value: unknown): value is Revocation {
  if (!isRevocationTarget(value)) return false;
  const v = value as Partial<Revocation>;
  return typeof v.at === 'number' && typeof v.until === 'number' && typeof v.origin === 'string';
}

/** Longest jti, sid or sub a revocation accepts (tokens are at most 8 KiB anyway). */
export const MAX_ID_LENGTH = 1024;
