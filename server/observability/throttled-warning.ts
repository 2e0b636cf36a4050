/** Least time between two lines of one throttled warning, ms. */
export const WARN_EVERY_MS = 60_000;

/**
 * ThrottledWarning lets a warning about something a client can repeat at will reach the log at most once per
 * `everyMs` (default a minute), with how often it happened since the last line: a flood must not flood the log,
 * whose backlog, once full, drops lines that matter (logins, revocations). The exact totals are in the metrics.
 */
export class ThrottledWarning {
  private last = -Infinity;
  private unlogged = 0;

  constructor(private readonly everyMs = WARN_EVERY_MS) {}

  /** Counts one occurrence; when a line is due, returns how many it reports (this one and those not logged before). */
  due(): number | undefined {
    this.unlogged++;
    const now = performance.now();
    if (now - this.last < this.everyMs) return undefined;
    this.last = now;
    const count = this.unlogged;
    this.unlogged = 0;
    return count;
  }
}
