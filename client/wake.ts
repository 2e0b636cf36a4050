/** How often the wake watch looks at the clock, and how far past that a tick must come to count as a wake. */
export const WAKE_TICK_MS = 2000;
export const WAKE_GAP_MS = 10_000;

/**
 * Calls `onWake` when the machine seems to have slept: a repeating timer whose tick comes much later by the wall clock
 * than it was due. Browsers fire no event on wake, and a timer set before the sleep (the refresh timer) fires late, after
 * the token it was to renew has lapsed. A clock change or a throttled background tab looks the same; `onWake` only
 * re-checks, so a false alarm costs nothing. Returns the function that stops the watch.
 */
export function watchWake(onWake: () => void, now: () => number = Date.now): () => void {
  let last = now();
  const timer = setInterval(() => {
    const at = now();
    const late = at - last > WAKE_TICK_MS + WAKE_GAP_MS;
    last = at;
    if (late) onWake();
  }, WAKE_TICK_MS);
  // In Node the watch must not keep the process alive.
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
