// budget: 60s
// The bridge sends the publishes of one event-loop turn to Redis as one batch (server/cluster/channel-bridge.ts). Two
// in-process nodes on one private Redis, plus bare bridges on their own Redis connections for the bound and the close.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type Redis from 'ioredis';
import type { AGClientSocket } from 'socketcluster-client';
import { CHANNEL_PREFIX, ChannelBridge } from '../../server/cluster';
import { MAX_BATCH_CHARS, MAX_BATCH_MESSAGES, type LocalChannels } from '../../server/cluster/channel-bridge';
import { createRedisPubSub } from '../../server/cluster/redis-pubsub';
import type { Gateway } from '../../server/gateway';
import { createLogger } from '../../server/log';
import { settle, subscribe } from '../helpers/channels';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import type { TestRedis } from '../helpers/redis-server';

let redis: TestRedis;
let probe: Redis;
let a: Gateway;
let b: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);
const token = () => mintHs256({ sub: 'alice', channels: ['*'] });

test.before(async () => {
  redis = await suiteScope.redis();
  probe = suiteScope.own(redis.client(), (c) => c.disconnect(), 'redis client');
  probe.on('error', () => {});
  [a, b] = await Promise.all([suiteScope.gateway({ GATEHOUSE_REDIS_URL: redis.url }), suiteScope.gateway({ GATEHOUSE_REDIS_URL: redis.url })]);
  await waitFor(() => a.clusterBus!.connected && b.clusterBus!.connected, 5000, 'both buses to connect');
});

async function clientOn(gw: Gateway): Promise<AGClientSocket> {
  const { client, status } = await scope.connect(gw, token());
  assert.is(status.isAuthenticated, true);
  return client;
}

/** The local side of a bare bridge: subscribed to `channels`, recording what other nodes deliver. */
function localSide(channels: string[]): LocalChannels & { readonly got: { channel: string; data: unknown }[] } {
  const got: { channel: string; data: unknown }[] = [];
  return {
    got,
    isSubscribed: (channel) => channels.includes(channel),
    subscriptions: () => [...channels],
    deliverFromPeer: (channel, data) => got.push({ channel, data }),
  };
}

/** A bridge on its own two Redis connections, as a node would have. */
async function bareBridge(nodeId: string, local: LocalChannels, maxUnansweredBytes?: number): Promise<ChannelBridge> {
  const transport = createRedisPubSub({ redisUrl: redis.url, redisCluster: undefined }, nodeId)!;
  const bridge = scope.own(
    new ChannelBridge(local, transport, createLogger('silent'), nodeId, CHANNEL_PREFIX, maxUnansweredBytes),
    (br) => br.close(),
    'channel bridge',
  );
  bridge.start();
  // Its own publisher connects apart from the subscriber; a publish before it has would fail at once.
  await waitFor(() => bridge.connected && transport.canPublish, 5000, `${nodeId} to connect`);
  return bridge;
}

test('a burst published in one turn leaves in batches of at most MAX_BATCH_MESSAGES and arrives on the other node whole and in order per channel', async () => {
  const onB1 = await subscribe(await clientOn(b), 'burst:1');
  const onB2 = await subscribe(await clientOn(b), 'burst:2');
  const onA1 = await subscribe(await clientOn(a), 'burst:1');
  const perChannel = 600;
  const batchesBefore = a.clusterBus!.stats.batches;
  const publishedBefore = a.clusterBus!.stats.published;
  // One synchronous loop: every publish in the same turn, the two channels interleaved.
  for (let i = 0; i < perChannel; i++) {
    void a.agServer.exchange.transmitPublish('burst:1', i);
    void a.agServer.exchange.transmitPublish('burst:2', i);
  }
  const expected = Array.from({ length: perChannel }, (_, i) => i);
  await onB1.waitFor(perChannel, 10_000);
  await onB2.waitFor(perChannel, 10_000);
  await onA1.waitFor(perChannel, 10_000);
  await settle();
  assert.equal(onB1.messages, expected);
  assert.equal(onB2.messages, expected);
  assert.equal(onA1.messages, expected, 'local subscribers once each: the echoes were dropped');
  assert.is(a.clusterBus!.stats.batches - batchesBefore, Math.ceil((2 * perChannel) / MAX_BATCH_MESSAGES));
  await waitFor(() => a.clusterBus!.stats.published - publishedBefore === 2 * perChannel, 2000, 'Redis to take every publish');
  for (const inbox of [onB1, onB2, onA1]) inbox.stop();
});

test('turns of one publish (sent as a plain PUBLISH) and turns of many (one script) arrive in the order they were made', async () => {
  const onB = await subscribe(await clientOn(b), 'turns');
  const batchesBefore = a.clusterBus!.stats.batches;
  let n = 0;
  for (let turn = 0; turn < 6; turn++) {
    const count = turn % 2 === 0 ? 1 : 10;
    for (let i = 0; i < count; i++) void a.agServer.exchange.transmitPublish('turns', n++);
    await new Promise((r) => setImmediate(r));
  }
  await onB.waitFor(n, 5000);
  await settle();
  assert.equal(
    onB.messages,
    Array.from({ length: n }, (_, i) => i),
  );
  assert.is(a.clusterBus!.stats.batches - batchesBefore, 6);
  onB.stop();
});

