import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect as netConnect, type Socket } from 'node:net';
import type { AGClientSocket } from 'socketcluster-client';
import { Gateway } from '../../server/gateway';
import { createLogger } from '../../server/log';
import { CloseCode } from '../../shared';
import { connectWithToken, httpRequest, mintHs256, nextEvent, startGateway, testConfig, waitFor } from '../helpers/gateway';
import { upgradeRequest } from '../helpers/raw-socket';

const cleanup: (() => unknown)[] = [];
test.after.each(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function gateway(env: Record<string, string> = {}): Promise<Gateway> {
  const gw = await startGateway(env);
  cleanup.push(() => gw.close());
  return gw;
}

/**
 * A WebSocket client that completes the HTTP upgrade and then never answers anything, not even the close frame: it
 * holds a graceful shutdown open until the deadline.
 */
async function stuckWebSocket(port: number): Promise<Socket> {
  const socket = netConnect(port, '127.0.0.1');
  cleanup.push(() => socket.destroy());
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => {
      socket.write(upgradeRequest(port));
    });
    socket.once('data', (d) => (String(d).startsWith('HTTP/1.1 101') ? resolve() : reject(new Error(String(d)))));
  });
  return socket;
}

test('/healthz answers 200 while the process serves', async () => {
  const gw = await gateway();
  const r = await httpRequest(gw.address().port, '/healthz');
  assert.is(r.status, 200);
  assert.equal(r.body, { status: 'ok' });
});

test('/readyz answers 200 when ready; query strings are ignored', async () => {
  const gw = await gateway();
  assert.equal(await httpRequest(gw.address().port, '/readyz'), { status: 200, body: { status: 'ready' } });
  assert.is((await httpRequest(gw.address().port, '/readyz?probe=1')).status, 200);
});

test('an unknown path, or another method, answers a JSON 404', async () => {
  const gw = await gateway();
  for (const [path, method] of [
    ['/nope', 'GET'],
    ['/', 'GET'],
    ['/healthz', 'POST'],
    ['/readyz/x', 'GET'],
  ]) {
    const r = await httpRequest(gw.address().port, path, method);
    assert.is(r.status, 404, `${method} ${path}`);
    assert.is((r.body as { error: { name: string } }).error.name, 'NotFoundError');
  }
});

test('GET / without a page there says where WebSocket clients connect, and nothing about the configuration', async () => {
  const gw = await gateway();
  const r = await httpRequest(gw.address().port, '/');
  assert.is(r.status, 404);
  assert.equal(r.body, {
    error: {
      name: 'NotFoundError',
      message: 'This is a Gatehouse gateway: WebSocket clients connect to /socketcluster/. No page is served at /: GATEHOUSE_DEMO=1 serves the demo page here.',
    },
  });
  // A page a feature serves at / (the demo) wins over that answer, whenever its route was added.
  gw.addRoute((req, res) => {
    if (req.url !== '/') return false;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('a page');
    return true;
  });
  const page = await fetch(`http://127.0.0.1:${gw.address().port}/`);
  assert.is(page.status, 200);
  assert.is(await page.text(), 'a page');
});

test('/readyz answers 503 with the reasons a readiness check gives', async () => {
  const gw = await gateway();
  let redisDown = true;
  gw.addReadinessCheck(() => (redisDown ? 'redis unreachable' : undefined));
  const r = await httpRequest(gw.address().port, '/readyz');
  assert.is(r.status, 503);
  assert.equal(r.body, { status: 'unavailable', reasons: ['redis unreachable'] });
  redisDown = false;
  assert.is((await httpRequest(gw.address().port, '/readyz')).status, 200);
});

test('a gateway that has not started listening is not ready', async () => {
  const config = testConfig();
  const gw = new Gateway(config, { log: createLogger('silent') });
  try {
    assert.equal(gw.notReadyReasons(), ['starting']);
  } finally {
    await gw.close();
  }
});

test('while draining: /readyz 503, /healthz 200, new sockets refused, open sockets closed with ShuttingDown', async () => {
  const gw = await gateway({ GATEHOUSE_SHUTDOWN_TIMEOUT: '1500ms' });
  const port = gw.address().port;
  const { client } = await connectWithToken(gw, mintHs256({ sub: 'alice' }));
  cleanup.push(() => client.disconnect());
  const closed = nextEvent<{ code: number }>(client, 'close', 3000);
  await stuckWebSocket(port);
  await waitFor(() => gw.agServer.pendingClientsCount === 1, 2000, 'the stuck socket to be pending');

  const closing = gw.close();
  assert.is(gw.state, 'draining');
  assert.is((await closed).code, CloseCode.ShuttingDown);

  const ready = await httpRequest(port, '/readyz');
  assert.is(ready.status, 503);
  assert.equal(ready.body, { status: 'unavailable', reasons: ['draining'] });
  assert.is((await httpRequest(port, '/healthz')).status, 200);

  const late: AGClientSocket = (await import('socketcluster-client')).create({
    hostname: '127.0.0.1',
    port,
    autoReconnect: false,
    connectTimeout: 2000,
  });
  cleanup.push(() => late.disconnect());
  const lateClose = await nextEvent<{ code: number }>(late, 'close', 3000);
  assert.is.not(lateClose.code, undefined);
  assert.is(late.state, late.CLOSED);

  await closing;
  assert.is(gw.state, 'closed');
  await httpRequest(port, '/healthz').then(
    () => assert.unreachable('the listener is closed after the drain'),
    (err: NodeJS.ErrnoException) => assert.is(err.code, 'ECONNREFUSED'),
  );
});

test('a gateway on a frozen token clock still finishes its shutdown at the timeout', async () => {
  const config = testConfig({ GATEHOUSE_SHUTDOWN_TIMEOUT: '500ms' });
  const gw = new Gateway(config, { log: createLogger('silent'), clock: { now: () => 1_700_000_000_000 } });
  await gw.listen();
  cleanup.push(() => gw.close());
  await stuckWebSocket(gw.address().port);
  await waitFor(() => gw.agServer.pendingClientsCount === 1, 2000, 'the stuck socket to be pending');
  await Promise.race([gw.close(), new Promise((_, reject) => setTimeout(() => reject(new Error('shutdown hung')), 3000).unref())]);
  assert.is(gw.state, 'closed');
});

test('close() is idempotent', async () => {
  const gw = await startGateway();
  const a = gw.close();
  const b = gw.close();
  assert.is(a, b);
  await a;
  assert.is(gw.state, 'closed');
});

test.run();
