// A published message reaches subscribers exactly as published, whoever published it: the broker writes the
// `#publish` packet around the data's JSON instead of encoding the data a second time, and writes those bytes to each
// WebSocket at once unless SocketCluster's outbound path has something to do with them (server/cluster/broker.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { transmit } from '../../server/sc/facade';
import { collect, exchangeCollect, subscribe } from '../helpers/channels';
import { mintHs256, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

let gw: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  gw = await suiteScope.gateway();
});

async function client(): Promise<AGClientSocket> {
  const { client: c, status } = await scope.connect(gw, mintHs256({ sub: 'alice', channels: ['*'] }));
  assert.ok(status.isAuthenticated);
  return c;
}

const SAMPLES: unknown[] = [
  null,
  true,
  0,
  -1.5e300,
  '',
  'quote " backslash \\ slash /',
  'é ü 漢字 😀',
  '\u2028\u2029\u0000\u001f',
  [],
  {},
  [1, [2, [3, { deep: [null] }]]],
  { 'k"ey': { '': 'empty key' }, __proto__x: 1, n: 0.1 },
];

test('every JSON value a client publishes arrives unchanged, on channels with characters JSON escapes', async () => {
  const publisher = await client();
  const subscriber = await client();
  for (const channel of ['plain', 'with "quote"', 'back\\slash', 'ünï:cödé']) {
    await subscribe(subscriber, channel);
    const seen = collect(subscriber, channel);
    for (const data of SAMPLES) await publisher.invokePublish(channel, data);
    await waitFor(() => seen.length === SAMPLES.length, 3000, `every message on ${channel}`);
    assert.equal(seen, SAMPLES, channel);
  }
});

test('server-side publishes arrive unchanged at client and exchange subscribers alike', async () => {
  const subscriber = await client();
  await subscribe(subscriber, 'server');
  const seen = collect(subscriber, 'server');
  const exchange = exchangeCollect(gw, 'server');
  try {
    for (const data of SAMPLES) await gw.agServer.exchange.invokePublish('server', data);
    await waitFor(() => seen.length === SAMPLES.length && exchange.seen.length === SAMPLES.length, 3000, 'every message');
    assert.equal(seen, SAMPLES);
    assert.equal(exchange.seen, SAMPLES);
  } finally {
    exchange.stop();
  }
});

test('a publish does not overtake a message queued to the socket before it', async () => {
  const raw = await scope.raw(gw.address().port).open();
  const shaken = await raw.call('#handshake', { authToken: mintHs256({ sub: 'bob', channels: ['*'] }) });
  assert.is((await raw.call('#subscribe', { channel: 'order' })).error, undefined);
  const socket = gw.agServer.clients[(shaken.data as { id: string }).id];
  // In one turn: 'first' still waits in SocketCluster's outbound stream when the publish is fanned out.
  transmit(socket, 'first', 1);
  void gw.agServer.exchange.transmitPublish('order', 'second');
  transmit(socket, 'third', 3);
  const events = () => raw.received.map((m) => (m as { event?: string }).event).filter((e) => e === 'first' || e === '#publish' || e === 'third');
  await waitFor(() => events().length === 3, 3000, 'all three messages');
  assert.equal(events(), ['first', '#publish', 'third']);
});

test('an outbound middleware still sees, and may block, every delivery', async () => {
  const passed: unknown[] = [];
  const server = gw.agServer;
  // SocketCluster runs a socket's middleware from its connection on: set before the subscriber connects.
  server.setMiddleware(server.MIDDLEWARE_OUTBOUND, (stream) => {
    void (async () => {
      for await (const action of stream) {
        passed.push(action.data);
        if (action.data === 'blocked') action.block(new Error('blocked'));
        else action.allow();
      }
    })();
  });
  try {
    const subscriber = await client();
    await subscribe(subscriber, 'watched');
    const seen = collect(subscriber, 'watched');
    for (const data of ['one', 'blocked', 'two']) await server.exchange.invokePublish('watched', data);
    await waitFor(() => seen.length === 2, 3000, 'the allowed messages');
    assert.equal(seen, ['one', 'two']);
    assert.equal(passed, ['one', 'blocked', 'two']);
  } finally {
    server.removeMiddleware(server.MIDDLEWARE_OUTBOUND);
  }
});

test.run();
