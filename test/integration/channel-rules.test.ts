import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AGClientSocket } from 'socketcluster-client';
import { REVOKED_SUBSCRIPTION_MESSAGE } from '../../server/channels/install';
import type { Gateway } from '../../server/gateway';
import { ErrorName } from '../../shared';
import {
  collect,
  exchangeCollect,
  publishError,
  publishMarker,
  publishOutcome,
  rawSocket,
  serverSocketOf,
  subscribeError,
  subscribeOutcome,
} from '../helpers/channels';
import { connectWithToken, mintHs256, sleep, waitFor } from '../helpers/gateway';
import { closeWithChannels, useScope } from '../helpers/scope';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rules-'));
const rulesPath = join(dir, 'channels.json');
writeFileSync(
  rulesPath,
  JSON.stringify({
    anyone: { 'public:*': ['subscribe'], lobby: ['subscribe', 'publish'] },
    authenticated: { 'chat:*': ['subscribe', 'publish'], 'user:{sub}': ['subscribe'] },
  }),
);

const TOKENS = {
  anonymous: null,
  alice: { sub: 'alice', channels: ['team:red:*'] },
  bob: { sub: 'bob', channels: { feed: ['subscribe'], 'feed:bob': ['publish'] } },
  star: { sub: 'eve*' },
  watcher: { sub: 'watcher', channels: ['*'] },
} as const;
type Who = keyof typeof TOKENS;

let gw: Gateway;
const connected = new Map<Who, AGClientSocket>();
let watcher: AGClientSocket;
// Everything here lives until the end of the file.
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);
const keepForFile = (c: AGClientSocket) => {
  suiteScope.own(c, closeWithChannels, 'client');
};

/** A client for `who` (its token minted from `claims`), kept for the whole file. */
async function clientFor(who: Who, claims: object | null = TOKENS[who]): Promise<AGClientSocket> {
  const { client, status } = await connectWithToken(gw, claims ? mintHs256(claims as Record<string, unknown>) : null, {}, undefined, keepForFile);
  assert.is(status.isAuthenticated, claims !== null, `${who} authenticated`);
  return client;
}

/** One long-lived client per identity for the allow/deny table (each test uses fresh channels). */
async function as(who: Who): Promise<AGClientSocket> {
  let client = connected.get(who);
  if (!client) {
    client = await clientFor(who);
    connected.set(who, client);
  }
  return client;
}

test.before(async () => {
  // Renewal off: the expiry test needs a token that is not renewed.
  gw = await suiteScope.gateway({ GATEHOUSE_CHANNELS_FILE: rulesPath, GATEHOUSE_RENEW_INTERVAL: '0' });
  watcher = await clientFor('watcher');
});

const SUBSCRIBED = 'subscribed';
const PUBLISHED = 'published';

/** who, channel, what subscribe gives, what publish gives. */
const TABLE: [Who, string, string, string][] = [
  ['anonymous', 'public:news', SUBSCRIBED, ErrorName.PublishForbidden],
  ['anonymous', 'lobby', SUBSCRIBED, PUBLISHED],
  ['anonymous', 'chat:general', ErrorName.SubscribeForbidden, ErrorName.PublishForbidden],
  ['anonymous', 'user:alice', ErrorName.SubscribeForbidden, ErrorName.PublishForbidden],
  ['anonymous', 'user:{sub}', ErrorName.SubscribeForbidden, ErrorName.PublishForbidden],
  ['anonymous', 'team:red:1', ErrorName.SubscribeForbidden, ErrorName.PublishForbidden],
  ['alice', 'public:news', SUBSCRIBED, ErrorName.PublishForbidden],
  ['alice', 'lobby', SUBSCRIBED, PUBLISHED],
  ['alice', 'chat:general', SUBSCRIBED, PUBLISHED],
  ['alice', 'chat', ErrorName.SubscribeForbidden, ErrorName.PublishForbidden],
  ['alice', 'user:alice', SUBSCRIBED, ErrorName.PublishForbidden],
  ['alice', 'user:bob', ErrorName.SubscribeForbidden, ErrorName.PublishForbidden],
  ['alice', 'team:red:1', SUBSCRIBED, PUBLISHED],
  ['alice', 'team:blue:1', ErrorName.SubscribeForbidden, ErrorName.PublishForbidden],
  ['alice', 'feed', ErrorName.SubscribeForbidden, ErrorName.PublishForbidden],
  ['bob', 'feed', SUBSCRIBED, ErrorName.PublishForbidden],
  ['bob', 'feed:bob', ErrorName.SubscribeForbidden, PUBLISHED],
  ['bob', 'feed:alice', ErrorName.SubscribeForbidden, ErrorName.PublishForbidden],
  ['bob', 'team:red:1', ErrorName.SubscribeForbidden, ErrorName.PublishForbidden],
  ['bob', 'user:bob', SUBSCRIBED, ErrorName.PublishForbidden],
  ['star', 'user:eve*', SUBSCRIBED, ErrorName.PublishForbidden],
  ['star', 'user:eve*x', ErrorName.SubscribeForbidden, ErrorName.PublishForbidden],
  ['star', 'user:eve', ErrorName.SubscribeForbidden, ErrorName.PublishForbidden],
  ['star', 'user:evelyn', ErrorName.SubscribeForbidden, ErrorName.PublishForbidden],
];

