// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { CloseCode, type GatehouseClaims } from '../../shared';
import { jwksOf, makeKeyPair, mintHs256, mintWithKey, nextEvent, waitFor } from '../helpers/gateway';
import { upgradeRequest } from '../helpers/raw-socket';
import { useScope } from '../helpers/scope';
import { freePort } from '../helpers/redis-server';

const SECRET = 'process-secret-process-secret-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-proc-'));
const scope = useScope(test);
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function start(env: Record<string, string>, args: string[] = ['start']) {
  const port = await freePort();
  const p = scope.gatehouse(args, { GATEHOUSE_PORT: String(port), GATEHOUSE_LOG_LEVEL: 'info', ...env });
  assert.is(await p.listeningPort(), port);
  return { p, port };
}

test('development mode: no key, listens on 127.0.0.1, says so, and its sample token authenticates', async () => {
  const { p, port } = await start({ GATEHOUSE_HOST: '0.0.0.0' });
  const token = (await p.waitForStderr(/^export SAMPLE_TOKEN=(\S+)$/m))[1];
  assert.match(p.stderr, `listening on ws://127.0.0.1:${port}/`);
  assert.match(p.stderr, 'DEVELOPMENT MODE');

  const { client, status } = await scope.connect(port, token);
  assert.is(status.isAuthenticated, true);
  assert.is(status.authError, undefined);
  assert.is((client.authToken as GatehouseClaims).sub, 'dev-user');
});

test("a configured key is not development mode, and a token of another process's key is refused", async () => {
  const { p, port } = await start({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_HOST: '127.0.0.1' });
  assert.not.match(p.stderr, 'DEVELOPMENT MODE');
  assert.not.match(p.stderr, 'SAMPLE_TOKEN');
  assert.is((await scope.connect(port, mintHs256({ sub: 'a' }, {}, SECRET))).status.isAuthenticated, true);
  const other = await scope.connect(port, mintHs256({ sub: 'a' }, {}, 'some-other-secret-some-other-secret-0123'));
  assert.is(other.status.authError?.name, 'AuthTokenInvalidError');
});

test('SIGTERM closes connected sockets with ShuttingDown (4100) and exits 0 within the shutdown timeout', async () => {
  const { p, port } = await start({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_SHUTDOWN_TIMEOUT: '3s' });
  const a = await scope.connect(port, mintHs256({ sub: 'a' }, {}, SECRET));
  const b = await scope.connect(port, null);
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
  const stuck = scope.own(netConnect(port, '127.0.0.1'), (socket) => socket.destroy(), 'TCP socket');
  stuck.on('error', () => {});
  await new Promise<void>((resolve) => {
    stuck.once('connect', () => stuck.write(upgradeRequest(port)));
    stuck.once('data', () => resolve());
  });
  p.signal('SIGTERM');
  assert.equal(await p.exit(1000 + 1500), { code: 0, signal: null });
});

test('SIGINT shuts down the same way', async () => {
  const { p, port } = await start({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_HOST: '127.0.0.1' });
  const { client } = await scope.connect(port, null);
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
  assert.is((await scope.connect(port, mintWithKey(k2, { sub: 'b' }))).status.authError?.name, 'AuthTokenInvalidError');

  writeFileSync(jwksFile, jwksOf(k1, k2));
  p.signal('SIGHUP');
  await waitFor(() => p.stdout.includes('JWK Set reloaded'), 4000, 'the reload log line');
  assert.is((await scope.connect(port, mintWithKey(k2, { sub: 'b' }))).status.isAuthenticated, true);
  assert.is((await scope.connect(port, mintWithKey(k1, { sub: 'a' }))).status.isAuthenticated, true);

  writeFileSync(jwksFile, '{"keys": [ this is not json');
  p.signal('SIGHUP');
  await waitFor(() => p.stdout.includes('JWK Set reload failed'), 4000, 'the failed-reload log line');
  assert.ok(p.running, 'a bad file does not stop the node');
  assert.is((await scope.connect(port, mintWithKey(k2, { sub: 'b' }))).status.isAuthenticated, true);
});

test.run();
