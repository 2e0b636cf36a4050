import { CloseCode, type GatehouseClaims } from '../../shared';
import type { AuthChange } from '../auth/auth-watch';
import type { Clock } from '../clock';
import type { Logger } from '../log';
import { claimsOf, endSession, isOpen, type ServerSocket } from '../sc/facade';
import { LiveSocketIndex } from './socket-index';
import { revocationHits, type Revocation, type RevocationStore } from './store';

/** Closes a socket whose token was revoked: its client drops the token first, then the close is final (TokenRevoked). */
export function closeAsRevoked(socket: ServerSocket): void {
  endSession(socket, 'revoked', { code: CloseCode.TokenRevoked, message: 'Token revoked' });
}

/** How long revocations are remembered for sockets still between their admission check and the index, ms. */
const RECENT_MS = 10_000;
/**
 * Most revocations remembered at once, however fast they come (a client can make one per login and logout): a
 * check that a flood overtook fails closed, and a socket indexed after one is checked against the store again.
 */
export const MAX_REMEMBERED = 10_000;
/** Pause before retrying a re-check that Redis could not answer, ms. */
const RECHECK_RETRY_MS = 250;

interface Recent {
  readonly seq: number;
  readonly receivedAt: number;
  readonly revocation: Revocation;
  /** Sockets this node closed for it so far. */
  closed: number;
}

/** What the enforcer reports for metrics: sockets closed by a revocation, and how long the news took. */
export interface EnforcementObserver {
  /**
   * A socket was closed as revoked. `delayMs`: from the revocation's timestamp to the close on this node, when the
   * close answers an announcement (a re-check after an outage has no meaningful delay).
   */
  socketRevoked(delayMs?: number): void;
}

/** Whether two revocations are the same one (announced and also asked for by the admin API). */
function sameRevocation(a: Revocation, b: Revocation): boolean {
  return a.kind === b.kind && a.id === b.id && a.at === b.at && a.origin === b.origin;
}

/**
 * RevocationEnforcer applies revocations to this node's live sockets: every socket a revocation hits is
 * deauthenticated (the client drops its stored token) and closed with TokenRevoked. It keeps the index of live
 * sockets from the AuthWatch, and closes two gaps: a revocation that lands while a token's admission check is in
 * flight (remembered briefly and replayed when the socket is indexed), and revocations missed while the announcement
 * feed was down (every live socket is checked against the store again).
 */
export class RevocationEnforcer {
  readonly index = new LiveSocketIndex();
  private readonly recent: Recent[] = [];
  private readonly admittedAt = new WeakMap<ServerSocket, number>();
  private seq = 0;
  /** Highest sequence number forgotten from `recent`. */
  private forgottenThrough = 0;
  private recheckState: 'idle' | 'running' | 'again' = 'idle';
  private recheckPending = false;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  private observer?: EnforcementObserver;

  constructor(
    private readonly store: RevocationStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** GATEHOUSE_CLOCK_TOLERANCE: a user revocation covers tokens issued up to this much after it (subRevocationCovers). */
    private readonly clockToleranceMs = 0,
  ) {}

  observe(observer: EnforcementObserver): void {
    this.observer = observer;
  }

  /**
   * Applies a revocation unless this node already did (its announcement and an admin request may both bring it), and
   * answers how many sockets this node closed for it in all.
   */
  applyOnce(revocation: Revocation): number {
    const seen = this.recent.find((r) => sameRevocation(r.revocation, revocation));
    return seen ? seen.closed : this.apply(revocation);
  }

  /** The announcement counter now; give it to `hitSince` and `admitted` once the store has answered. */
  mark(): number {
    return this.seq;
  }

  /** Whether a revocation applied after `mark` hits these claims (it raced the admission check). */
  hitSince(mark: number, claims: GatehouseClaims): boolean {
    return this.recent.some((r) => r.seq > mark && revocationHits(r.revocation, claims, this.clockToleranceMs));
  }

  /** Whether revocations applied after `mark` were already forgotten, so `hitSince` cannot tell. */
  forgotSince(mark: number): boolean {
    return mark < this.forgottenThrough;
  }

  /** Revocations remembered now (for tests and metrics). */
  get remembered(): number {
    return this.recent.length;
  }

  /** Remembers when a socket's token passed its check, so the index can replay what came after. */
  admitted(socket: ServerSocket, mark: number): void {
    this.admittedAt.set(socket, mark);
  }