for (const [who, channel, onSubscribe, onPublish] of TABLE) {
  test(`${who} subscribes to ${channel} → ${onSubscribe}`, async () => {
    const client = await as(who);
    assert.is(await subscribeOutcome(client, channel), onSubscribe);
    assert.is(serverSocketOf(gw, client).isSubscribed(channel), onSubscribe === SUBSCRIBED);
    if (onSubscribe === SUBSCRIBED) {
      const seen = collect(client, channel);
      await publishMarker(gw, channel, seen, 'hello');
      assert.equal(seen, ['hello']);
    }
    void client.unsubscribe(channel);
    await waitFor(() => !serverSocketOf(gw, client).isSubscribed(channel), 2000, 'the unsubscribe');
  });

  test(`${who} publishes on ${channel} → ${onPublish}`, async () => {
    const client = await as(who);
    assert.is(await subscribeOutcome(watcher, channel), SUBSCRIBED);
    try {
      const seen = collect(watcher, channel);
      const payload = { from: who, n: Math.random() };
      assert.is(await publishOutcome(client, channel, payload), onPublish);
      await publishMarker(gw, channel, seen, 'marker');
      assert.equal(seen, onPublish === PUBLISHED ? [payload, 'marker'] : ['marker'], 'a refused publish reaches nobody');
    } finally {
      void watcher.unsubscribe(channel);
      watcher.closeChannel(channel);
    }
  });
}

const INVALID_NAMES: [string, string][] = [
  ['empty', ''],
  ['257 characters', 'x'.repeat(257)],
  ['a newline', 'chat:a\nb'],
  ['a NUL', 'chat:\u0000'],
  ['DEL', 'chat:\u007f'],
  ['an unpaired surrogate', 'chat:\ud800'],
];

for (const [what, name] of INVALID_NAMES) {
  test(`a channel name with ${what} is refused even with a * grant`, async () => {
    const before = gw.channels.denials.get('invalid_channel');
    const exchange = exchangeCollect(gw, name);
    try {
      assert.is(await subscribeOutcome(watcher, name), ErrorName.SubscribeForbidden);
      assert.is(await publishOutcome(watcher, name, 'x'), ErrorName.PublishForbidden);
      await sleep(20);
      assert.equal(exchange.seen, [], 'the refused publish reached no subscriber');
      assert.is(gw.channels.denials.get('invalid_channel'), before + 2);
    } finally {
      exchange.stop();
    }
  });
}

test('names of Object.prototype members are refused: SocketCluster keys plain objects by channel name', async () => {
  const raw = await rawSocket(gw, mintHs256(TOKENS.watcher));
  try {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      assert.is((await raw.call('#subscribe', { channel: name })).error?.name, ErrorName.SubscribeForbidden, name);
      assert.is((await raw.call('#publish', { channel: name, data: 1 })).error?.name, ErrorName.PublishForbidden, name);
    }
    assert.equal(Object.keys(Object.prototype), [], 'Object.prototype is untouched');
    assert.is((Object as unknown as Record<string, unknown>)[raw.id], undefined);
    assert.is(({} as Record<string, unknown>)[raw.id], undefined);
  } finally {
    raw.close();
  }
});

test('256 characters (even as emoji) is a valid name', async () => {
  for (const name of ['y'.repeat(256), '😀'.repeat(256)]) {
    assert.is(await subscribeOutcome(watcher, name), SUBSCRIBED);
    assert.is(await publishOutcome(watcher, name, 'ok'), PUBLISHED);
    void watcher.unsubscribe(name);
  }
});

test('a refused publish or subscribe names the channel, in its message and as its channel property', async () => {
  const anon = await as('anonymous');
  const sub = (await subscribeError(anon, 'chat:secret')) as Error & { channel?: string };
  assert.is(sub.name, ErrorName.SubscribeForbidden);
  assert.is(sub.message, 'No grant to subscribe to "chat:secret"');
  assert.is(sub.channel, 'chat:secret');
  const pub = (await publishError(anon, 'public:news', 1))!;
  assert.is(pub.name, ErrorName.PublishForbidden);
  assert.is(pub.message, 'No grant to publish on "public:news"');
  assert.is(pub.channel, 'public:news');
  const bad = (await publishError(anon, 'x\u0000y', 1))!;
  assert.is(bad.name, ErrorName.PublishForbidden);
  assert.match(bad.message, /^Invalid channel name "x\\u0000y": /);
});

