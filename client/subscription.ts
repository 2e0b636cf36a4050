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
   * refusal, or a `SubscribeForbiddenError` when a logout or a token with fewer channels kicked it out). A kick-out
   * ends the iteration quietly.
   */
  readonly ended: Promise<Error | undefined>;
  unsubscribe(): void;
}

/** The part of socketcluster-client's channel this wrapper uses. */
export interface ScChannel extends AsyncIterable<unknown> {
  listener(event: string): { once(): Promise<Record<string, unknown>> };
  unsubscribe(): void;
  close(): void;
}

export function wrapChannel<T>(name: string, channel: ScChannel): Subscription<T> {
  let failure: Error | undefined;
  let refused = false;
  let done = false;
  let settle!: (err: Error | undefined) => void;
  const ended = new Promise<Error | undefined>((resolve) => { settle = resolve; });
  const end = (err: Error | undefined) => {
    done = true;
    failure ??= err;
    settle(failure);
    channel.unsubscribe();
    channel.close();
  };
  const ready = Promise.race([
    channel.listener('subscribe').once().then(() => undefined),
    channel.listener('subscribeFail').once().then(({ error }) => {
      refused = true;
      end(rebuildError(error));
      throw failure;
    }),
  ]);
  ready.catch(() => undefined);
  void channel.listener('kickOut').once().then(({ message }) => {
    end(rebuildError({ name: 'SubscribeForbiddenError', message: `Kicked out of ${name}: ${String(message)}` }));
  });
  return {
    channel: name,
    ready,
    ended,
    unsubscribe: () => end(undefined),
    async *[Symbol.asyncIterator]() {
      // A stream closed before its consumer exists would never end: an ended subscription yields nothing.
      if (!done) for await (const data of channel) yield data as T;
      if (refused) throw failure;
    },
  };
}
