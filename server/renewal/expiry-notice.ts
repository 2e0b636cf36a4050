import { ServerEvent } from '../../shared';
import type { AuthWatch } from '../auth/auth-watch';
import { tokenExpiry } from '../auth/token-expiry';
import type { Clock } from '../clock';
import { isOpen, transmit } from '../sc/facade';

/**
 * Tells each socket how long its token has left whenever it is set or renewed (`gatehouse:tokenExpiry`), so a client
 * whose clock is wrong still schedules its refresh correctly: it counts from `expiresIn`, not from `exp`.
 */
export function installExpiryNotice(watch: AuthWatch, clock: Clock): void {
  watch.subscribe((change) => {
    if (change.kind !== 'authenticated' && change.kind !== 'renewed') return;
    if (isOpen(change.socket)) transmit(change.socket, ServerEvent.TokenExpiry, tokenExpiry(change.claims, clock.now()));
  });
}