test('refusals are counted by reason', async () => {
  const denials = gw.channels.denials;
  const before = denials.snapshot();
  const anon = await as('anonymous');
  await publishOutcome(anon, 'chat:counted', 1);
  await subscribeOutcome(anon, 'chat:counted');
  assert.is(denials.get('publish_forbidden'), before.publish_forbidden + 1);
  assert.is(denials.get('subscribe_forbidden'), before.subscribe_forbidden + 1);
});

/** Starts collecting kickOut events; the promise resolves once `count` arrived (fails after 2 s). */
function kickOuts(client: AGClientSocket, count: number, ms = 2000): Promise<{ channel: string; message: string }[]> {
  const got: { channel: string; message: string }[] = [];
  const stream = client.listener('kickOut');
  void (async () => {
    for await (const event of stream) got.push(event as { channel: string; message: string });
  })();
  return waitFor(() => got.length >= count, ms, `${count} kickOut events`)
    .then(() => sleep(20)) // one more would be a bug: give it a moment to show up
    .then(() => got)
    .finally(() => client.closeListener('kickOut'));
}

async function subscribeAll(client: AGClientSocket, channels: string[]): Promise<void> {
  for (const ch of channels) assert.is(await subscribeOutcome(client, ch), SUBSCRIBED, ch);
}

/** Asserts a server publish on `channel` does not reach `client` (and does reach the watcher). */
async function assertNotDelivered(client: AGClientSocket, channel: string): Promise<void> {
  assert.is(serverSocketOf(gw, client).isSubscribed(channel), false, `${channel} is no longer held`);
  assert.is(await subscribeOutcome(watcher, channel), SUBSCRIBED);
  const watcherSeen = collect(watcher, channel);
  const clientSeen = collect(client, channel);
  await publishMarker(gw, channel, watcherSeen, 'after');
  await sleep(20);
  assert.equal(clientSeen, []);
  void watcher.unsubscribe(channel);
}

test('client deauthenticate() kicks the socket out of every channel it no longer may hold', async () => {
  const alice = await clientFor('alice');
  const kept = ['public:deauth', 'lobby'];
  const lost = ['chat:deauth', 'team:red:deauth', 'user:alice'];
  await subscribeAll(alice, [...kept, ...lost]);
  const kicks = kickOuts(alice, lost.length);
  await alice.deauthenticate();
  const got = await kicks;
  assert.equal(got.map((k) => k.channel).sort(), [...lost].sort());
  assert.ok(got.every((k) => k.message === REVOKED_SUBSCRIPTION_MESSAGE));
  await waitFor(() => lost.every((ch) => !serverSocketOf(gw, alice).isSubscribed(ch)), 2000, 'the kicks');
  assert.equal(serverSocketOf(gw, alice).subscriptions().sort(), [...kept].sort());
  for (const ch of lost) await assertNotDelivered(alice, ch);
  // What it kept still arrives.
  const seen = collect(alice, 'public:deauth');
  await publishMarker(gw, 'public:deauth', seen, 'still here');
});

test('a server-side deauthenticate() kicks the socket out too', async () => {
  const alice = await clientFor('alice');
  await subscribeAll(alice, ['chat:server-deauth', 'public:server-deauth']);
  const kicks = kickOuts(alice, 1);
  void serverSocketOf(gw, alice).deauthenticate();
  assert.equal(
    (await kicks).map((k) => k.channel),
    ['chat:server-deauth'],
  );
  await assertNotDelivered(alice, 'chat:server-deauth');
  assert.ok(serverSocketOf(gw, alice).isSubscribed('public:server-deauth'));
});

test('re-authenticating with a token of fewer channels kicks out only what it lost', async () => {
  const alice = await clientFor('alice');
  await subscribeAll(alice, ['chat:renew', 'team:red:renew', 'user:alice']);
  const kicks = kickOuts(alice, 1);
  const status = await alice.authenticate(mintHs256({ sub: 'alice', channels: ['team:blue:*'] }));
  assert.is((status as unknown as { isAuthenticated: boolean }).isAuthenticated, true);
  assert.equal(
    (await kicks).map((k) => k.channel),
    ['team:red:renew'],
  );
  await assertNotDelivered(alice, 'team:red:renew');
  assert.equal(serverSocketOf(gw, alice).subscriptions().sort(), ['chat:renew', 'user:alice']);
});

