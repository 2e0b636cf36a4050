import { MAX_SUB_LENGTH, MAX_TOKEN_ID_LENGTH, type GatehouseClaims } from '../../shared';

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
   * revocation covers the user's tokens with `iat` ≤ floor(at / 1000) + the clock tolerance in seconds: whole
   * seconds, so a token minted in the same second is revoked too, and a margin for signers whose clock runs ahead.
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
  /**
   * For a `sid`: the session's `sxp` claim (Unix seconds), when it has one. It says the session was opened by this
   * gateway (login, or a token without sid whose session id it derived): its only tokens are the first one, which
   * expires by `sxp`, and the gateway's own renewals, which expire within GATEHOUSE_TOKEN_TTL. The entry then lives
   * until the later of the two instead of the longest lifetime any token may have.
   */
  readonly sessionExp?: number;
}

/** How long entries must live: the token rules of the gateway's config. Milliseconds. */
export interface RevocationPolicy {
  readonly maxTokenLifetimeMs: number;
  readonly clockToleranceMs: number;
  /** GATEHOUSE_TOKEN_TTL: the lifetime of tokens the gateway signs (needed to shorten a session's entry by `sessionExp`). */
  readonly tokenTtlMs?: number;
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
  const tolerance = policy.clockToleranceMs;
  // The latest any token it covers can expire: verify caps exp − iat, iat may run ahead by the tolerance (and a user
  // revocation covers iat up to a tolerance after it), and a node whose clock lags by up to the tolerance still
  // accepts a token until exp + tolerance by its own clock.
  const longest = atMs + policy.maxTokenLifetimeMs + 3 * tolerance;
  const known = options.exp === undefined ? undefined : options.exp * 1000 + tolerance;
  if (target.kind === 'jti' && known !== undefined) return Math.max(atMs + 1, known);
  if (target.kind === 'sid' && options.sessionExp !== undefined && policy.tokenTtlMs !== undefined) {
    // A session the gateway opened: its first token expires by sessionExp; a renewal of it signed up to now (by a
    // clock up to a tolerance ahead, and a second of slack for one racing this revocation) expires within the TTL.
    const renewed = atMs + 1000 + policy.tokenTtlMs + 2 * tolerance;
    return Math.max(renewed, options.sessionExp * 1000 + tolerance, known ?? 0);
  }
  // Other tokens of a session or user may have been renewed to a later exp than the one known here.
  return Math.max(longest, known ?? 0);
}

/**
 * Whether a stored `sub` revocation moment (Unix ms) covers a token: every token of the user issued up to that second
 * plus the clock tolerance. `iat` comes from whichever clock signed the token, and a node or backend whose clock runs
 * ahead by up to the tolerance (which verification accepts) issues tokens that many seconds "later": without the
 * margin, a token renewed on such a node just before the revocation would escape it, and keep renewing. The price: a
 * token issued within the tolerance after the revocation is covered too. A token without `iat` cannot show it was
 * minted after the revocation, so it is covered.
 */
export function subRevocationCovers(revokedAtMs: number, claims: GatehouseClaims, clockToleranceMs: number): boolean {
  return claims.iat === undefined || claims.iat <= Math.floor(revokedAtMs / 1000) + Math.ceil(clockToleranceMs / 1000);
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

/** Whether a revocation hits a token (`clockToleranceMs`: GATEHOUSE_CLOCK_TOLERANCE, see subRevocationCovers). */
export function revocationHits(revocation: Revocation, claims: GatehouseClaims, clockToleranceMs: number): boolean {
  const ids = tokenIds(claims);
  switch (revocation.kind) {
    case 'jti':
      return ids.jti === revocation.id;
    case 'sid':
      return ids.sid === revocation.id;
    case 'sub':
      return claims.sub === revocation.id && subRevocationCovers(revocation.at, claims, clockToleranceMs);
  }
}

/** Validates a target from outside (CLI, announcements): a known kind and an id a token could carry (see idLimit). */
export function isRevocationTarget(value: unknown): value is RevocationTarget {
  const v = value as Partial<RevocationTarget> | null;
  return (
    typeof v === 'object'
    && v !== null
    && REVOCATION_KINDS.includes(v.kind as RevocationKind)
    && typeof v.id === 'string'
    && v.id.length > 0
    && v.id.length <= idLimit(v.kind as RevocationKind)
  );
}

/** Longest id of a kind: what verification accepts in a token (`sub`: MAX_SUB_LENGTH; `jti`, `sid`: MAX_TOKEN_ID_LENGTH). */
export function idLimit(kind: RevocationKind): number {
  return kind === 'sub' ? MAX_SUB_LENGTH : MAX_TOKEN_ID_LENGTH;
}

/**
 * Throws RevocationTargetError unless `target` is a valid target: both stores refuse alike, before writing anything.
 * The callers that take ids from outside (admin API, CLI, logout of a verified token) never pass a longer one.
 */
export function assertRevocationTarget(target: RevocationTarget): void {
  if (!isRevocationTarget(target)) {
    const kind = (target as Partial<RevocationTarget> | null)?.kind;
    const limit = kind !== undefined && REVOCATION_KINDS.includes(kind) ? ` of at most ${idLimit(kind)} characters` : '';
    throw new RevocationTargetError(`a revocation needs a kind (jti, sid or sub) and a non-empty id${limit}`);
  }
}

/** A revocation target no store accepts: an unknown kind, or an empty or over-long id. */
export class RevocationTargetError extends TypeError {
  override readonly name = 'RevocationTargetError';
}

/** Validates a whole revocation from outside (announcements, the admin bus): a target, its moments and its origin. */
export function isRevocation(value: unknown): value is Revocation {
  if (!isRevocationTarget(value)) return false;
  const v = value as Partial<Revocation>;
  return typeof v.at === 'number' && typeof v.until === 'number' && typeof v.origin === 'string';
}
