// budget: 90s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import { settle, subscribe } from '../helpers/channels';
import { mintHs256 } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { GatewayProcess } from '../helpers/gateway-process';
import { TestRedis } from '../helpers/redis-server';

// Two gateway processes, started as an operator would, sharing one private Redis.
let redis: TestRedis;
let a: GatewayProcess;
let b: GatewayProcess;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);
const token = () => mintHs256({ sub: 'alice', channels: ['*'] });

test.before(async () => {
  redis = await suiteScope.redis();
  [a, b] = await Promise.all([suiteScope.process({ GATEHOUSE_REDIS_URL: redis.url }), suiteScope.process({ GATEHOUSE_REDIS_URL: redis.url })]);
});

async function client(node: GatewayProcess): Promise<AGClientSocket> {
  const { client: c, status } = await scope.connect(node, token());
  assert.is(status.isAuthenticated, true);
  return c;
}

test('a client publish on A reaches subscribers on A and on B exactly once', async () => {
  const onA = await subscribe(await client(a), 'chat');
  const onB = await subscribe(await client(b), 'chat');
  const pub = await client(a);
  for (let i = 0; i < 10; i++) await pub.invokePublish('chat', { i });
  await onA.waitFor(10);
  await onB.waitFor(10);
  await settle(300);
  const expected = Array.from({ length: 10 }, (_, i) => ({ i }));
  assert.equal(onA.messages, expected, 'A: once each, in order');
  assert.equal(onB.messages, expected, 'B: once each, in order');
});

test('and the other way: a client publish on B reaches subscribers on B and on A exactly once', async () => {
  const onA = await subscribe(await client(a), 'chat-2');
  const onB = await subscribe(await client(b), 'chat-2');
  const pub = await client(b);
  for (let i = 0; i < 10; i++) await pub.transmitPublish('chat-2', i);
  await onA.waitFor(10);
  await onB.waitFor(10);
  await settle(300);
  assert.equal(onA.messages, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(onB.messages, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('a publish on A right after a subscribe on B is acknowledged arrives', async () => {
  const subscriber = await client(b);
  const pub = await client(a);
  for (let i = 0; i < 20; i++) {
    const inbox = await subscribe(subscriber, `just-joined-${i}`);
    await pub.invokePublish(`just-joined-${i}`, i);
    await inbox.waitFor(1, 2000);
    inbox.stop();
  }
});

test('a subscriber on a third channel sees nothing of the others', async () => {
  const quiet = await subscribe(await client(b), 'quiet');
  const pub = await client(a);
  await pub.invokePublish('loud', 'x');
  await settle(300);
  assert.equal(quiet.messages, []);
});

test.run();
