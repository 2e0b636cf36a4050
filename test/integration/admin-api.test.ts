import { request as httpRequest } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Gateway } from '../../server/gateway';
import { CloseCode, ErrorName } from '../../shared';
import { ADMIN_KEY, PUBLISH_KEY, admin } from '../helpers/admin';
import { subscribe } from '../helpers/channels';
import { mintHs256, nextEvent } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

let gw: Gateway;
let keyless: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  [gw, keyless] = await Promise.all([
    suiteScope.gateway({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_ADMIN_KEYS: `publish:${PUBLISH_KEY}` }),
    suiteScope.gateway(),
  ]);
});

async function user(sub: string, g: Gateway = gw) {
  const { client, status } = await scope.connect(g, mintHs256({ sub, channels: ['*'] }));
  assert.is(status.isAuthenticated, true);
  return client;
}

const port = (g: Gateway) => g.address().port;

test('without GATEHOUSE_ADMIN_KEY or GATEHOUSE_ADMIN_KEYS every admin route answers 404', async () => {
  for (const [method, path] of [
    ['POST', '/admin/revoke'],
    ['POST', '/admin/disconnect'],
    ['POST', '/admin/publish'],
    ['GET', '/admin/nodes'],
  ] as const) {
    const r = await admin(port(keyless), method, path, method === 'POST' ? { sub: 'x' } : undefined);
    assert.is(r.status, 404, path);
    // It says what turns the API on, and nothing else about the node.
    assert.equal(r.body, { error: { name: 'NotFoundError', message: 'The admin API is off; GATEHOUSE_ADMIN_KEY or GATEHOUSE_ADMIN_KEYS turns it on' } });
  }
});

test('a missing or wrong key gets 401 and changes nothing', async () => {
  const victim = await user('victim');
  for (const key of [null, 'wrong-key', `${ADMIN_KEY}x`, ADMIN_KEY.slice(0, -1), '']) {
    const r = await admin(port(gw), 'POST', '/admin/revoke', { sub: 'victim' }, key);
    assert.is(r.status, 401, `key ${key}`);
    assert.is(r.body.error.name, 'UnauthorizedError');
    assert.is(r.headers.get('www-authenticate'), 'Bearer');
  }
  const basic = await fetch(`http://127.0.0.1:${port(gw)}/admin/nodes`, {
    headers: { authorization: `Basic ${Buffer.from(`x:${ADMIN_KEY}`).toString('base64')}` },
  });
  assert.is(basic.status, 401);
  await new Promise((r) => setTimeout(r, 50));
  assert.is(victim.state, victim.OPEN);
  assert.is(victim.authState, 'authenticated');
  const { status } = await scope.connect(gw, mintHs256({ sub: 'victim' }));
  assert.is(status.isAuthenticated, true, 'nothing was revoked');
});

test('a publish-only key publishes, and gets 403 ForbiddenError naming the scope on revoke, disconnect and reads, changing nothing', async () => {
  const c = await user('subscriber');
  const inbox = await subscribe(c, 'alerts:all');
  const published = await admin(port(gw), 'POST', '/admin/publish', { channel: 'alerts:all', data: 'from the backend' }, PUBLISH_KEY);
  assert.is(published.status, 200);
  assert.equal(published.body, { published: true });
  await inbox.waitFor(1);
  assert.equal(inbox.messages, ['from the backend']);

  const victim = await user('kept');
  for (const [method, path, body, scope] of [
    ['POST', '/admin/revoke', { sub: 'kept' }, 'revoke'],
    ['POST', '/admin/disconnect', { sub: 'kept' }, 'disconnect'],
    ['GET', '/admin/nodes', undefined, 'read'],
  ] as const) {
    const r = await admin(port(gw), method, path, body, PUBLISH_KEY);
    assert.is(r.status, 403, path);
    assert.is(r.body.error.name, 'ForbiddenError', path);
    assert.is(r.body.error.scope, scope, path);
  }
  await new Promise((r) => setTimeout(r, 100));
  assert.is(victim.state, victim.OPEN, 'not disconnected');
  assert.is(victim.authState, 'authenticated', 'not revoked');
  const again = await scope.connect(gw, mintHs256({ sub: 'kept' }));
  assert.is(again.status.isAuthenticated, true, 'nothing was revoked');

  // The full key still does all of it; a wrong key is still a 401, and an unknown path a 404 for either key.
  assert.is((await admin(port(gw), 'GET', '/admin/nodes')).status, 200);
  assert.is((await admin(port(gw), 'POST', '/admin/publish', { channel: 'alerts:all', data: 'admin' })).status, 200);
  assert.is((await admin(port(gw), 'POST', '/admin/publish', { channel: 'alerts:all', data: 'x' }, `${PUBLISH_KEY}x`)).status, 401);
  assert.is((await admin(port(gw), 'GET', '/admin/elsewhere', undefined, PUBLISH_KEY)).status, 404);
});

