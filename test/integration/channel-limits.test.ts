import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { ErrorName } from '../../shared';
import { collect, publishError, publishMarker, publishOutcome, rawSocket, serverSocketOf, subscribeOutcome } from '../helpers/channels';
import { connectWithToken, mintHs256, nextEvent, sleep, waitFor } from '../helpers/gateway';
import { closeWithChannels, useScope } from '../helpers/scope';
import { textOf } from '../helpers/raw-socket';

const RATE = 1;
const BURST = 3;
const MAX_CHANNELS = 3;
const MAX_PAYLOAD = 16 * 1024;

let gw: Gateway;
let watcher: AGClientSocket;
// Everything here lives until the end of the file.
const suiteScope = useScope(test, 'suite');

/** A client authenticated as `sub` with every channel, kept for the whole file. */
async function member(sub = 'user'): Promise<AGClientSocket> {
  const { client, status } = await connectWithToken(gw, mintHs256({ sub, channels: ['*'] }), {}, undefined, (c) => {
    suiteScope.own(c, closeWithChannels, 'client');
  });
  assert.ok(status.isAuthenticated);
  return client;
}

test.before(async () => {
  gw = await suiteScope.gateway({
    GATEHOUSE_PUBLISH_RATE: String(RATE),
    GATEHOUSE_PUBLISH_BURST: String(BURST),
    GATEHOUSE_MAX_CHANNELS: String(MAX_CHANNELS),
    GATEHOUSE_MAX_PAYLOAD: String(MAX_PAYLOAD),
  });
  watcher = await member('watcher');
});

test('publishes over the burst are refused with RateLimitedError and retryAfter, and reach nobody', async () => {
  const client = await member();
  assert.is(await subscribeOutcome(watcher, 'rate'), 'subscribed');
  const seen = collect(watcher, 'rate');
  const started = Date.now();
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => publishError(client, 'rate', i)));
  const elapsedSec = (Date.now() - started) / 1000;
  const accepted = results.flatMap((err, i) => (err === undefined ? [i] : []));
  const refused = results.filter((err) => err !== undefined);
  // The bucket holds BURST; it refills RATE a second while the publishes are in flight.
  assert.ok(accepted.length >= BURST && accepted.length <= BURST + Math.ceil(elapsedSec * RATE), `accepted ${accepted.length}`);
  assert.ok(refused.length > 0);
  for (const err of refused) {
    assert.is(err.name, ErrorName.RateLimited);
    assert.ok(Number.isInteger(err.retryAfter) && (err.retryAfter as number) >= 1, `retryAfter ${String(err.retryAfter)}`);
  }
  await publishMarker(gw, 'rate', seen, 'marker');
  assert.equal(seen, [...accepted, 'marker'], 'only the accepted publishes were delivered');

  // retryAfter is honest: after waiting it, a publish goes through again.
  await sleep((refused[0].retryAfter as number) * 1000);
  assert.is(await publishOutcome(client, 'rate', 'later'), 'published');
  assert.ok(gw.channels.denials.get('publish_rate') >= refused.length);
  void watcher.unsubscribe('rate');
});

test('the rate is per socket: another socket is not limited by the first', async () => {
  const greedy = await member();
  const other = await member();
  await Promise.all(Array.from({ length: BURST + 2 }, (_, i) => publishOutcome(greedy, 'rate:per-socket', i)));
  assert.is(await publishOutcome(other, 'rate:per-socket', 'mine'), 'published');
});

test(`a socket may hold ${MAX_CHANNELS} channels; the next is refused with SubscribeForbiddenError`, async () => {
  const client = await member();
  const before = gw.channels.denials.get('channel_limit');
  for (const ch of ['c:1', 'c:2', 'c:3']) assert.is(await subscribeOutcome(client, ch), 'subscribed');
  assert.is(await subscribeOutcome(client, 'c:4'), ErrorName.SubscribeForbidden);
  assert.is(gw.channels.denials.get('channel_limit'), before + 1);
  assert.is(serverSocketOf(gw, client).isSubscribed('c:4'), false);

  // Subscribing again to a channel it holds is no new channel (the stock client never resends; ask by hand).
  await client.invoke('#subscribe', { channel: 'c:2' });
  assert.is(serverSocketOf(gw, client).channelSubscriptionsCount, MAX_CHANNELS);

  // Leaving one makes room.
  void client.unsubscribe('c:1');
  await waitFor(() => !serverSocketOf(gw, client).isSubscribed('c:1'), 2000, 'the unsubscribe');
  assert.is(await subscribeOutcome(client, 'c:4'), 'subscribed');
});

