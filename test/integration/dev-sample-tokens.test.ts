// budget: 60s
// What development mode offers a newcomer without configuring anything: the demo, and a restricted sample token beside
// the `*` one, so a refusal can be seen. (The README's Node quick start is run by readme-blocks.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import { subscribeOutcome } from '../helpers/channels';
import { connectClient, nextEvent, storedToken, type ConnectStatus } from '../helpers/gateway';
import { GatehouseProcess } from '../helpers/process';
import { freePort } from '../helpers/redis-server';

const processes: GatehouseProcess[] = [];
const clients: AGClientSocket[] = [];

test.after(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(processes.map((p) => p.stop()));
});

async function devGateway() {
  const port = await freePort();
  const p = new GatehouseProcess(['start'], { GATEHOUSE_PORT: String(port) });
  processes.push(p);
  assert.is(await p.listeningPort(), port);
  return { p, port };
}

test('development mode prints a restricted sample token beside the * one: it authenticates, and staff:room is refused', async () => {
  const { p, port } = await devGateway();
  const restricted = (await p.waitForStderr(/^export SAMPLE_TOKEN_RESTRICTED=(\S+)$/m))[1];
  assert.match(p.stderr, new RegExp(`demo +open http://127\\.0\\.0\\.1:${port}/ in a browser`));
  const client = connectClient({ address: () => ({ port }) } as never, { authEngine: storedToken(restricted) as never });
  clients.push(client);
  const status = await nextEvent<ConnectStatus>(client, 'connect');
  assert.is(status.isAuthenticated, true);
  assert.is(await subscribeOutcome(client, 'staff:room'), 'SubscribeForbiddenError');
  assert.is(await subscribeOutcome(client, 'chat:lobby'), 'subscribed');
});

test.run();
