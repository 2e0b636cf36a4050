// When a feed counts as silent: only a heartbeat Redis took and the subscriber never heard condemns the connection.
// A frozen clock and a recorded `send`; the TCP side is in integration/redis-feed-silence.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FeedLiveness } from '../../server/redis/feed-liveness';

const LIMIT = 2000;

function harness() {
  let now = 1_000_000;
  const sent: { message: string; answer(): void; refuse(): void }[] = [];
  let reconnects = 0;
  const feed = new FeedLiveness({
    name: 'test feed',
    silenceLimitMs: LIMIT,
    clock: { now: () => now },
    send: (message) => new Promise<void>((resolve, reject) => sent.push({ message, answer: resolve, refuse: () => reject(new Error('no')) })),
    reconnect: () => {
      reconnects += 1;
    },
  });
  const turn = () => new Promise((r) => setImmediate(r));
  return {
    feed,
    sent,
    turn,
    advance(ms: number) {
      now += ms;
    },
    get now() {
      return now;
    },
    get reconnects() {
      return reconnects;
    },
  };
}

test('a heartbeat heard moves heardThrough to its sending time; nothing is sent while down', async () => {
  const h = harness();
  h.feed.beat();
  assert.is(h.sent.length, 0, 'not up');
  h.feed.up();
  const sentAt = h.now;
  h.feed.beat();
  h.feed.beat();
  assert.is(h.sent.length, 1, 'one at a time');
  h.advance(5);
  h.sent[0].answer();
  await h.turn();
  h.feed.heard(h.sent[0].message);
  assert.is(h.feed.heardThrough, sentAt);
  h.feed.down();
  assert.is(h.feed.heardThrough, Number.NEGATIVE_INFINITY);
});

test('a heartbeat Redis never answers (Redis or the command path stalled) never drops the subscriber', async () => {
  const h = harness();
  h.feed.up();
  for (let i = 0; i < 20; i++) {
    h.feed.beat();
    h.advance(500);
  }
  assert.is(h.reconnects, 0);
  assert.ok(h.sent.length >= 4, 'given up and sent again');
  h.sent[0].refuse();
  await h.turn();
  assert.is(h.feed.warning(), undefined);
  assert.is(h.feed.silences, 0);
});

test('a heartbeat answered late counts its silence from the answer, not from sending', async () => {
  const h = harness();
  h.feed.up();
  h.feed.beat();
  h.advance(1900);
  h.sent[0].answer();
  await h.turn();
  h.advance(LIMIT - 100);
  h.feed.beat();
  assert.is(h.reconnects, 0, 'within the limit of its answer');
  h.feed.heard(h.sent[0].message);
  h.feed.beat();
  assert.is(h.sent.length, 2, 'the next one goes out');
});

test('one Redis took and the feed never brought drops the subscriber once, warns until heard, and counts one silence', async () => {
  const h = harness();
  h.feed.up();
  h.feed.beat();
  h.sent[0].answer();
  await h.turn();
  h.advance(LIMIT + 1);
  h.feed.beat();
  assert.is(h.reconnects, 1);
  assert.is(h.feed.silences, 1);
  assert.match(h.feed.warning() ?? '', /^test feed: /);
  h.feed.down();
  h.advance(LIMIT + 1);
  h.feed.beat();
  assert.is(h.reconnects, 2, 'a reconnect that never comes up is tried again');
  h.feed.up();
  h.feed.beat();
  h.sent[1].answer();
  await h.turn();
  h.feed.heard(h.sent[1].message);
  assert.is(h.feed.warning(), undefined, 'heard again');
  assert.is(h.feed.silences, 1, 'one silence, however many reconnects');
  h.feed.close();
  h.advance(10 * LIMIT);
  h.feed.beat();
  assert.is(h.reconnects, 2, 'nothing after close');
});

test('a subscriber behind on a burst, still delivering, is not dropped; once nothing arrives it is', async () => {
  const h = harness();
  h.feed.up();
  h.feed.beat();
  h.sent[0].answer();
  await h.turn();
  for (let i = 0; i < 4; i++) {
    h.feed.flowing();
    h.advance(LIMIT + 1);
    h.feed.beat();
  }
  assert.is(h.reconnects, 0, 'messages kept arriving after the heartbeat was taken');
  h.advance(LIMIT + 1);
  h.feed.beat();
  assert.is(h.reconnects, 1, 'a limit with nothing heard');
});

test.run();
