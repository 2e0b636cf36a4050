import { KICK_MESSAGES, type KickReason } from '../shared/protocol';
import { rebuildError } from './errors';

/** A channel subscription: iterate it for the messages; `unsubscribe()` ends the iteration. */
export interface Subscription<T = unknown> extends AsyncIterable<T> {
  readonly channel: string;
  /**
   * Resolves once the gateway has accepted the subscription; rejects with its refusal (`SubscribeForbiddenError`,
   * `SubscribeUnavailableError`), which the iteration also throws.
   */
  readonly ready: Promise<void>;
  /**
   * Resolves when the subscription ends: undefined after `unsubscribe()`, or the reason it was ended for you (the
   * refusal, or a `SubscribeForbiddenError` when the gateway kicked it out: its `reason` is `grants-changed` when your
   * backend changed the user's grants, `authentication-changed` after a logout, an expiry or a token with fewer
   * channels). A kick-out ends the iteration quietly.
   */
  readonly ended: Promise<Error | undefined>;
  unsubscribe(): void;
}

/** One reader of a channel's messages (writable-consumable-stream's consumer). */
interface ScConsumer {
  next(): Promise<IteratorResult<unknown>>;
  /** Ends this reader alone: a pending `next()` resolves done. */
  kill(): void;
  return(): unknown;
}

/** The part of socketcluster-client's channel this wrapper uses. */
export interface ScChannel {
  /** `subscribed` when the gateway already accepted it (another holder of the channel on this client subscribed). */
  readonly state: string;
  listener(event: string): { createConsumer(): ScConsumer };
  createConsumer(): ScConsumer;
  unsubscribe(): void;
  close(): void;
}

/**
 * Wraps one holder's use of a socketcluster-client channel. Every `subscribe()` of one name on a client shares that
 * channel, so a holder that lets go ends only its own readers; `release()` says whether it was the last holder, and
 * only the last one unsubscribes the channel from the gateway.
 */
export function wrapChannel<T>(name: string, channel: ScChannel, release: () => boolean = () => true): Subscription<T> {
  let failure: Error | undefined;
  /** Why the gateway refused the subscription, once it has. */
  let refusal: Error | undefined;
  let done = false;
  const readers = new Set<ScConsumer>();
  let settle!: (err: Error | undefined) => void;
  const ended = new Promise<Error | undefined>((resolve) => {
    settle = resolve;
  });
  const end = (err: Error | undefined) => {
    failure ??= err;
    settle(failure);
    if (done) return;
    done = true;
    if (release()) {
      channel.unsubscribe();
      channel.close();
    }
    for (const reader of readers) reader.kill();
  };
  /**
   * The channel's first `event`. Read through a reader of this holder's own, which end() kills, so a holder that
   * lets go while others keep the channel leaves no listener behind; an ended reader never settles, as `once()`.
   */
  const first = async (event: string): Promise<Record<string, unknown>> => {
    const reader = channel.listener(event).createConsumer();
    readers.add(reader);
    const next = await reader.next();
    readers.delete(reader);
    reader.return();
    return next.done ? new Promise<never>(() => undefined) : (next.value as Record<string, unknown>);
  };
  // Already accepted (another holder of the channel on this client): no subscribe event comes again.
  const accepted = channel.state === 'subscribed' ? Promise.resolve() : first('subscribe').then(() => undefined);
  const ready = Promise.race([
    accepted,
    first('subscribeFail').then(({ error }) => {
      const err = rebuildError(error);
      // What end() keeps: the first reason the subscription ended.
      refusal = failure ?? err;
      end(err);
      throw refusal;
    }),
  ]);
  ready.catch(() => undefined);
  void first('kickOut').then(({ message }) => {
    end(rebuildError({ name: 'SubscribeForbiddenError', message: `Kicked out of ${name}: ${String(message)}`, channel: name, reason: kickReason(message) }));
  });
  return {
    channel: name,
    ready,
    ended,
    unsubscribe: () => end(undefined),
    async *[Symbol.asyncIterator]() {
      // A stream closed before its consumer exists would never end: an ended subscription yields nothing.
      if (!done) {
        const reader = channel.createConsumer();
        readers.add(reader);
        try {
          for (let next = await reader.next(); !next.done; next = await reader.next()) yield next.value as T;
        } finally {
          readers.delete(reader);
          reader.return();
        }
      }
      if (refusal) throw refusal;
    },
  };
}

/** The named reason of a kick-out, from the message the gateway sent with it. */
export function kickReason(message: unknown): KickReason {
  return message === KICK_MESSAGES['grants-changed'] ? 'grants-changed' : 'authentication-changed';
}