test('re-authenticating as another user loses the old {sub} channel', async () => {
  const client = await clientFor('alice');
  await subscribeAll(client, ['user:alice']);
  const kicks = kickOuts(client, 1);
  await client.authenticate(mintHs256({ sub: 'bob' }));
  assert.equal(
    (await kicks).map((k) => k.channel),
    ['user:alice'],
  );
  assert.is(await subscribeOutcome(client, 'user:bob'), SUBSCRIBED);
});

test('an expired token: within 1 s of exp, with no packet from the client, its private channels are kicked out', async () => {
  const nowSec = Math.floor(Date.now() / 1000);
  const client = await clientFor('alice', { sub: 'alice', iat: nowSec, exp: nowSec + 2 });
  await subscribeAll(client, ['chat:expiry', 'public:expiry']);
  const kicks = kickOuts(client, 1, 4000);
  assert.equal(
    (await kicks).map((k) => k.channel),
    ['chat:expiry'],
  );
  assert.ok(Date.now() <= (nowSec + 2) * 1000 + 1000, 'kicked within 1 s of exp');
  assert.is(client.authState, 'unauthenticated');
  await assertNotDelivered(client, 'chat:expiry');
  assert.is(await publishOutcome(client, 'chat:expiry', 'too late'), ErrorName.PublishForbidden);
});

test('a deauthentication ends private channels before anything published after it is delivered', async () => {
  const alice = await clientFor('alice');
  await subscribeAll(alice, ['chat:window', 'public:window']);
  const lost = collect(alice, 'chat:window');
  const kept = collect(alice, 'public:window');
  const socket = serverSocketOf(gw, alice);
  // In one tick: nothing may run between the deauthentication and the publish, as when other work is queued.
  void socket.deauthenticate();
  void gw.agServer.exchange.transmitPublish('chat:window', 'published after the deauthentication');
  // One socket's messages arrive in order: once this marker is in, the other publish would have arrived too.
  await publishMarker(gw, 'public:window', kept);
  assert.equal(lost, []);
  assert.is(socket.isSubscribed('chat:window'), false);
});

test('a refused re-authentication that lets the client keep its token (nbf) still ends the old grants', async () => {
  const alice = await clientFor('alice');
  await subscribeAll(alice, ['chat:refused', 'public:refused']);
  const socket = serverSocketOf(gw, alice);
  const kicks = kickOuts(alice, 1);
  const nowSec = Math.floor(Date.now() / 1000);
  const status = await alice.authenticate(mintHs256({ sub: 'alice', nbf: nowSec + 60 }));
  const { isAuthenticated, authError } = status as unknown as { isAuthenticated: boolean; authError?: Error };
  assert.is(isAuthenticated, false);
  assert.is(authError?.name, ErrorName.AuthTokenNotBefore);
  assert.equal(
    (await kicks).map((k) => k.channel),
    ['chat:refused'],
  );
  await assertNotDelivered(alice, 'chat:refused');
  assert.ok(socket.isSubscribed('public:refused'));
  assert.is(gw.authWatch.claimsOf(socket), undefined, 'the AuthWatch knows the socket is anonymous');
  assert.is(gw.revocation.enforcer.index.claimsOf(socket), undefined, 'the revocation index dropped it');
});

test('an auth-change listener that throws is reported; the deauthentication still takes the channels away', async () => {
  const own = await scope.gateway({ GATEHOUSE_CHANNELS_FILE: rulesPath });
  const reported: unknown[] = [];
  own.log.error = (obj: unknown) => {
    reported.push(obj);
  };
  own.authWatch.subscribe(() => {
    throw new Error('listener bug');
  });
  const { client } = await scope.connect(own, mintHs256({ sub: 'alice' }));
  await subscribeAll(client, ['chat:listener-bug']);
  const kicks = kickOuts(client, 1);
  await client.deauthenticate();
  assert.equal(
    (await kicks).map((k) => k.channel),
    ['chat:listener-bug'],
  );
  await waitFor(() => reported.length >= 1, 2000, 'the report');
  assert.is(await publishOutcome(client, 'lobby', 'still served'), PUBLISHED);
});

test('a client TRANSMIT is dropped and counted', async () => {
  const alice = await clientFor('alice');
  const socket = serverSocketOf(gw, alice);
  const received: unknown[] = [];
  const receiver = socket.receiver('hello');
  void (async () => {
    for await (const data of receiver) received.push(data);
  })();
  const before = gw.channels.denials.get('client_transmit');
  void alice.transmit('hello', { x: 1 });
  void alice.transmit('#notAnInternalEvent', 1);
  // Inbound packets are processed in order: once this publish is acknowledged, both transmits were decided.
  assert.is(await publishOutcome(alice, 'chat:after-transmit', 1), PUBLISHED);
  assert.equal(received, []);
  assert.is(gw.channels.denials.get('client_transmit'), before + 2);
  socket.closeReceiver('hello');
});

test.run();
