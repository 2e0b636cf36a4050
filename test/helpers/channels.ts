import type { AGClientSocket } from 'socketcluster-client';

/** What one client received on one channel. `stop()` ends the read loop. */
export interface Inbox {
  readonly channel: string;
  readonly messages: unknown[];
  /** Resolves once `count` messages arrived; throws after `ms`. */
  waitFor(count: number, ms?: number): Promise<void>;
  stop(): void;
}

/**
 * Subscribes a client and collects what arrives. Resolves once the server acknowledged the subscribe; rejects with
 * the error the client got if the subscribe failed (its `name` is what the test asserts), or after `ms`.
 */
export async function subscribe(client: AGClientSocket, channelName: string, ms = 3000): Promise<Inbox> {
  const channel = client.subscribe(channelName);
  const messages: unknown[] = [];
  void (async () => {
    for await (const data of channel) messages.push(data);
  })();
  const outcome = await Promise.race([
    channel.listener('subscribe').once(ms).then(() => undefined),
    channel.listener('subscribeFail').once(ms).then((e) => (e as { error?: Error } | undefined)?.error ?? new Error('subscribeFail')),
  ]).catch((err: Error) => err);
  channel.closeListener('subscribe');
  channel.closeListener('subscribeFail');
  const stop = () => channel.close();
  if (outcome) {
    stop();
    throw outcome;
  }
  return {
    channel: channelName,
    messages,
    stop,
    async waitFor(count, waitMs = 3000) {
      const deadline = Date.now() + waitMs;
      while (messages.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`${channelName}: ${messages.length} of ${count} messages within ${waitMs}ms: ${JSON.stringify(messages)}`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

/** Rejects with the error a client's subscribe failed with, or throws if it succeeded. */
export async function subscribeError(client: AGClientSocket, channelName: string, ms = 3000): Promise<Error> {
  try {
    const inbox = await subscribe(client, channelName, ms);
    inbox.stop();
  } catch (err) {
    return err as Error;
  }
  throw new Error(`subscribe to ${channelName} unexpectedly succeeded`);
}

/** Lets in-flight messages land, so a duplicate would be seen before the test counts. */
export function settle(ms = 200): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
