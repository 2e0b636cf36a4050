/**
 * ReasonCounter counts events by a fixed set of reasons since start-up, for the metrics endpoint: a refusal costs a
 * counter increment instead of a log line, so a flood of them stays cheap.
 */
export class ReasonCounter<R extends string> {
  private readonly counts: Map<R, number>;

  constructor(reasons: readonly R[]) {
    this.counts = new Map(reasons.map((r) => [r, 0]));
  }

  count(reason: R): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
  }

  get(reason: R): number {
    return this.counts.get(reason) ?? 0;
  }

  /** Every reason with its count, zeros included. */
  snapshot(): Record<R, number> {
    return Object.fromEntries(this.counts) as Record<R, number>;
  }
}
