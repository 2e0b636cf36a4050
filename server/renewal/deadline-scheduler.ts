import type { Clock } from '../clock';

/**
 * DeadlineScheduler runs a callback for each key when its deadline comes, with one timer for the whole node: keys are
 * grouped into buckets of `resolutionMs` and the single timer is armed for the earliest bucket. Scheduling a key
 * again moves it; cancelling drops every reference to it. Cost per operation is O(1) plus one timer re-arm when
 * the earliest bucket changes, so 100,000 sockets cost 100,000 map entries, not 100,000 timers.
 */
export class DeadlineScheduler<K> {
  private readonly buckets = new Map<number, Set<K>>();
  private readonly bucketOf = new Map<K, number>();
  private timer?: NodeJS.Timeout;
  private armedFor?: number;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (key: K) => void,
    private readonly resolutionMs = 100,
  ) {}

  /** Number of keys waiting. */
  get size(): number {
    return this.bucketOf.size;
  }

  has(key: K): boolean {
    return this.bucketOf.has(key);
  }

  /** Runs `onDue(key)` at or shortly after `atMs` (never before), replacing any earlier schedule of the key. */
  schedule(key: K, atMs: number): void {
    if (this.closed) return;
    this.cancel(key);
    // Round up so a deadline never fires early.
    const bucket = Math.ceil(atMs / this.resolutionMs) * this.resolutionMs;
    let set = this.buckets.get(bucket);
    if (!set) {
      set = new Set();
      this.buckets.set(bucket, set);
    }
    set.add(key);
    this.bucketOf.set(key, bucket);
    if (this.armedFor === undefined || bucket < this.armedFor) this.arm(bucket);
  }

  cancel(key: K): void {
    const bucket = this.bucketOf.get(key);
    if (bucket === undefined) return;
    this.bucketOf.delete(key);
    const set = this.buckets.get(bucket)!;
    set.delete(key);
    if (set.size === 0) this.buckets.delete(bucket);
    // The timer stays armed for an emptied bucket: it finds nothing and re-arms; cheaper than searching now.
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = undefined;
    this.buckets.clear();
    this.bucketOf.clear();
  }

  private arm(bucket: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = bucket;
    this.timer = setTimeout(() => this.fire(), Math.max(0, bucket - this.clock.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = undefined;
    const now = this.clock.now();
    const due = [...this.buckets.keys()].filter((b) => b <= now).sort((a, b) => a - b);
    for (const bucket of due) {
      const keys = this.buckets.get(bucket)!;
      this.buckets.delete(bucket);
      for (const key of keys) {
        this.bucketOf.delete(key);
        this.onDue(key);
      }
    }
    if (this.closed) return;
    let next: number | undefined;
    for (const bucket of this.buckets.keys()) if (next === undefined || bucket < next) next = bucket;
    if (next !== undefined && (this.armedFor === undefined || next < this.armedFor)) this.arm(next);
  }
}
