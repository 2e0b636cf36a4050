// budget: 60s
// A subscribe racing a revoke of its channel ends unsubscribed, on the client and on the server, whichever arrives
// first: refused by the rules, refused by the second look once the subscription held, or acknowledged and then
// kicked out. Never acknowledged after the kick-out. Three gateways on one Redis, in this process (the test reads B's
// server-side state and widens one subscribe's flight): the change enters on A, the user is on B, C answers too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { allSocketsOf } from '../../server/sc/server';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { connectWithToken, mintHs256, sleep, startGateway, waitFor } from '../helpers/gateway';
import { TestRedis } from '../helpers/redis-server';

let redis: TestRedis;
let a: Gateway;
let b: Gateway;
let c: Gateway;
let client: AGClientSocket;

test.before(async () => {
  redis = await TestRedis.start();
  const env = (id: string) => ({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_NODE_ID: id });
  a = await startGateway(env('node-a'));
  b = await startGateway(env('node-b'));
  c = await startGateway(env('node-c'));
  await waitFor(
    async () => ((await admin(a.address().port, 'GET', '/admin/nodes')).body as { nodes?: unknown[] }).nodes?.length === 3,
    5000,
    'three live nodes',
  );
  const connected = await connectWithToken(b, mintHs256({ sub: 'racer', channels: [] }));
  assert.is(connected.status.isAuthenticated, true);
  client = connected.client;
});
test.after(async () => {
  client?.disconnect();
  await c?.close();
  await b?.close();
  await a?.close();
  await redis?.close();
});

let version = 0;
function put(channels: string[]): Promise<number> {
  version += 1;
  return admin(a.address().port, 'PUT', '/admin/grants/racer', { version, channels }).then((r) => r.status);
}

/** What the client saw of one channel, in order: subscribe, subscribeFail:<name>, kickOut. */
function watch(channel: string): string[] {
  const seen: string[] = [];
  const ch = client.channel(channel) as unknown as { listener(n: string): AsyncIterable<{ error?: Error }> };
  for (const name of ['subscribe', 'subscribeFail', 'kickOut']) {
    void (async () => {
      for await (const e of ch.listener(name)) seen.push(name === 'subscribeFail' ? `${name}:${e.error?.name}` : name);
    })();
  }
  return seen;
}

function serverSocket() {
  const [socket] = [...allSocketsOf(b.agServer)];
  return socket;
}

/** Ends unsubscribed on both sides, and the client never saw an acknowledgement after a kick-out. */
async function assertEndedUnsubscribed(channel: string, seen: string[]) {
  await waitFor(() => seen.some((e) => e === 'kickOut' || e.startsWith('subscribeFail')), 3000, `the end of ${channel} (${seen.join(',')})`);
  await sleep(20);
  assert.is(client.isSubscribed(channel, true), false, `client still subscribed to ${channel}: ${seen.join(',')}`);
  assert.not.ok(serverSocket().subscriptions().includes(channel), `server still holds ${channel}: ${seen.join(',')}`);
  assert.is(b.broker.isSubscribed(channel), false);
  const kick = seen.indexOf('kickOut');
  if (kick >= 0) assert.equal(seen.slice(0, kick), ['subscribe'], seen.join(','));
  else assert.equal(seen, ['subscribeFail:SubscribeForbiddenError']);
}

test('a revoke that lands while the subscribe is in flight: refused by the second look, never kicked after an ack', async () => {
  assert.is(await put(['slow:*']), 200);
  // Widen the subscribe's flight on B: its broker call takes 200 ms.
  const broker = b.broker as unknown as { subscribeClient(c: unknown, ch: string): Promise<void> };
  const original = broker.subscribeClient.bind(broker);
  broker.subscribeClient = async (c, ch) => {
    await sleep(200);
    return original(c, ch);
  };
  try {
    const seen = watch('slow:1');
    client.subscribe('slow:1');
    await sleep(50);
    assert.is(await put([]), 200);
    await assertEndedUnsubscribed('slow:1', seen);
    assert.equal(seen, ['subscribeFail:SubscribeForbiddenError']);
  } finally {
    broker.subscribeClient = original;
  }
});

test('200 races of a subscribe against a revoke, at offsets of 0 to 7 ms: each ends unsubscribed', async () => {
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 200; i++) {
    const channel = `race:${i}`;
    assert.is(await put(['race:*']), 200);
    const seen = watch(channel);
    // The revoke leaves first; the subscribe follows 0 to 7 ms later, so it lands before, during and after the apply.
    const revoke = put([]);
    await sleep(i % 8);
    client.subscribe(channel);
    assert.is(await revoke, 200);
    await assertEndedUnsubscribed(channel, seen);
    const key = seen.join('>');
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    client.closeChannel(channel);
  }
  console.log('race outcomes:', Object.fromEntries(outcomes));
});

test.run();