const badBodies: [string, unknown, string?][] = [
  ['bad JSON', undefined, '{"sub": '],
  ['not an object', ['sub']],
  ['empty object', {}],
  ['two targets', { sub: 'a', sid: 'b' }],
  ['unknown field', { sub: 'a', force: true }],
  ['wrong type', { sub: 42 }],
  ['empty id', { jti: '' }],
  ['over-long sub', { sub: 'x'.repeat(129) }],
  ['oversized body', undefined, JSON.stringify({ sub: 'x'.repeat(70 * 1024) })],
];
for (const [name, body, raw] of badBodies) {
  test(`POST /admin/revoke with ${name} answers 400 BadRequestError and changes nothing`, async () => {
    const victim = await user('bystander');
    const r = await admin(port(gw), 'POST', '/admin/revoke', body, ADMIN_KEY, raw);
    assert.is(r.status, 400);
    assert.is(r.body.error.name, ErrorName.BadRequest);
    assert.type(r.body.error.message, 'string');
    await new Promise((res) => setTimeout(res, 30));
    assert.is(victim.authState, 'authenticated');
  });
}

test('a wrong content type is a 400; a wrong method a 405; an unknown admin path a 404', async () => {
  const r = await fetch(`http://127.0.0.1:${port(gw)}/admin/revoke`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'text/plain' },
    body: '{"sub":"a"}',
  });
  assert.is(r.status, 400);
  assert.is((await admin(port(gw), 'GET', '/admin/revoke')).status, 405);
  assert.is((await admin(port(gw), 'GET', '/admin/nope')).status, 404);
});

test("POST /admin/revoke {sub} closes the user's sockets with TokenRevoked and counts them", async () => {
  const [a, b] = [await user('mallory'), await user('mallory')];
  const other = await user('alice');
  const closes = [a, b].map((c) => nextEvent<{ code: number }>(c, 'close', 3000));
  const r = await admin(port(gw), 'POST', '/admin/revoke', { sub: 'mallory' });
  assert.is(r.status, 200);
  assert.equal(r.body.revoked.kind, 'sub');
  assert.equal(r.body.disconnected, { [gw.nodeId]: 2 });
  assert.equal(r.body.unanswered, []);
  for (const c of await Promise.all(closes)) assert.is(c.code, CloseCode.TokenRevoked);
  assert.is(other.authState, 'authenticated');
  const again = await scope.connect(gw, mintHs256({ sub: 'mallory', iat: Math.floor(Date.now() / 1000) - 1 }));
  assert.is(again.status.authError?.name, ErrorName.AuthTokenRevoked);
});

test('POST /admin/revoke {jti} and {sid}', async () => {
  const jtiClient = await (async () => {
    const { client } = await scope.connect(gw, mintHs256({ sub: 'j', jti: 'jti-1' }));
    return client;
  })();
  const closed = nextEvent<{ code: number }>(jtiClient, 'close');
  const r = await admin(port(gw), 'POST', '/admin/revoke', { jti: 'jti-1' });
  assert.equal(r.body.disconnected, { [gw.nodeId]: 1 });
  assert.is((await closed).code, CloseCode.TokenRevoked);
  const s = await admin(port(gw), 'POST', '/admin/revoke', { sid: 'no-such-session' });
  assert.equal(s.body.disconnected, { [gw.nodeId]: 0 });
});

