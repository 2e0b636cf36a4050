import type { GatehouseClaims } from '../../shared';
import type { Clock } from '../clock';
import type { RevocationStore } from './store';

/** Pause between looks while a fresh token would still be covered, ms. */
const STEP_MS = 250;

/**
 * Waits until a token issued now for `sub` would no longer be covered by a user revocation, so a login right after
 * "logout everywhere" gets a token that stays valid instead of one closed at once. A user revocation covers tokens
 * issued up to its second plus the clock tolerance (subRevocationCovers), so the wait is at most about the tolerance
 * plus a second; `maxWaitMs` bounds it regardless. A store that cannot answer ends the wait: the token is then
 * checked like any other (and closed if it turns out covered).
 */
export async function waitPastUserRevocation(store: RevocationStore, clock: Clock, sub: string, maxWaitMs: number): Promise<void> {
  const deadline = clock.now() + maxWaitMs;
  for (;;) {
    const nowSec = Math.floor(clock.now() / 1000);
    // Only the sub key is looked up: the probe has neither jti nor sid.
    const probe: GatehouseClaims = { sub, iat: nowSec, exp: nowSec + 60 };
    let covered: boolean;
    try {
      covered = await store.check(probe);
    } catch {
      return;
    }
    if (!covered || clock.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, STEP_MS));
  }
}
