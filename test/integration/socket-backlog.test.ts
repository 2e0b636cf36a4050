import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Gateway } from '../../server/gateway';
import { MAX_INBOUND_BACKLOG, MAX_PENDING_REQUESTS } from '../../server/floods/socket-backlog';
import { DEFAULT_MAX_FEED_SILENCE_MS, type MirroredRevocationStore } from '../../server/revocation/mirrored-store';
import { CloseCode, ErrorName } from '../../shared';
import { mintHs256, nextEvent, waitFor } from '../helpers/gateway';
import { invokeLogin, reply, startLoginGateway, TestBackend } from '../helpers/login';
import type { TestRedis } from '../helpers/redis-server';
import { useScope } from '../helpers/scope';

// SocketCluster answers procedures one at a time per socket from an unbounded queue, so one anonymous socket could
// queue any number of logins while the backend was slow; and a socket's messages piled up unbounded in front of the
// middleware while it waited on Redis. server/floods/socket-backlog.ts bounds both.
const backend = new TestBackend();
let redis: TestRedis;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  await backend.start();
  suiteScope.defer(() => backend.stop(), 'login backend');
  redis = await suiteScope.redis();
});

test('one socket cannot queue unbounded logins while the backend is slow: past 4 waiting, TooManyRequestsError at once', async () => {
  backend.calls = 0;
  backend.handler = (_b, res) => backend.later(400, () => reply(res, 401, {}));
  const g = await startLoginGateway(
    {
      GATEHOUSE_LOGIN_URL: backend.url,
      GATEHOUSE_LOGIN_RATE_PER_IP: '100000',
      GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP: '100000',
      GATEHOUSE_LOGIN_MAX_FAILURES: '1000',
    },
    { loginTimeoutMs: 5000 },
  );
  scope.ownGateway(g);
  const client = scope.client(g, { ackTimeout: 10_000 });
  await nextEvent(client, 'connect');
  const socket = g.agServer.clients[client.id!];
  let peak = 0;
  scope.timer(
    setInterval(() => {
      peak = Math.max(peak, socket.getProcedureBackpressure('login'));
    }, 5),
  );
  const started = performance.now();
  const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => invokeLogin(client, { username: `u${i}`, password: 'x' })));
  const names = outcomes.map((o) => o.error?.name);
  const refused = names.filter((n) => n === ErrorName.TooManyRequests).length;
  const answered = names.filter((n) => n === ErrorName.Login).length;
  assert.is(refused + answered, 40, names.join(','));
  assert.ok(answered <= 1 + MAX_PENDING_REQUESTS + 1, `${answered} logins reached the backend`);
  assert.is(backend.calls, answered);
  assert.ok(peak <= MAX_PENDING_REQUESTS, `the socket's login queue peaked at ${peak}`);
  assert.ok(performance.now() - started < 4000, 'refusals are immediate, not queued');
  const refusal = outcomes.find((o) => o.error?.name === ErrorName.TooManyRequests)!.error as unknown as { procedure: string; pending: number };
  assert.is(refusal.procedure, 'login');
  assert.is(refusal.pending, MAX_PENDING_REQUESTS);
  assert.is(g.floods.get('procedure_backlog'), refused);
  // The socket is still served once its queue drains.
  backend.handler = (_b, res) => reply(res, 401, {});
  assert.is((await invokeLogin(client, { username: 'later', password: 'x' })).error?.name, ErrorName.Login);
});

async function pauseRedis(ms: number): Promise<void> {
  const admin = redis.client();
  try {
    await admin.call('CLIENT', 'PAUSE', String(ms), 'ALL');
  } finally {
    admin.disconnect();
  }
}

/**
 * Pauses Redis and waits until the gateway's mirror of the revocations has stopped answering (its feed silent for
 * DEFAULT_MAX_FEED_SILENCE_MS), so authentication waits on Redis.
 */
async function pauseRedisForAuthentication(g: Gateway, ms: number): Promise<void> {
  const mirror = g.revocation.store as MirroredRevocationStore;
  await waitFor(() => mirror.current, 3000, 'the mirror current');
  await pauseRedis(ms);
  await waitFor(() => !mirror.current, DEFAULT_MAX_FEED_SILENCE_MS + 1000, 'the mirror to stop answering');
}

test('a socket waiting on Redis for #authenticate is closed with InboundBacklog once its backlog passes the bound', async () => {
  const g = await scope.gateway({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_REDIS_TIMEOUT: '3s' });
  const bystander = await scope.connect(g, mintHs256({ sub: 'bystander' }));
  const raw = await scope.raw(g.address().port).open();
  await raw.call('#handshake', { authToken: null });
  await pauseRedisForAuthentication(g, 3000);
  raw.send(JSON.stringify({ event: '#authenticate', data: mintHs256({ sub: 'flooder' }), cid: 2 }));
  for (let i = 0; i < MAX_INBOUND_BACKLOG + 50; i++) raw.send(JSON.stringify({ event: 'noise', data: i }));
  assert.is(await raw.closeCode(3000), CloseCode.InboundBacklog);
  assert.is(g.floods.get('inbound_backlog'), 1);
  // Only the flooder is closed.
  assert.is(bystander.client.state, bystander.client.OPEN);
  bystander.client.disconnect();
});

test('a socket waiting on Redis for #subscribe is closed with InboundBacklog once its backlog passes the bound', async () => {
  const g = await scope.gateway({ GATEHOUSE_REDIS_URL: redis.url });
  const raw = await scope.raw(g.address().port).open();
  await raw.call('#handshake', { authToken: mintHs256({ sub: 'flooder', channels: ['room:*'] }) });
  await pauseRedis(1500);
  for (let i = 0; i < MAX_INBOUND_BACKLOG + 50; i++) raw.send(JSON.stringify({ event: '#subscribe', data: { channel: `room:${i}` }, cid: 10 + i }));
  assert.is(await raw.closeCode(3000), CloseCode.InboundBacklog);
});

test('a few large messages waiting on Redis pass the byte bound and close the socket with InboundBacklog', async () => {
  const g = await scope.gateway({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_REDIS_TIMEOUT: '3s' });
  const raw = await scope.raw(g.address().port).open();
  await raw.call('#handshake', { authToken: null });
  await pauseRedisForAuthentication(g, 3000);
  raw.send(JSON.stringify({ event: '#authenticate', data: mintHs256({ sub: 'flooder' }), cid: 2 }));
  const big = 'x'.repeat(60 * 1024);
  for (let i = 0; i < 20; i++) raw.send(JSON.stringify({ event: 'noise', data: big }));
  assert.is(await raw.closeCode(3000), CloseCode.InboundBacklog);
});

test('an ordinary burst within the bound is processed, not closed', async () => {
  const g = await scope.gateway();
  const raw = await scope.raw(g.address().port).open();
  await raw.call('#handshake', { authToken: mintHs256({ sub: 'burst', channels: ['room:*'] }) });
  for (let i = 0; i < 100; i++) raw.send(JSON.stringify({ event: '#subscribe', data: { channel: `room:${i}` }, cid: 10 + i }));
  await waitFor(() => raw.received.filter((m) => typeof (m as { rid?: number }).rid === 'number').length >= 101, 3000, 'every subscribe answered');
  assert.ok(raw.isOpen);
});

test.run();
