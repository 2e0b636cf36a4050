// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import * as socketClusterClient from 'socketcluster-client';
import type { AGClientSocket } from 'socketcluster-client';
import { CloseCode, type GatehouseClaims } from '../../shared';
import { jwksOf, makeKeyPair, mintHs256, mintWithKey, nextEvent, storedToken, waitFor, type ConnectStatus } from '../helpers/gateway';
import { GatehouseProcess } from '../helpers/process';
import { freePort } from '../helpers/redis-server';

const SECRET = 'process-secret-process-secret-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-proc-'));
const processes: GatehouseProcess[] = [];
const clients: AGClientSocket[] = [];
const sockets: Socket[] = [];

test.after.each(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(processes.splice(0).map((p) => p.stop()));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function start(env: Record<string, string>, args: string[] = ['start']) {
  const port = await freePort();
  const p = new GatehouseProcess(args, { GATEHOUSE_PORT: String(port), GATEHOUSE_LOG_LEVEL: 'info', ...env });
  processes.push(p);
  assert.is(await p.listeningPort(), port);
  return { p, port };
}

async function connect(port: number, token: string | null) {
  const auth = storedToken(token);
  const client = socketClusterClient.create({
    hostname: '127.0.0.1', port, autoReconnect: false, ackTimeout: 2000, connectTimeout: 3000, authEngine: auth as never,
  });
  clients.push(client);
  const status = await nextEvent<ConnectStatus>(client, 'connect');
  return { client, status };
}

test('development mode: no key, listens on 127.0.0.1, says so, and its sample token authenticates', async () => {
  const { p, port } = await start({ GATEHOUSE_HOST: '0.0.0.0' });
  const token = (await p.waitForStderr(/^export SAMPLE_TOKEN=(\S+)$/m))[1];
  assert.match(p.stderr, `listening on ws://127.0.0.1:${port}/`);
  assert.match(p.stderr, 'DEVELOPMENT MODE');

  const { client, status } = await connect(port, token);
  assert.is(status.isAuthenticated, true);
  assert.is(status.authError, undefined);
  assert.is((client.authToken as GatehouseClaims).sub, 'dev-user');
});

test('a configured key is not development mode, and a token of another process\'s key is refused', async () => {
  const { p, port } = await start({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_HOST: '127.0.0.1' });
  assert.not.match(p.stderr, 'DEVELOPMENT MODE');
  assert.not.match(p.stderr, 'SAMPLE_TOKEN');
  assert.is((await connect(port, mintHs256({ sub: 'a' }, {}, SECRET))).status.isAuthenticated, true);
  const other = await connect(port, mintHs256({ sub: 'a' }, {}, 'some-other-secret-some-other-secret-0123'));
  assert.is(other.status.authError?.name, 'AuthTokenInvalidError');
});

test('SIGTERM closes connected sockets with ShuttingDown (4100) and exits 0 within the shutdown timeout', async () => {
  const { p, port } = await start({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_SHUTDOWN_TIMEOUT: '3s' });
  const a = await connect(port, mintHs256({ sub: 'a' }, {}, SECRET));
  const b = await connect(port, null);
  assert.is(a.status.isAuthenticated, true);
  const closes = [a, b].map(({ client }) => nextEvent<{ code: number; reason?: string }>(client, 'close', 5000));
  const disconnect = nextEvent<{ code: number }>(a.client, 'disconnect', 5000);

  const sent = Date.now();
  p.signal('SIGTERM');
  const [ca, cb] = await Promise.all(closes);
  assert.is(ca.code, CloseCode.ShuttingDown);
  assert.is(cb.code, CloseCode.ShuttingDown);
  assert.is((await disconnect).code, CloseCode.ShuttingDown);
  const exit = await p.exit(3000 + 1500);
  assert.equal(exit, { code: 0, signal: null });
  assert.ok(Date.now() - sent < 3000 + 1500);
  assert.match(p.stdout, '"msg":"shut down"');
});

test('SIGTERM with a client that never answers the close still exits 0, at the shutdown timeout', async () => {
  const { p, port } = await start({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_SHUTDOWN_TIMEOUT: '1s' });
  const stuck = netConnect(port, '127.0.0.1');
  sockets.push(stuck);
  stuck.on('error', () => {});
  await new Promise<void>((resolve) => {
    stuck.once('connect', () => stuck.write([
      'GET /socketcluster/ HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', '', '',
    ].join('\r\n')));
    stuck.once('data', () => resolve());
  });
  p.signal('SIGTERM');
  assert.equal(await p.exit(1000 + 1500), { code: 0, signal: null });
});

test('SIGINT shuts down the same way', async () => {
  const { p, port } = await start({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_HOST: '127.0.0.1' });
  const { client } = await connect(port, null);
  const closed = nextEvent<{ code: number }>(client, 'close', 5000);
  p.signal('SIGINT');
  assert.is((await closed).code, CloseCode.ShuttingDown);
  assert.equal(await p.exit(4000), { code: 0, signal: null });
});

test('SIGHUP re-reads GATEHOUSE_JWKS_FILE: a new key works after it; a bad file keeps the old keys', async () => {
  const k1 = makeKeyPair('ES256', 'k1');
  const k2 = makeKeyPair('ES256', 'k2');
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, jwksOf(k1));
  const { p, port } = await start({ GATEHOUSE_JWKS_FILE: jwksFile, GATEHOUSE_HOST: '127.0.0.1' });
  assert.is((await connect(port, mintWithKey(k2, { sub: 'b' }))).status.authError?.name, 'AuthTokenInvalidError');

  writeFileSync(jwksFile, jwksOf(k1, k2));
  p.signal('SIGHUP');
  await waitFor(() => p.stdout.includes('JWK Set reloaded'), 4000, 'the reload log line');
  assert.is((await connect(port, mintWithKey(k2, { sub: 'b' }))).status.isAuthenticated, true);
  assert.is((await connect(port, mintWithKey(k1, { sub: 'a' }))).status.isAuthenticated, true);

  writeFileSync(jwksFile, '{"keys": [ this is not json');
  p.signal('SIGHUP');
  await waitFor(() => p.stdout.includes('JWK Set reload failed'), 4000, 'the failed-reload log line');
  assert.ok(p.running, 'a bad file does not stop the node');
  assert.is((await connect(port, mintWithKey(k2, { sub: 'b' }))).status.isAuthenticated, true);
});

test.run();