test("POST /admin/disconnect {sub} closes the user's sockets with DisconnectedByAdmin, without revoking", async () => {
  const c = await user('dora');
  const closed = nextEvent<{ code: number }>(c, 'close');
  const r = await admin(port(gw), 'POST', '/admin/disconnect', { sub: 'dora' });
  assert.is(r.status, 200);
  assert.equal(r.body, { disconnected: { [gw.nodeId]: 1 }, unanswered: [] });
  assert.is((await closed).code, CloseCode.DisconnectedByAdmin);
  const back = await scope.connect(gw, mintHs256({ sub: 'dora' }));
  assert.is(back.status.isAuthenticated, true, 'a disconnect is not a revocation');
});

test('POST /admin/publish publishes as the server; a bad channel is a 400', async () => {
  const c = await user('reader');
  const inbox = await subscribe(c, 'news:today');
  const r = await admin(port(gw), 'POST', '/admin/publish', { channel: 'news:today', data: { headline: 'hi' } });
  assert.is(r.status, 200);
  await inbox.waitFor(1);
  assert.equal(inbox.messages, [{ headline: 'hi' }]);
  for (const body of [
    { channel: '', data: 1 },
    { channel: 'a\u0000b', data: 1 },
    { channel: 'x'.repeat(300), data: 1 },
    { channel: 'ok' },
    { channel: 1, data: 1 },
  ]) {
    const bad = await admin(port(gw), 'POST', '/admin/publish', body);
    assert.is(bad.status, 400, JSON.stringify(body).slice(0, 40));
    assert.is(bad.body.error.name, ErrorName.BadRequest);
  }
});