test('unsubscribing from channels it never held (names of Object.prototype members) gains a socket no room', async () => {
  const raw = await rawSocket(gw, mintHs256({ sub: 'sneaky', channels: ['*'] }));
  try {
    for (const name of ['constructor', 'toString', '__proto__', 'never-held']) {
      for (let i = 0; i < 3; i++) raw.send('#unsubscribe', name);
      assert.ok((await raw.call('#unsubscribe', name)).error, `unsubscribe ${name} is refused`);
    }
    const socket = gw.agServer.clients[raw.id];
    assert.is(socket.channelSubscriptionsCount ?? 0, 0);
    for (const ch of ['u:1', 'u:2', 'u:3']) assert.is((await raw.call('#subscribe', { channel: ch })).error, undefined, ch);
    assert.is((await raw.call('#subscribe', { channel: 'u:4' })).error?.name, ErrorName.SubscribeForbidden);
    assert.equal(socket.subscriptions().sort(), ['u:1', 'u:2', 'u:3']);
  } finally {
    raw.close();
  }
});

test('a frame over GATEHOUSE_MAX_PAYLOAD closes the connection with 1009, and its publish reaches nobody', async () => {
  const client = await member();
  assert.is(await subscribeOutcome(watcher, 'big'), 'subscribed');
  const seen = collect(watcher, 'big');
  assert.is(await publishOutcome(client, 'big', 'x'.repeat(MAX_PAYLOAD / 2)), 'published');
  const closed = nextEvent<{ code: number }>(client, 'close', 3000);
  void client.transmitPublish('big', 'x'.repeat(MAX_PAYLOAD * 2));
  assert.is((await closed).code, 1009);
  await publishMarker(gw, 'big', seen, 'marker');
  assert.equal(seen, ['x'.repeat(MAX_PAYLOAD / 2), 'marker']);
  void watcher.unsubscribe('big');
});

/** Resolves what `promise` resolves, or fails after `ms` (leaving no timer behind). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A raw WebSocket speaking just enough of the SocketCluster protocol to subscribe, so its reading can be paused. */
async function rawSubscriber(channel: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = suiteScope.own(new WebSocket(gw.url), (w) => w.terminate(), 'raw socket');
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  const replies = new Map<number, (data: unknown) => void>();
  ws.on('message', (raw) => {
    const text = textOf(raw);
    if (text === '') return void ws.send(''); // SocketCluster's ping: answer with its pong
    const packet = JSON.parse(text) as { rid?: number; error?: unknown; data?: unknown };
    if (typeof packet.rid === 'number') replies.get(packet.rid)?.(packet.error ?? packet.data);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const call = (cid: number, event: string, data: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${event}`)), 2000);
      replies.set(cid, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      ws.send(JSON.stringify({ event, data, cid }));
    });
  await call(1, '#handshake', { authToken: mintHs256({ sub: 'slow', channels: ['*'] }) });
  await call(2, '#subscribe', { channel });
  return { ws, closed };
}

test('a consumer that stops reading is closed with SlowConsumer once its buffer passes the limit; readers are not', async () => {
  const maxBuffered = gw.config.maxBuffered;
  const slow = await rawSubscriber('firehose');
  const healthy = await member('healthy');
  assert.is(await subscribeOutcome(healthy, 'firehose'), 'subscribed');
  let healthyCount = 0;
  void (async () => {
    for await (const _ of healthy.channel('firehose')) healthyCount++;
  })();

  const slowSocket = Object.values(gw.agServer.clients).find((s) => s.authToken?.sub === 'slow');
  assert.ok(slowSocket, 'the raw client is connected');
  const tcp = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  tcp.pause();

  // Publish until the gateway gives up on the paused reader: kernel buffers first absorb a few MiB.
  const chunk = 'z'.repeat(64 * 1024);
  let published = 0;
  const deadline = Date.now() + 15_000;
  while (slowSocket.state !== slowSocket.CLOSED && Date.now() < deadline && published < 256 * 1024 * 1024) {
    for (let i = 0; i < 8; i++) void gw.agServer.exchange.transmitPublish('firehose', chunk);
    published += 8 * chunk.length;
    await sleep(5);
  }
  assert.is(slowSocket.state, slowSocket.CLOSED, `closed after ${published} bytes published`);
  assert.ok(published > maxBuffered);
  assert.is(gw.channels.denials.get('slow_consumer'), 1);

  // The connection was destroyed, not closed politely: a client that does not read would never take the close
  // frame, and ws would hold its buffer meanwhile (slow-consumer-memory.test.ts). Reading again, it sees the drop.
  tcp.resume();
  const code = await within(slow.closed, 10_000, 'the connection to drop');
  assert.is(code, 1006);

  // The client that kept reading is still connected and got the messages.
  await waitFor(() => healthyCount * chunk.length >= published, 5000, 'the healthy client to read everything');
  assert.is(healthy.state, healthy.OPEN);
  healthy.closeChannel('firehose');
});

test.run();
