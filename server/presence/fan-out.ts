import type { PresenceChanges, PresenceEvent } from '../../shared';
import type { PresenceBatch } from './presence-index';

/** How long a batch that arrived ahead of a missing one waits for it, ms, before it goes out anyway (watchers resync). */
export const GAP_WAIT_MS = 200;
/** Occupancy events go out at most this often per channel, ms. */
export const OCCUPANCY_INTERVAL_MS = 1000;

/** Where batches go on this node. */
export interface FanOutTargets<S> {
  /** The sockets holding the channel on this node; undefined when none does. */
  socketsOf(channel: string): Iterable<S> | undefined;
  /** Whether a socket may see the channel's members now (the `presence` capability, checked at each event). */
  canWatch(socket: S, channel: string): boolean;
  send(socket: S, event: PresenceEvent): void;
}

interface ChannelOrder {
  last?: number;
  readonly early: Map<number, PresenceBatch>;
  gapTimer?: NodeJS.Timeout;
  /** Occupancy mode: when the last count went out, and the count waiting for its turn. */
  occupancy?: { sentAt: number; waiting?: PresenceBatch; timer?: NodeJS.Timeout };
}

/**
 * PresenceFanOut hands each channel's batches to the node's watchers in `seq` order, whichever node made them and
 * however the transport ordered them: a batch ahead of a missing one waits GAP_WAIT_MS for it, then goes out anyway
 * (the watcher sees the gap and re-reads the list). Past `maxMembers` a channel is in occupancy mode: watchers get
 * `{channel, seq, count}`, at most once per OCCUPANCY_INTERVAL_MS, the latest count each time.
 */
export class PresenceFanOut<S> {
  private readonly order = new Map<string, ChannelOrder>();

  constructor(
    private readonly targets: FanOutTargets<S>,
    private readonly maxMembers: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  deliver(batch: PresenceBatch): void {
    if (!this.targets.socketsOf(batch.channel)) {
      this.forget(batch.channel);
      return;
    }
    let state = this.order.get(batch.channel);
    if (!state) {
      state = { early: new Map() };
      this.order.set(batch.channel, state);
    }
    if (batch.reset) {
      state.early.clear();
      this.emit(state, batch);
      return;
    }
    if (state.last !== undefined && batch.seq <= state.last) return;
    if (state.last !== undefined && batch.seq > state.last + 1) {
      state.early.set(batch.seq, batch);
      if (!state.gapTimer) {
        const waiting = state;
        waiting.gapTimer = setTimeout(() => this.skipGap(batch.channel, waiting), GAP_WAIT_MS);
        waiting.gapTimer.unref();
      }
      return;
    }
    this.emit(state, batch);
    this.drain(batch.channel, state);
  }

  /** Forgets a channel this node no longer holds any socket in. */
  forget(channel: string): void {
    const state = this.order.get(channel);
    if (!state) return;
    clearTimeout(state.gapTimer);
    clearTimeout(state.occupancy?.timer);
    this.order.delete(channel);
  }

  close(): void {
    for (const channel of [...this.order.keys()]) this.forget(channel);
  }

  private skipGap(channel: string, state: ChannelOrder): void {
    state.gapTimer = undefined;
    if (this.order.get(channel) !== state || state.early.size === 0) return;
    const first = Math.min(...state.early.keys());
    const batch = state.early.get(first)!;
    state.early.delete(first);
    this.emit(state, batch);
    this.drain(channel, state);
  }

  private drain(channel: string, state: ChannelOrder): void {
    for (let next = state.early.get(state.last! + 1); next; next = state.early.get(state.last! + 1)) {
      state.early.delete(next.seq);
      this.emit(state, next);
    }
    if (state.early.size > 0 && !state.gapTimer) {
      state.gapTimer = setTimeout(() => this.skipGap(channel, state), GAP_WAIT_MS);
      state.gapTimer.unref();
    }
  }

  private emit(state: ChannelOrder, batch: PresenceBatch): void {
    state.last = batch.seq;
    if (batch.count > this.maxMembers) {
      this.occupancy(state, batch);
      return;
    }
    if (state.occupancy) {
      clearTimeout(state.occupancy.timer);
      state.occupancy = undefined;
    }
    const event: PresenceChanges = { channel: batch.channel, seq: batch.seq, joins: batch.joins, leaves: batch.leaves, updates: batch.updates };
    this.send(batch.channel, event);
  }

  private occupancy(state: ChannelOrder, batch: PresenceBatch): void {
    const now = this.now();
    const occupancy = (state.occupancy ??= { sentAt: -Infinity });
    occupancy.waiting = batch;
    if (occupancy.timer) return;
    const due = occupancy.sentAt + OCCUPANCY_INTERVAL_MS - now;
    const sendCount = () => {
      occupancy.timer = undefined;
      const waiting = occupancy.waiting;
      if (!waiting || state.occupancy !== occupancy) return;
      occupancy.waiting = undefined;
      occupancy.sentAt = this.now();
      this.send(waiting.channel, { channel: waiting.channel, seq: waiting.seq, count: waiting.count });
    };
    if (due <= 0) sendCount();
    else {
      occupancy.timer = setTimeout(sendCount, due);
      occupancy.timer.unref();
    }
  }

  private send(channel: string, event: PresenceEvent): void {
    const sockets = this.targets.socketsOf(channel);
    if (!sockets) return;
    for (const socket of sockets) if (this.targets.canWatch(socket, channel)) this.targets.send(socket, event);
  }
}
