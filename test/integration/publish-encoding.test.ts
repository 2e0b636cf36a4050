// A published message reaches subscribers exactly as published, whoever published it: the broker writes the
// `#publish` packet around the data's JSON instead of encoding the data a second time (server/cluster/broker.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { collect, exchangeCollect, subscribe } from '../helpers/channels';
import { connectWithToken, mintHs256, startGateway, waitFor } from '../helpers/gateway';

let gw: Gateway;
const clients: AGClientSocket[] = [];

test.before(async () => {
  gw = await startGateway();
});
test.after.each(() => {
  for (const c of clients.splice(0)) c.disconnect();
});
test.after(async () => {
  await gw.close();
});

async function client(): Promise<AGClientSocket> {
  const { client: c, status } = await connectWithToken(gw, mintHs256({ sub: 'alice', channels: ['*'] }));
  assert.ok(status.isAuthenticated);
  clients.push(c);
  return c;
}

const SAMPLES: unknown[] = [
  null, true, 0, -1.5e300, '', 'quote " backslash \\ slash /', 'é ü 漢字 😀', '\u2028\u2029\u0000\u001f',
  [], {}, [1, [2, [3, { deep: [null] }]]], { 'k"ey': { '': 'empty key' }, __proto__x: 1, n: 0.1 },
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

test.run();
