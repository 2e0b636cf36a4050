import type { AGClientSocket } from 'socketcluster-client';
import WebSocket from 'ws';
import type { Gateway } from '../../server/gateway';
import type { ServerSocket } from '../../server/sc/facade';
import { waitFor } from './gateway';
import { textOf } from './raw-socket';

interface OnceStream<T> {
  once(timeout?: number): Promise<T>;
}
type Listening = { listener(name: string): OnceStream<unknown> };

/** Subscribes and resolves 'subscribed' or the name of the error the subscribe failed with. */
export async function subscribeOutcome(client: AGClientSocket, channel: string, ms = 2000): Promise<string> {
  const ch = client.subscribe(channel) as unknown as Listening;
  const ok = ch
    .listener('subscribe')
    .once(ms)
    .then(() => 'subscribed');
  const fail = ch
    .listener('subscribeFail')
    .once(ms)
    .then((e) => (e as { error: Error }).error.name);
  return Promise.race([ok, fail]);
}

/** Publishes with an ack; resolves 'published' or the error name it was refused with. */
export async function publishOutcome(client: AGClientSocket, channel: string, data: unknown): Promise<string> {
  try {
    await client.invokePublish(channel, data);
    return 'published';
  } catch (err) {
    return (err as Error).name;
  }
}

/** The error a publish was refused with (with its own fields, such as retryAfter), or undefined. */
export async function publishError(client: AGClientSocket, channel: string, data: unknown): Promise<(Error & Record<string, unknown>) | undefined> {
  try {
    await client.invokePublish(channel, data);
    return undefined;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
}

/** The messages a subscribed client channel receives, collected as they arrive. */
export function collect(client: AGClientSocket, channel: string): unknown[] {
  const seen: unknown[] = [];
  const ch = client.channel(channel);
  void (async () => {
    for await (const data of ch) seen.push(data);
  })();
  return seen;
}

/** Every message published on a channel through the broker, seen by a server-side exchange subscriber. */
export function exchangeCollect(gateway: Gateway, channel: string): { seen: unknown[]; stop: () => void } {
  const seen: unknown[] = [];
  const ch = gateway.agServer.exchange.subscribe(channel);
  void (async () => {
    for await (const data of ch) seen.push(data);
  })();
  return {
    seen,
    stop: () => {
      ch.kill();
      ch.unsubscribe();
    },
  };
}

/**
 * Publishes `marker` from the server on `channel` and waits until `seen` holds it. Publishes reach a subscriber in
 * order, so whatever a refused publish would have delivered would be in `seen` before the marker.
 */
export async function publishMarker(gateway: Gateway, channel: string, seen: unknown[], marker: unknown = `marker-${Math.random()}`): Promise<void> {
  await gateway.agServer.exchange.invokePublish(channel, marker);
  await waitFor(() => seen.includes(marker), 2000, `the marker on ${channel}`);
}

/** The server's socket for a connected client. */
export function serverSocketOf(gateway: Gateway, client: AGClientSocket): ServerSocket {
  const socket = client.id === null ? undefined : gateway.agServer.clients[client.id];
  if (!socket) throw new Error(`no server socket for client ${client.id}`);
  return socket;
}

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
    channel
      .listener('subscribe')
      .once(ms)
      .then(() => undefined),
    channel
      .listener('subscribeFail')
      .once(ms)
      .then((e) => (e as { error?: Error } | undefined)?.error ?? new Error('subscribeFail')),
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

/** What a RawSocket call is answered with: SocketCluster's response packet. */
export interface RawAnswer {
  readonly data?: unknown;
  readonly error?: { name: string; message?: string };
}

/** A bare WebSocket speaking SocketCluster's protocol, after its handshake. */
export interface RawSocket {
  /** The socket's id, as the server's `clients` map keys it. */
  readonly id: string;
  /** Sends an event with a cid and resolves the answer (fails after 2 s). */
  call(event: string, data: unknown): Promise<RawAnswer>;
  /** Sends an event without a cid (no answer). */
  send(event: string, data: unknown): void;
  /** Stops reading from the TCP connection (a client that does not consume), or starts again. */
  pauseReading(): void;
  resumeReading(): void;
  /** Resolves the close code once the connection is closed. */
  readonly closed: Promise<number>;
  /** Sends packets (without cids) in one frame: SocketCluster runs a JSON array's packets one after another. */
  sendBatch(packets: readonly { event: string; data?: unknown }[]): void;
  close(): void;
}

/**
 * Opens a bare WebSocket to a gateway and completes the handshake with `token`: for frames and names the stock client
 * would refuse to send or could not itself hold (a channel named `__proto__`). Close it in the test's teardown.
 */
export async function rawSocket(gateway: Gateway, token: string | null): Promise<RawSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${gateway.address().port}${gateway.agServer.getPath()}`);
  const pending = new Map<number, (answer: RawAnswer) => void>();
  let cid = 0;
  ws.on('message', (message) => {
    const text = textOf(message);
    if (text === '#1') return void ws.send('#2');
    // SocketCluster v20's ping is an empty message; its pong is one too.
    if (text === '') return void ws.send('');
    const parsed = JSON.parse(text) as (RawAnswer & { rid?: number }) | (RawAnswer & { rid?: number })[];
    for (const packet of Array.isArray(parsed) ? parsed : [parsed]) {
      if (packet.rid !== undefined) pending.get(packet.rid)?.(packet);
    }
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.on('error', () => undefined);
  const tcp = () => (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  const call = (event: string, data: unknown) =>
    new Promise<RawAnswer>((resolve, reject) => {
      const id = ++cid;
      const timer = setTimeout(() => reject(new Error(`${event} not answered within 2 s`)), 2000);
      pending.set(id, (answer) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(answer);
      });
      ws.send(JSON.stringify({ event, data, cid: id }));
    });
  const handshake = await call('#handshake', { authToken: token });
  return {
    id: (handshake.data as { id: string }).id,
    call,
    send: (event, data) => ws.send(JSON.stringify({ event, data })),
    pauseReading: () => tcp().pause(),
    resumeReading: () => tcp().resume(),
    closed,
    sendBatch: (packets) => ws.send(JSON.stringify(packets)),
    close: () => ws.terminate(),
  };
}