test('a batch is closed at MAX_BATCH_CHARS; a message larger than that goes alone; order holds across batches', async () => {
  const onB = await subscribe(await clientOn(b), 'big');
  // Three messages fit under the bound only two at a time; the fourth is larger than a batch may be.
  const piece = Math.floor(MAX_BATCH_CHARS / 2.5);
  const sizes = [piece, piece, piece, MAX_BATCH_CHARS + 10, piece];
  const batchesBefore = a.clusterBus!.stats.batches;
  sizes.forEach((size, i) => void a.agServer.exchange.transmitPublish('big', { i, pad: 'x'.repeat(size) }));
  await onB.waitFor(sizes.length, 10_000);
  await settle();
  assert.equal(
    onB.messages.map((m) => (m as { i: number }).i),
    [0, 1, 2, 3, 4],
  );
  assert.equal(
    onB.messages.map((m) => (m as { pad: string }).pad.length),
    sizes,
  );
  // [0, 1] [2] [3] [4]: 2 would pass the bound after 0 and 1, 3 is alone, 4 does not fit after 3.
  assert.is(a.clusterBus!.stats.batches - batchesBefore, 4);
  onB.stop();
});

test('with Redis not answering, publishes past the bound are refused at once (counted, not queued) and the rest arrive in order once it answers', async () => {
  const receiver = localSide(['held']);
  const receiving = await bareBridge('bound-receiver', receiver);
  assert.ok(await receiving.whenHeld('held', 2000), 'the receiver holds the channel');
  const sending = await bareBridge('bound-sender', localSide([]), 10_000);
  const message = (i: number) => JSON.stringify({ i: String(i).padStart(2, '0'), pad: 'x'.repeat(900) });
  const envelope = `{"s":${JSON.stringify(sending.senderId)},"d":${message(0)}}`.length;
  const fits = Math.floor(10_000 / envelope);
  assert.ok(fits >= 2 && fits < 30, `${fits} messages fit`);

  await probe.call('CLIENT', 'PAUSE', '1500', 'ALL');
  for (let i = 0; i < 30; i++) sending.publish('held', message(i));
  assert.is(sending.stats.publishFailed, 30 - fits, 'the publishes past the bound failed at once');
  assert.is(sending.unansweredPublishBytes, fits * envelope);
  // A later turn, the batch on the wire and not answered: still nothing more is taken.
  await sleep(50);
  sending.publish('held', message(99));
  assert.is(sending.stats.publishFailed, 31 - fits);
  assert.is(sending.stats.published, 0, 'Redis answered nothing yet');
  assert.ok(sending.unansweredPublishBytes <= 10_000);

  await waitFor(() => sending.unansweredPublishBytes === 0, 5000, 'the batch to be answered');
  assert.is(sending.stats.published, fits);
  await waitFor(() => receiver.got.length === fits, 3000, 'the accepted publishes to arrive');
  await settle();
  assert.equal(
    receiver.got.map((m) => Number((m.data as { i: string }).i)),
    Array.from({ length: fits }, (_, i) => i),
  );
  // Answering again: publishes are taken again.
  sending.publish('held', message(50));
  await waitFor(() => receiver.got.length === fits + 1, 3000, 'a publish after the stall');
});

test('closing a bridge sends the batch being filled before its connections close', async () => {
  const receiver = localSide(['last']);
  const receiving = await bareBridge('close-receiver', receiver);
  assert.ok(await receiving.whenHeld('last', 2000));
  const sending = await bareBridge('close-sender', localSide([]));
  sending.publish('last', '"one"');
  sending.publish('last', '"two"');
  await sending.close();
  await waitFor(() => receiver.got.length === 2, 3000, 'the last batch');
  assert.equal(receiver.got, [
    { channel: 'last', data: 'one' },
    { channel: 'last', data: 'two' },
  ]);
  sending.publish('last', '"after close"');
  await settle();
  assert.is(receiver.got.length, 2, 'nothing is sent after close');
});

test('junk on a bridge channel between batches is dropped and counted; the batches around it arrive', async () => {
  const onB = await subscribe(await clientOn(b), 'mixed');
  const malformedBefore = b.clusterBus!.stats.malformed;
  void a.agServer.exchange.transmitPublish('mixed', 1);
  await onB.waitFor(1);
  for (const junk of ['{"s":"x","m":[["mixed",2]]}', '[', '{"s":1,"d":2}', '']) await probe.publish(`${CHANNEL_PREFIX}mixed`, junk);
  void a.agServer.exchange.transmitPublish('mixed', 3);
  await onB.waitFor(2);
  await waitFor(() => b.clusterBus!.stats.malformed === malformedBefore + 4, 2000, 'the junk to be counted');
  await settle();
  assert.equal(onB.messages, [1, 3]);
  onB.stop();
});

test.run();
