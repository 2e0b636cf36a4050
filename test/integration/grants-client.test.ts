// The client library and live grants on one gateway (memory: the embedded default): the `grantsChanged` event, a
// kicked subscription ending with the named reason `grants-changed`, and a granted channel usable at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createClient, SubscribeForbiddenError, type GatehouseClient } from '../../client';
import type { Gateway } from '../../server/gateway';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { mintHs256, startGateway, waitFor } from '../helpers/gateway';

let gw: Gateway;
let client: GatehouseClient;

test.before(async () => {
  gw = await startGateway({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY });
  client = createClient({
    url: `http://127.0.0.1:${gw.address().port}`,
    ackTimeout: 3000,
    getToken: () => mintHs256({ sub: 'carla', channels: ['room:*'] }),
  });
  await waitFor(() => client.state.authenticated, 3000, 'authenticated');
});
test.after(async () => {
  client?.close();
  await gw?.close();
});

test('a revoke ends the subscription with reason grants-changed and emits grantsChanged; a grant is usable at once', async () => {
  const room = client.subscribe('room:1');
  await room.ready;
  const changes: number[] = [];
  client.on('grantsChanged', ({ version }) => changes.push(version));
  const put = await admin(gw.address().port, 'PUT', '/admin/grants/carla', { version: 4, channels: ['staff:*'] });
  assert.is(put.status, 200);
  assert.equal((put.json as { applied: unknown }).applied, { [gw.nodeId]: 1 });
  const ended = (await room.ended) as SubscribeForbiddenError & { reason?: string };
  assert.instance(ended, SubscribeForbiddenError);
  assert.is(ended.reason, 'grants-changed');
  assert.is(ended.channel, 'room:1');
  await waitFor(() => changes.length === 1, 2000, 'grantsChanged');
  assert.equal(changes, [4]);
  const staff = client.subscribe('staff:room');
  await staff.ready;
  await client.publish('staff:room', { text: 'hi' });
  // Back to the token's grants: staff:room ends the same way.
  assert.is((await admin(gw.address().port, 'DELETE', '/admin/grants/carla?version=5')).status, 200);
  const gone = (await staff.ended) as SubscribeForbiddenError & { reason?: string };
  assert.is(gone.reason, 'grants-changed');
  await waitFor(() => changes.length === 2, 2000, 'the second grantsChanged');
  assert.equal(changes, [4, 5]);
});

test('the demo endpoint makes bob staff live in development mode, and answers 404 anywhere else', async () => {
  const dev = await startGateway({ GATEHOUSE_AUTH_KEY: undefined });
  const bob = createClient({ url: `http://127.0.0.1:${dev.address().port}`, ackTimeout: 3000 });
  try {
    assert.ok(dev.config.devMode && dev.config.demo, 'a development node serving the demo');
    await bob.login('bob', 'bob');
    const refusedFirst = await bob.subscribe('staff:room').ready.then(
      () => 'subscribed',
      (err: Error) => err.name,
    );
    assert.is(refusedFirst, 'SubscribeForbiddenError');
    const changed = new Promise<number>((resolve) => bob.on('grantsChanged', ({ version }) => resolve(version)));
    const post = (staff: boolean) =>
      fetch(`http://127.0.0.1:${dev.address().port}/demo/grants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sub: 'bob', staff }),
      });
    const made = await post(true);
    assert.is(made.status, 200);
    assert.ok((await changed) > 0);
    const staff = bob.subscribe('staff:room');
    await staff.ready;
    assert.is((await post(false)).status, 200);
    assert.is(((await staff.ended) as Error & { reason?: string }).reason, 'grants-changed');
  } finally {
    bob.close();
    await dev.close();
  }
  const refused = await fetch(`http://127.0.0.1:${gw.address().port}/demo/grants`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: 'carla', staff: true }),
  });
  assert.is(refused.status, 404);
  assert.is(((await refused.json()) as { error: { name: string } }).error.name, 'NotFoundError');
  assert.is((await admin(gw.address().port, 'GET', '/admin/grants/carla')).status, 200, 'carla keeps her override from the first test');
});

test.run();
