/**
 * InFlightCap counts what is under way per key (here: login attempts per client address) and refuses a key more than
 * `max` at once. It lives in one node's memory: it bounds what one address holds of this node's hashing or backend
 * slots, which is a per-node resource.
 */
export class InFlightCap {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Takes a place for `key`; false when it already has `max`. Give it back with `release(key)`. */
  tryTake(key: string): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= this.max) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = this.counts.get(key) ?? 0;
    if (n <= 1) this.counts.delete(key);
    else this.counts.set(key, n - 1);
  }
}
