import { LoginUnavailableError } from '../../shared';

/**
 * LoginQueueFullError is what a full login queue answers: the client sees LoginUnavailableError, but the limiter
 * charges the address a failure point for it (not the username), since filling the queue is what a flood does.
 */
export class LoginQueueFullError extends LoginUnavailableError {
  constructor() {
    super('Too many logins at once; retry shortly');
  }
}

/**
 * ConcurrencyGate runs at most `maxActive` tasks at once and lets at most `maxWaiting` more wait their turn; beyond
 * that `run` rejects with the error `refuse()` makes, at once. It bounds what a flood of logins can take: scrypt at
 * the default parameters holds 128 MiB and a libuv thread per hash.
 *
 * Waiters queue per key (the client address) and are served round-robin across keys, so one address with many
 * attempts waits behind its own, not in front of everyone else. When the waiting room is full, a key with fewer
 * waiters than the busiest key takes the busiest key's newest place (that waiter is refused instead): neither one
 * address nor many addresses with one attempt each can hold the room against a newcomer.
 */
export class ConcurrencyGate {
  private active = 0;
  private waitingCount = 0;
  /** Waiters by key; Map order is the round-robin order (a served key with more waiting moves to the back). */
  private readonly queues = new Map<string, Waiter[]>();

  constructor(
    private readonly maxActive: number,
    private readonly maxWaiting: number,
    private readonly refuse: () => Error,
  ) {}

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxActive) {
      await new Promise<void>((resolve, reject) => this.enqueue(key, { resolve, reject }));
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, so `active` never dips and lets a newcomer jump the queue.
      const next = this.dequeue();
      if (next) next.resolve();
      else this.active--;
    }
  }

  /** Tasks running now and tasks waiting, for tests and metrics. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waitingCount };
  }

  private enqueue(key: string, waiter: Waiter): void {
    const own = this.queues.get(key);
    if (this.waitingCount >= this.maxWaiting) {
      const busiest = this.busiestQueue();
      if (!busiest || busiest.length <= (own?.length ?? 0)) return waiter.reject(this.refuse());
      busiest.pop()!.reject(this.refuse());
      this.waitingCount--;
      if (busiest.length === 0) this.deleteQueue(busiest);
    }
    if (own) own.push(waiter);
    else this.queues.set(key, [waiter]);
    this.waitingCount++;
  }

  private dequeue(): Waiter | undefined {
    for (const [key, queue] of this.queues) {
      const next = queue.shift()!;
      this.queues.delete(key);
      if (queue.length > 0) this.queues.set(key, queue);
      this.waitingCount--;
      return next;
    }
    return undefined;
  }

  /** The longest queue; among equals the one queued last, which has waited least and is served last. */
  private busiestQueue(): Waiter[] | undefined {
    let busiest: Waiter[] | undefined;
    for (const queue of this.queues.values()) if (!busiest || queue.length >= busiest.length) busiest = queue;
    return busiest;
  }

  private deleteQueue(queue: Waiter[]): void {
    for (const [key, q] of this.queues) if (q === queue) this.queues.delete(key);
  }
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}
