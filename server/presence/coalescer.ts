import type { EntryChange, ChannelReport } from './presence-index';
import type { LocalSink } from './local-members';

/** Shortest gap between two writes of one channel by one node, ms: at most 10 batches a second per channel and node. */
export const COALESCE_WINDOW_MS = 100;
/** How long the first change of a quiet channel waits for others made in the same burst, ms. */
export const LEADING_DELAY_MS = 2;

interface Pending {
  readonly changes: Map<string, EntryChange>;
  anonymous?: number;
  timer?: NodeJS.Timeout;
}

/**
 * Coalescer gathers a node's presence changes per channel and writes them as one report at most once per
 * COALESCE_WINDOW_MS: a change to a channel written to longer ago than that goes out at once (after
 * LEADING_DELAY_MS, which gathers a burst), later ones wait for the window's end. A user's later state replaces its
 * earlier one, so a thousand joins in a window cost one write and make one batch. Reports of one channel are written one at a time, in order. A failed write (Redis
 * away) is handed to `onFailure`, which re-asserts the channel later.
 */
export class Coalescer implements LocalSink {
  private readonly pending = new Map<string, Pending>();
  private readonly writing = new Map<string, Promise<void>>();
  /** When each channel was last written (performance.now()); entries older than a window are dropped. */
  private readonly lastWrite = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly write: (channel: string, report: ChannelReport) => Promise<void>,
    private readonly onFailure: (channel: string, err: unknown) => void,
    private readonly windowMs = COALESCE_WINDOW_MS,
  ) {}

  change(channel: string, change: EntryChange): void {
    this.entry(channel).changes.set(change.sub, change);
  }

  anonymous(channel: string, count: number): void {
    this.entry(channel).anonymous = count;
  }

  /** Writes everything pending now and waits for every write in flight. */
  async flush(): Promise<void> {
    for (const channel of [...this.pending.keys()]) this.flushChannel(channel);
    await Promise.all([...this.writing.values()]);
  }

  /** Runs `task` after the channel's writes in flight, in their queue (a re-assertion must not overtake a report). */
  after(channel: string, task: () => Promise<void>): Promise<void> {
    return this.enqueue(channel, task);
  }

  /** Stops the timers; pending changes are dropped unless `flush` ran first. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.lastWrite.clear();
  }

  private entry(channel: string): Pending {
    let p = this.pending.get(channel);
    if (!p) {
      p = { changes: new Map() };
      this.pending.set(channel, p);
    }
    if (!p.timer && !this.closed) {
      const last = this.lastWrite.get(channel);
      const now = performance.now();
      if (last !== undefined && now - last >= this.windowMs) this.lastWrite.delete(channel);
      const wait = last === undefined || now - last >= this.windowMs ? LEADING_DELAY_MS : last + this.windowMs - now;
      p.timer = setTimeout(() => this.flushChannel(channel), wait);
      p.timer.unref();
    }
    return p;
  }

  private flushChannel(channel: string): void {
    const p = this.pending.get(channel);
    if (!p) return;
    this.pending.delete(channel);
    clearTimeout(p.timer);
    const now = performance.now();
    this.lastWrite.set(channel, now);
    // Quiet channels' entries go once they hold many (each is dropped anyway when its channel changes again).
    if (this.lastWrite.size > 1024) for (const [name, at] of this.lastWrite) if (now - at >= this.windowMs) this.lastWrite.delete(name);
    const report: ChannelReport = { changes: [...p.changes.values()], ...(p.anonymous === undefined ? {} : { anonymous: p.anonymous }) };
    void this.enqueue(channel, () => this.write(channel, report));
  }

  private enqueue(channel: string, task: () => Promise<void>): Promise<void> {
    const previous = this.writing.get(channel) ?? Promise.resolve();
    const next: Promise<void> = previous
      .then(task)
      .catch((err: unknown) => this.onFailure(channel, err))
      .finally(() => {
        if (this.writing.get(channel) === next) this.writing.delete(channel);
      });
    this.writing.set(channel, next);
    return next;
  }
}
