/** Wall-clock time in milliseconds; injected so tests can freeze or move it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
