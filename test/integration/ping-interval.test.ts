import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PING_GRACE_MS } from '../../server/node/settings';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import { textOf } from '../helpers/raw-socket';
import { useScope } from '../helpers/scope';

// GATEHOUSE_PING_INTERVAL sets how often the node pings each socket, and the silence it allows a client: the
// interval plus PING_GRACE_MS, told to the client in the handshake so that both sides agree.

const scope = useScope(test);

async function pingsOver(port: number, ms: number): Promise<{ pings: number; pingTimeout: unknown }> {
  const raw = await scope.raw(port).open();
  let pings = 0;
  raw.ws.on('message', (data) => {
    if (textOf(data) === '') pings++;
  });
  const answer = await raw.call('#handshake', { authToken: mintHs256({ sub: 'pinged' }) });
  const from = pings;
  await sleep(ms);
  return { pings: pings - from, pingTimeout: (answer.data as { pingTimeout?: unknown }).pingTimeout };
}

test('a node set to ping every second pings each socket every second, and tells it the longer timeout', async () => {
  const gw = await scope.gateway({ GATEHOUSE_PING_INTERVAL: '1s' });
  const { pings, pingTimeout } = await pingsOver(gw.address().port, 3500);
  assert.ok(pings >= 2 && pings <= 4, `${pings} pings in 3.5 s`);
  assert.is(pingTimeout, 1000 + PING_GRACE_MS);
});

test("by default the node keeps SocketCluster's own timing: a ping every 8 s, 30 s of silence", async () => {
  const gw = await scope.gateway();
  const { pings, pingTimeout } = await pingsOver(gw.address().port, 1500);
  assert.is(pings, 0);
  assert.is(pingTimeout, 30_000);
});

test('the stock client follows the timeout it is told, and stays connected across the pings', async () => {
  const gw = await scope.gateway({ GATEHOUSE_PING_INTERVAL: '1s' });
  const { client } = await scope.connect(gw, mintHs256({ sub: 'stock' }));
  assert.is((client as unknown as { pingTimeout: number }).pingTimeout, 1000 + PING_GRACE_MS);
  await sleep(2500);
  await waitFor(() => client.state === client.OPEN, 1000, 'the client still open');
});

test.run();
