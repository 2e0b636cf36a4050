/**
 * The reconnect schedule of the bench's simulated clients: the browser client's own policy (client/close-policy.ts,
 * `reconnectDelay`, called with an attempt count that starts again once a connection stayed up `STABLE_MS`, as
 * client/client.ts does), so a reconnect storm in the bench arrives at the gateway as real clients' would.
 */
import { reconnectDelay } from '../../client/close-policy';

/** How long a connection must stay up before the backoff starts again from its first step, ms (client.ts's STABLE_MS). */
export const STABLE_MS = 10_000;

/** One simulated client's backoff: the delay before each reconnect attempt after a close or a failed connect. */
export class ReconnectSchedule {
  private attempt = 0;
  private upSince?: number;

  constructor(private readonly random: () => number = Math.random) {}

  /** The connection is up and authenticated at `nowMs`. */
  connected(nowMs: number): void {
    this.upSince = nowMs;
  }

  /** The delay before the next attempt after a close with `code` (1006 for a connect that failed) at `nowMs`. */
  next(code: number, nowMs: number): number {
    // The client resets its count from a timer STABLE_MS after the connect; a close checks the same span.
    if (this.upSince !== undefined && nowMs - this.upSince >= STABLE_MS) this.attempt = 0;
    this.upSince = undefined;
    return reconnectDelay(code, this.attempt++, this.random);
  }
}
