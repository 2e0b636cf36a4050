import { ServerEvent, type GatehouseClaims } from '../../shared';
import type { AuthChange, AuthWatch } from '../auth/auth-watch';
import type { Clock } from '../clock';
import type { Logger } from '../log';
import { closeAsKeyRetired } from '../auth/key-retirement';
import { tokenExpiry } from '../auth/token-expiry';
import { closeAsRevoked } from '../revocation/enforcer';
import { claimsOf, endSession, isOpen, transmit, type ServerSocket } from '../sc/facade';
import { DeadlineScheduler } from './deadline-scheduler';
import { expiryTime, planNext, sessionEnd, sessionStart, type RenewalPolicy, type Step } from './renewal-plan';

/** Answers whether a token was revoked; rejects when that cannot be known (Redis down). */
export type RevocationProbe = (claims: GatehouseClaims) => Promise<boolean>;
/** Answers whether the key that verified a session is gone from the key ring (a reload removed it). */
export type RetiredKeyProbe = (claims: GatehouseClaims) => boolean;

/** Counters for the metrics endpoint. */
export interface RenewalCounters {
  renewals: number;
  renewalsRefused: number;
  renewalsFailed: number;
  expiries: number;
  warnings: number;
}

/** Claims the signer stamps anew; stripped before re-signing (SocketCluster ignores expiresIn while exp is set). */
const RESTAMPED = ['iat', 'exp', 'nbf', 'jti'] as const;
/** Retry delay when revocation cannot be checked before a renewal. */
const RETRY_MS = 2_000;

interface Pending {
  readonly claims: GatehouseClaims;
  step: Step;
}

/**
 * RenewalManager gives every authenticated socket a fresh token before its own expires, warns the client when it will
 * not, and deauthenticates a socket on time when its token lapses (SocketCluster alone notices only at the next pong
 * or packet). One DeadlineScheduler serves the whole node; it holds a socket only while that socket is authenticated
 * and open, and every step re-checks that the socket still holds the very claims it was planned for, so a late tick
 * can never re-authenticate a socket that logged out.
 */
export class RenewalManager {
  readonly counters: RenewalCounters = { renewals: 0, renewalsRefused: 0, renewalsFailed: 0, expiries: 0, warnings: 0 };
  private readonly pending = new Map<ServerSocket, Pending>();
  private readonly scheduler: DeadlineScheduler<ServerSocket>;

  constructor(
    private readonly policy: RenewalPolicy,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly isRevoked: RevocationProbe,
    private readonly isKeyRetired: RetiredKeyProbe = () => false,
  ) {
    this.scheduler = new DeadlineScheduler(clock, (socket) => void this.run(socket));
  }

  /** Sockets the manager currently holds (for tests and metrics). */
  get size(): number {
    return this.pending.size;
  }

  attach(watch: AuthWatch): void {
    watch.subscribe((change) => this.onAuthChange(change));
  }

  close(): void {
    this.scheduler.close();
    this.pending.clear();
  }

  private onAuthChange(change: AuthChange): void {
    if (change.kind === 'authenticated' || change.kind === 'renewed') {
      this.plan(change.socket, change.claims);
    } else {
      this.forget(change.socket);
    }
  }

  private plan(socket: ServerSocket, claims: GatehouseClaims, step?: Step): void {
    const next = step ?? planNext(claims, this.policy, this.clock.now(), Math.random());
    this.pending.set(socket, { claims, step: next });
    this.scheduler.schedule(socket, next.at);
  }

  private forget(socket: ServerSocket): void {
    this.pending.delete(socket);
    this.scheduler.cancel(socket);
  }

  /** Whether the socket is still open and authenticated with exactly these claims. */
  private holds(socket: ServerSocket, claims: GatehouseClaims): boolean {
    return isOpen(socket) && claimsOf(socket) === claims;
  }

  private async run(socket: ServerSocket): Promise<void> {
    const entry = this.pending.get(socket);
    if (!entry) return;
    const { claims, step } = entry;
    if (!this.holds(socket, claims)) {
      this.forget(socket);
      return;
    }
    const now = this.clock.now();
    if (now >= expiryTime(claims)) {
      this.expire(socket, claims);
      return;
    }
    switch (step.kind) {
      case 'warn':
        this.counters.warnings++;
        transmit(socket, ServerEvent.AuthExpiring, tokenExpiry(claims, now));
        this.plan(socket, claims, { kind: 'expire', at: expiryTime(claims) });
        return;
      case 'expire':
        this.plan(socket, claims, { kind: 'expire', at: expiryTime(claims) });
        return;
      case 'renew':
        await this.renew(socket, claims);
    }
  }

  private expire(socket: ServerSocket, claims: GatehouseClaims): void {
    this.forget(socket);
    this.counters.expiries++;
    // Renewable but for the session's age: the session ended; otherwise the token simply lapsed.
    const now = this.clock.now();
    const ended = this.policy.renewIntervalMs > 0 && this.policy.canSign && sessionEnd(claims, this.policy, now) <= expiryTime(claims) + RETRY_MS;
    // Deauthentication tells AuthWatch, whose listeners (channel rules) kick the socket out of private channels.
    endSession(socket, ended ? 'session-ended' : 'expired');
  }

  private async renew(socket: ServerSocket, claims: GatehouseClaims): Promise<void> {
    if (this.isKeyRetired(claims)) {
      // Normally the reload already closed it; this catches a socket that was between steps then.
      this.counters.renewalsRefused++;
      this.forget(socket);
      closeAsKeyRetired(socket);
      return;
    }
    let revoked: boolean;
    try {
      revoked = await this.isRevoked(claims);
    } catch (err) {
      // Cannot tell: never renew blind. Retry shortly; if the token lapses meanwhile, it expires.
      this.counters.renewalsFailed++;
      this.log.warn({ sub: claims.sub, sid: claims.sid, reason: (err as Error).message }, 'renewal postponed: revocation check unavailable');
      if (this.holds(socket, claims)) {
        this.plan(socket, claims, { kind: 'renew', at: Math.min(this.clock.now() + RETRY_MS, expiryTime(claims)) });
      }
      return;
    }
    // The socket may have logged out, been renewed by login, or closed while we waited.
    if (!this.holds(socket, claims)) return;
    if (revoked) {
      this.counters.renewalsRefused++;
      this.forget(socket);
      closeAsRevoked(socket);
      return;
    }
    const payload: Record<string, unknown> = { ...claims };
    for (const name of RESTAMPED) delete payload[name];
    // The session's start, never later than the first token's iat; sid (derived at verification when the token had
    // none), okid and the original aud are carried in the copy, so the renewed token stays inside the same session,
    // the same key's life and the same audience.
    payload.auth_time = sessionStart(claims, this.clock.now());
    const untilSessionEnd = sessionEnd(claims, this.policy, this.clock.now()) - this.clock.now();
    const ttlMs = Math.min(this.policy.tokenTtlMs, untilSessionEnd);
    this.counters.renewals++;
    try {
      // expiresIn (seconds) caps the new token at the session's end; the engine never signs beyond the TTL.
      await socket.setAuthToken(payload, { expiresIn: Math.max(1, Math.floor(ttlMs / 1000)) });
    } catch (err) {
      this.log.error({ err, sub: claims.sub }, 'renewal failed to sign');
    }
  }
}
