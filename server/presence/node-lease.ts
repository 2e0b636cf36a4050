import { randomBytes } from 'node:crypto';
import type { Logger } from '../log';
import type { PresenceBatch, PresenceIndex, PresenceNodeBoard } from './presence-index';

/** How long a node's lease lasts without renewal, ms: past it the node counts as dead and is reaped. */
export const LEASE_TTL_MS = 6000;
/** How often a node renews its lease and, when it can take the lock, looks for dead nodes, ms. */
export const LEASE_TICK_MS = 1000;
/** How long one reaper holds the lock at most, ms. */
const REAP_LOCK_MS = 5000;

/** A fresh epoch: a node takes one at each start and each time it finds its lease lapsed. */
export function newEpoch(): string {
  return randomBytes(8).toString('hex');
}

/** What the lease asks of the node when its epoch changes. */
export interface LeaseOwner {
  /** The node re-registered under `epoch`: write its members again, quietly, under it. */
  reassert(epoch: string): Promise<void>;
  /** A tick with the lease held: the node retries the reports that failed. */
  retry(): Promise<void>;
  publish(batch: PresenceBatch): void;
  /** A gone node's epoch was reaped. */
  reaped(): void;
}

/**
 * NodeLease keeps this node's lease on the board and reaps the dead. Every tick it renews; a lapsed lease (this
 * node stalled past it, or Redis lost it in a restart) makes it register a new epoch and re-assert its members
 * quietly, so the others' reap of its old entries makes no leave for anyone still here. Only with its own lease
 * freshly renewed does it reap: a node that was slow itself never declares the others dead. One node reaps at a time
 * (the lock); every entry of a dead epoch leaves as `node-lost`, or `disconnected` after a graceful end.
 */
export class NodeLease {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly noted = new Set<string>();
  private closed = false;

  constructor(
    private current: string,
    private readonly board: PresenceNodeBoard,
    private readonly index: PresenceIndex,
    private readonly owner: LeaseOwner,
    private readonly log: Logger,
  ) {}

  get epoch(): string {
    return this.current;
  }

  /** Registers the lease; while Redis is away the first ticks keep trying (a lapsed lease re-registers). */
  async start(): Promise<void> {
    try {
      await this.board.register(this.current, LEASE_TTL_MS);
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'presence lease not registered yet; retrying');
    }
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => {
        this.running = undefined;
      });
    }, LEASE_TICK_MS);
    this.timer.unref();
  }

  /** Records, once per epoch, that this node writes entries in `channel`. */
  async noteChannel(channel: string): Promise<void> {
    const key = `${this.current}\n${channel}`;
    if (this.noted.has(key)) return;
    await this.board.noteChannel(this.current, channel);
    this.noted.add(key);
  }

  /** This node no longer holds entries in `channel`: a reap of its epoch need not visit it. */
  async forgetChannel(channel: string): Promise<void> {
    const key = `${this.current}\n${channel}`;
    if (!this.noted.delete(key)) return;
    await this.board.unnoteChannel(this.current, channel);
  }

  private async tick(): Promise<void> {
    try {
      if (!(await this.board.renew(this.current, LEASE_TTL_MS))) {
        const previous = this.current;
        this.current = newEpoch();
        this.noted.clear();
        await this.board.register(this.current, LEASE_TTL_MS);
        this.log.warn({ previous, epoch: this.current }, 'presence lease had lapsed; re-registered under a new epoch');
        await this.owner.reassert(this.current);
        return;
      }
      await this.owner.retry();
      await this.reap();
    } catch (err) {
      this.log.debug({ reason: (err as Error).message }, 'presence lease tick failed');
    }
  }

  private async reap(): Promise<void> {
    if (this.closed || !(await this.board.lock(this.current, REAP_LOCK_MS))) return;
    try {
      for (const dead of await this.board.deadEpochs(this.current)) {
        for (const channel of dead.channels) {
          const batch = await this.index.reap(dead.epoch, channel, dead.reason);
          if (batch) this.owner.publish(batch);
        }
        await this.board.forget(dead.epoch);
        this.owner.reaped();
        this.log.info({ epoch: dead.epoch, reason: dead.reason, channels: dead.channels.length }, 'presence entries of a gone node reaped');
      }
    } finally {
      await this.board.unlock(this.current);
    }
  }

  /** Stops renewing; the lease lapses after `graceMs`, and the others then reap this node's remaining entries. */
  async close(graceMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
    try {
      await this.board.leave(this.current, graceMs);
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'presence lease not handed over; the others reap it when it lapses');
    }
  }
}
