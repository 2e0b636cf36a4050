import { Procedure } from '../../shared';
import type { AdmissionCheck } from '../auth/auth-engine';
import type { AuthSettings } from '../auth/settings';
import type { GatewayHost } from '../host';
import type { FeedHealth } from '../redis/feed-liveness';
import { revocationAdmission } from './admission';
import { durabilityWarnings, type RedisDurability } from './durability';
import { RevocationEnforcer } from './enforcer';
import { logoutProcedure } from './logout';
import { registerRevocationMetrics } from './metrics';
import type { Revocation, RevocationStore, RevocationTarget, RevokeOptions } from './store';
import { waitPastUserRevocation } from './user-revocation-wait';

/** How long start-up waits for Redis before the node listens anyway (not ready, failing closed), ms. */
const READY_WAIT_MS = 5000;

/** Revocation as the rest of the gateway uses it. */
export interface RevocationService {
  readonly store: RevocationStore;
  readonly enforcer: RevocationEnforcer;
  /** This process's name in announcements (the node id and a random suffix: unique even when node ids are not). */
  readonly origin: string;
  /** The announcement feed's liveness (with Redis only). */
  readonly feed?: FeedHealth;
  /** Revokes everywhere and applies it on this node at once. Rejects with StoreUnavailableError. */
  revoke(target: RevocationTarget, options?: RevokeOptions): Promise<Revocation>;
  /** Resolves once a token issued now for `sub` is past any user revocation (bounded: see waitPastUserRevocation). */
  waitPastUserRevocation(sub: string): Promise<void>;
}

/** Revocation's slice of the configuration: the clock tolerance its entries' lifetimes allow for. */
export type RevocationHostSettings = Pick<AuthSettings, 'clockToleranceMs'>;

/** The store the node's backends made for revocation: in memory, or Redis mirrored in memory. */
export interface RevocationBackend {
  readonly store: RevocationStore;
  /** The announcement feed's liveness (with Redis only). */
  readonly feed?: FeedHealth;
  /** Reads Redis' persistence and eviction settings, to warn of the risks at start (with Redis only). */
  durability?(): Promise<RedisDurability>;
}

/** Where the auth engine takes its admission check from: revocation sets the one that consults the store. */
export interface AdmissionSlot {
  setAdmissionCheck(check: AdmissionCheck): void;
}

/**
 * Wires revocation into a node: the store the backends made (Redis mirrored in memory when GATEHOUSE_REDIS_URL or
 * GATEHOUSE_REDIS_CLUSTER is set, else memory); the admission check in the auth engine; the live-socket index fed by
 * the AuthWatch; announcements from other nodes and the re-check after a feed interruption; /readyz; its metrics; the
 * `logout` procedure. The store is made for this process's instance id (host.instanceId) and closed with the host.
 */
export function installRevocation(host: GatewayHost<RevocationHostSettings>, engine: AdmissionSlot, backend: RevocationBackend): RevocationService {
  const { config, log, clock } = host;
  // Not the node id: two processes sharing one would each drop the other's announcements as their own echo.
  const origin = host.instanceId;
  const { store, feed } = backend;
  const enforcer = new RevocationEnforcer(store, clock, log, config.clockToleranceMs);

  engine.setAdmissionCheck(revocationAdmission(store, enforcer));
  host.authWatch.subscribe((change) => enforcer.track(change));
  // A process applies its own revocations when it makes them; the echo would only repeat that. Anything else, even
  // from a process with the same node id, is applied once (applyOnce: the admin bus may bring it too).
  store.onRevocation((revocation) => {
    if (revocation.origin !== origin) enforcer.applyOnce(revocation);
  });
  store.onResync(() => enforcer.recheckAll());
  host.addReadinessCheck(() => store.unavailableReason() ?? enforcer.unavailableReason());
  if (feed) host.addReadinessWarning(() => feed.warning());
  registerRevocationMetrics(host.metrics, enforcer, feed);
  host.procedures.register(Procedure.Logout, logoutProcedure(store, enforcer));
  host.onStart(async () => {
    if (!(await store.ready(READY_WAIT_MS))) {
      log.warn({ reason: store.unavailableReason() }, 'revocation store not ready; listening anyway and refusing tokens until it is');
    } else if (backend.durability) {
      const settings = await backend.durability();
      for (const warning of durabilityWarnings(settings)) log.warn({ redis: settings }, warning);
    }
  });
  host.own(async () => {
    enforcer.close();
    await store.close();
  });

  return {
    store,
    enforcer,
    origin,
    feed,
    async revoke(target, options) {
      const revocation = await store.revoke(target, options);
      enforcer.apply(revocation);
      return revocation;
    },
    // Within the stock client's default ackTimeout (10 s) however large the tolerance.
    waitPastUserRevocation: (sub) => waitPastUserRevocation(store, clock, sub, Math.min(config.clockToleranceMs + 2000, 8000)),
  };
}