test('POST /admin/publish with data JSON cannot carry (nested too deeply) is a 400 and reaches nobody', async () => {
  const c = await user('reader-deep');
  const inbox = await subscribe(c, 'news:deep');
  const depth = 20_000;
  const raw = `{"channel":"news:deep","data":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const bad = await admin(port(gw), 'POST', '/admin/publish', undefined, ADMIN_KEY, raw);
  assert.is(bad.status, 400);
  assert.is(bad.body.error.name, ErrorName.BadRequest);
  assert.is((await admin(port(gw), 'POST', '/admin/publish', { channel: 'news:deep', data: 'after' })).status, 200);
  await inbox.waitFor(1);
  assert.equal(inbox.messages, ['after']);
});

test('GET /admin/nodes lists this node with its connection count', async () => {
  await user('n1');
  const r = await admin(port(gw), 'GET', '/admin/nodes');
  assert.is(r.status, 200);
  assert.is(r.body.nodes.length, 1);
  assert.is(r.body.nodes[0].nodeId, gw.nodeId);
  assert.ok(r.body.nodes[0].connections >= 1);
});

test('/metrics shows the named gatehouse_ series', async () => {
  await user('m1');
  await scope.connect(gw, mintHs256({ sub: 'm2', exp: 1, iat: 0 }));
  const r = await admin(port(gw), 'GET', '/metrics', undefined, null);
  assert.is(r.status, 200);
  const text = r.text;
  for (const series of [
    'gatehouse_connections',
    'gatehouse_authenticated_sockets',
    'gatehouse_handshakes_total{',
    'gatehouse_renewals_total',
    'gatehouse_expiries_total',
    'gatehouse_revocations_applied_total',
    'gatehouse_publishes_total',
    'gatehouse_denials_total{',
    'gatehouse_revocation_propagation_seconds_bucket',
    'gatehouse_redis_round_trip_seconds',
  ])
    assert.ok(text.includes(series), series);
  assert.match(text, /gatehouse_handshakes_total\{[^}]*outcome="authenticated"[^}]*\} [1-9]/);
  assert.match(text, /gatehouse_handshakes_total\{[^}]*outcome="AuthTokenExpiredError"[^}]*\} [1-9]/);
  assert.match(text, /gatehouse_revocations_applied_total\{[^}]*\} [1-9]/);
  assert.ok(!text.includes(ADMIN_KEY));
});

test('/metrics shows the process and Node runtime series (CPU, heap, event-loop lag)', async () => {
  const first = (await admin(port(gw), 'GET', '/metrics', undefined, null)).text;
  // The lag gauge is measured at one scrape and shown from the next.
  const text = first.includes('nodejs_eventloop_lag_seconds ') ? first : (await admin(port(gw), 'GET', '/metrics', undefined, null)).text;
  for (const series of [
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_eventloop_lag_p99_seconds',
  ])
    assert.match(text, new RegExp(`^${series}(\\{[^}]*\\})? [0-9.e+-]+$`, 'm'), series);
  assert.is(text.match(/^# TYPE nodejs_heap_size_used_bytes /gm)?.length, 1, 'each series once');
  assert.ok(text.includes('gatehouse_connections'), "the node's own series stay");
});

test('GATEHOUSE_METRICS_KEY: /metrics needs it as a bearer key; none, a wrong one or an admin key gets 401 UnauthorizedError', async () => {
  const metricsKey = 'metrics-key-for-tests-0123456789';
  const guarded = await scope.gateway({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_METRICS_KEY: metricsKey });
  for (const key of [null, 'wrong-key', `${metricsKey}x`, metricsKey.slice(0, -1), ADMIN_KEY]) {
    const r = await admin(port(guarded), 'GET', '/metrics', undefined, key);
    assert.is(r.status, 401, `key ${key}`);
    assert.is(r.body.error.name, 'UnauthorizedError');
    assert.is(r.headers.get('www-authenticate'), 'Bearer');
    assert.ok(!r.text.includes('gatehouse_'), 'no figures');
  }
  const r = await admin(port(guarded), 'GET', '/metrics', undefined, metricsKey);
  assert.is(r.status, 200);
  assert.ok(r.text.includes('gatehouse_connections'));
  assert.is((await admin(port(guarded), 'GET', '/admin/nodes', undefined, metricsKey)).status, 401, 'the metrics key opens no admin route');
});

test('GATEHOUSE_METRICS_KEY: no path, query or method trick reads the figures without it', async () => {
  const metricsKey = 'metrics-key-for-tests-0123456789';
  const guarded = await scope.gateway({ GATEHOUSE_METRICS_KEY: metricsKey });
  const raw = (method: string, path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: port(guarded), method, path, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  for (const [method, path, headers] of [
    ['GET', '/metrics?x=1'],
    ['GET', '/metrics/'],
    ['GET', '//metrics'],
    ['GET', '/metrics%2F'],
    ['GET', '/./metrics'],
    ['GET', '/METRICS'],
    ['GET', '/metrics#x'],
    ['HEAD', '/metrics'],
    ['GET', `http://127.0.0.1/metrics`],
    ['GET', '/metrics', { authorization: `bearer ${metricsKey}` }],
    ['GET', '/metrics', { authorization: `Bearer  ${metricsKey}` }],
    ['GET', '/metrics', { authorization: metricsKey }],
  ] as [string, string, Record<string, string>?][]) {
    const r = await raw(method, path, headers);
    assert.ok(r.status === 401 || r.status === 404, `${method} ${path} ${JSON.stringify(headers ?? {})}: ${r.status}`);
    assert.not.ok(r.body.includes('gatehouse_'), `${method} ${path}: no figures`);
  }
  assert.is((await raw('GET', '/metrics?x=1', { authorization: `Bearer ${metricsKey}` })).status, 200);
});

test('GATEHOUSE_ADMIN_PORT moves /admin and /metrics off the public port', async () => {
  const split = await scope.gateway({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_ADMIN_PORT: '0' });
  const adminPort = split.operations.adminAddress()!.port;
  assert.is.not(adminPort, port(split));
  const moved = await admin(port(split), 'GET', '/admin/nodes');
  assert.is(moved.status, 404);
  assert.equal(moved.body, { error: { name: 'NotFoundError', message: 'Not found' } }, 'nothing says where the admin API went');
  assert.is((await admin(port(split), 'GET', '/metrics', undefined, null)).status, 404);
  assert.is((await admin(adminPort, 'GET', '/admin/nodes')).status, 200);
  assert.is((await admin(adminPort, 'GET', '/admin/nodes', undefined, 'wrong')).status, 401);
  assert.is((await admin(adminPort, 'GET', '/metrics', undefined, null)).status, 200);
});

test.run();
