/** A token bucket's state: tokens left and when it was last refilled (ms). */
interface Bucket {
  tokens: number;
  at: number;
}

/**
 * PublishLimiter is a token bucket per socket: `ratePerSecond` tokens refill each second up to `burst`, and each
 * publish takes one. State lives in a WeakMap keyed by the socket, so a closed socket's bucket goes with it.
 */
export class PublishLimiter {
  private readonly buckets = new WeakMap<object, Bucket>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes a token at `nowMs`; returns undefined when allowed, else the seconds until one is available. */
  take(socket: object, nowMs: number): number | undefined {
    let bucket = this.buckets.get(socket);
    if (!bucket) {
      bucket = { tokens: this.burst, at: nowMs };
      this.buckets.set(socket, bucket);
    } else if (nowMs > bucket.at) {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((nowMs - bucket.at) / 1000) * this.ratePerSecond);
      bucket.at = nowMs;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return (1 - bucket.tokens) / this.ratePerSecond;
  }
}