  /** Follows one AuthWatch change. */
  track(change: AuthChange): void {
    switch (change.kind) {
      case 'authenticated':
      case 'renewed':
        this.index.set(change.socket, change.claims);
        this.replay(change.socket, change.claims);
        return;
      case 'deauthenticated':
      case 'closed':
        this.index.delete(change.socket);
        return;
    }
  }

  /**
   * Applies a revocation on this node: remembers it and closes every socket it hits. A socket already
   * deauthenticated (the caller of logout) is left alone. Returns how many sockets it closed.
   */
  apply(revocation: Revocation): number {
    const entry = this.remember(revocation);
    let closed = 0;
    for (const [socket] of this.index.find(revocation)) {
      const current = claimsOf(socket);
      if (!current || !revocationHits(revocation, current, this.clockToleranceMs)) continue;
      this.revokeSocket(socket, revocation.at);
      closed += 1;
    }
    entry.closed += closed;
    const delayMs = this.clock.now() - revocation.at;
    this.log[closed > 0 ? 'info' : 'debug']({ kind: revocation.kind, id: revocation.id, origin: revocation.origin, closed, delayMs }, 'revocation applied');
    return closed;
  }

  /**
   * Checks every live socket against the store again (after the announcement feed was interrupted). Retries until
   * the store answers; concurrent calls fold into one more pass.
   */
  recheckAll(): void {
    if (this.closed) return;
    this.recheckPending = true;
    if (this.recheckState !== 'idle') {
      this.recheckState = 'again';
      return;
    }
    this.recheckState = 'running';
    void this.runRecheck();
  }

  /** Why this node may be missing revocations right now, or undefined. */
  unavailableReason(): string | undefined {
    return this.recheckPending ? 'revocation re-check pending' : undefined;
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async runRecheck(): Promise<void> {
    const entries = this.index.entries();
    let hits: boolean[];
    try {
      hits = await this.store.checkMany(entries.map(([, claims]) => claims));
    } catch (err) {
      this.recheckState = 'idle';
      if (this.closed) return;
      this.log.debug({ err }, 'revocation re-check failed; retrying');
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.recheckAll();
      }, RECHECK_RETRY_MS);
      this.retryTimer.unref();
      return;
    }
    let closed = 0;
    entries.forEach(([socket, claims], i) => {
      // A socket whose token changed meanwhile passed a newer check (or renewal's own) after this one began.
      if (hits[i] && claimsOf(socket) === claims) {
        this.revokeSocket(socket);
        closed += 1;
      }
    });
    this.log.info({ checked: entries.length, closed }, 'live sockets re-checked against revocations');
    const again = this.recheckState === 'again';
    this.recheckState = 'idle';
    if (again) this.recheckAll();
    else this.recheckPending = false;
  }

  /**
   * Replays revocations that arrived between a socket's admission check and its indexing. A token that never passed
   * the check (one the gateway set itself: login, renewal) is held against every revocation still remembered.
   */
  private replay(socket: ServerSocket, claims: GatehouseClaims): void {
    const mark = this.admittedAt.get(socket);
    this.admittedAt.delete(socket);
    if (mark !== undefined && this.forgotSince(mark)) {
      // Too long between check and index to replay from memory: ask the store again.
      this.store.check(claims).then(
        (revoked) => {
          if (revoked && claimsOf(socket) === claims) this.revokeSocket(socket);
        },
        () => this.recheckAll(),
      );
      return;
    }
    if (this.hitSince(mark ?? this.forgottenThrough, claims)) this.revokeSocket(socket);
  }

  private remember(revocation: Revocation): Recent {
    const now = this.clock.now();
    this.seq += 1;
    const entry: Recent = { seq: this.seq, receivedAt: now, revocation, closed: 0 };
    this.recent.push(entry);
    while (this.recent.length > MAX_REMEMBERED || (this.recent.length > 0 && this.recent[0].receivedAt < now - RECENT_MS)) {
      this.forgottenThrough = this.recent.shift()!.seq;
    }
    return entry;
  }

  /** Deauthenticates the socket (its client drops the token first) and closes it with TokenRevoked. */
  private revokeSocket(socket: ServerSocket, revokedAt?: number): void {
    this.index.delete(socket);
    if (!isOpen(socket)) return;
    closeAsRevoked(socket);
    this.observer?.socketRevoked(revokedAt === undefined ? undefined : this.clock.now() - revokedAt);
  }
}
