import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { CloseCode } from '../../shared';
import { Gateway } from '../../server/gateway';
import { createLogger } from '../../server/log';
import { mintHs256, nextEvent, sleep, storedToken, testConfig } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { textOf } from '../helpers/raw-socket';

let gw: Gateway;
let open: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  // The demo on: the gateway then allows its own origin, for the page it serves.
  gw = await suiteScope.gateway({ GATEHOUSE_ORIGINS: 'https://app.example.com, http://localhost:3000', GATEHOUSE_DEMO: '1' });
  open = await suiteScope.gateway();
});

/**
 * Connects like a browser would (an Origin header) or like a Node client (none), and says whether the gateway let
 * it in: 'connected' (with its auth state) or 'refused'.
 */
async function tryOrigin(target: Gateway, origin: string | undefined, headers: Record<string, string> = {}): Promise<string> {
  const client = scope.client(target, {
    authEngine: storedToken(mintHs256({ sub: 'alice' })),
    wsOptions: { headers, ...(origin === undefined ? {} : { origin }) },
  });
  const events = client as unknown as {
    listener(n: string): { once(): Promise<{ isAuthenticated?: boolean }> };
    closeListener(n: string): void;
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      events
        .listener('connect')
        .once()
        .then((s) => (s.isAuthenticated ? 'connected+authenticated' : 'connected')),
      events
        .listener('close')
        .once()
        .then(() => 'refused'),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('neither connected nor closed in 3s')), 3000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    events.closeListener('connect');
    events.closeListener('close');
  }
}

const cases: [string | undefined, string][] = [
  ['https://app.example.com', 'connected+authenticated'],
  ['https://app.example.com:443', 'connected+authenticated'],
  ['HTTPS://APP.EXAMPLE.COM', 'connected+authenticated'],
  ['http://localhost:3000', 'connected+authenticated'],
  [undefined, 'connected+authenticated'],
  ['https://evil.example', 'refused'],
  ['http://app.example.com', 'refused'],
  ['https://app.example.com:8443', 'refused'],
  ['https://app.example.com.evil.example', 'refused'],
  ['http://localhost:3001', 'refused'],
  ['null', 'refused'],
  ['not a url', 'refused'],
];
for (const [origin, expected] of cases) {
  test(`GATEHOUSE_ORIGINS: Origin ${origin === undefined ? '(none, a non-browser client)' : JSON.stringify(origin)} is ${expected}`, async () => {
    assert.is(await tryOrigin(gw, origin), expected);
  });
}

test("the gateway's own origin (its scheme and the Host asked for) is allowed beside GATEHOUSE_ORIGINS: the demo works", async () => {
  const port = gw.address().port;
  assert.is(await tryOrigin(gw, `http://127.0.0.1:${port}`), 'connected+authenticated');
  assert.is(await tryOrigin(gw, `HTTP://127.0.0.1:${port}/`), 'connected+authenticated');
});

test('without the demo the own origin is refused like any other: a name pointed at the node (DNS rebinding) gains nothing', async () => {
  const plain = await scope.gateway({ GATEHOUSE_ORIGINS: 'https://app.example.com' });
  const port = plain.address().port;
  assert.is(await tryOrigin(plain, `http://127.0.0.1:${port}`), 'refused');
  assert.is(await tryOrigin(plain, `http://rebound.evil.example:${port}`, { host: `rebound.evil.example:${port}` }), 'refused');
  assert.is(await tryOrigin(plain, 'https://app.example.com'), 'connected+authenticated', 'the list still holds');
});

test('own origin for every name a browser sends in Host: a fully qualified name (trailing dot), an underscore', async () => {
  const port = gw.address().port;
  for (const name of ['localhost.', 'gatehouse_demo', 'LocalHost.']) {
    const origin = `http://${name.toLowerCase()}:${port}`;
    assert.is(await tryOrigin(gw, origin, { host: `${name}:${port}` }), 'connected+authenticated', name);
  }
  assert.is(await tryOrigin(gw, `http://localhost:${port}`, { host: `localhost.:${port}` }), 'refused', 'the dot makes another origin');
  assert.is(await tryOrigin(gw, `http://localhost.:${port}`, { host: `localhost..:${port}` }), 'refused');
});

test('only the exact own origin: another scheme, port or name, or a name that merely contains the host, is refused', async () => {
  const port = gw.address().port;
  for (const origin of [
    `https://127.0.0.1:${port}`,
    `http://127.0.0.1:${port + 1}`,
    'http://127.0.0.1',
    `http://localhost:${port}`,
    `http://127.0.0.1.evil.example:${port}`,
    `http://evil.example:${port}`,
    `http://127.0.0.1:${port}@evil.example`,
    `http://evil.example/http://127.0.0.1:${port}`,
  ]) {
    assert.is(await tryOrigin(gw, origin), 'refused', origin);
  }
  // A Host header that is not a plain host[:port] gives no own origin to match.
  assert.is(await tryOrigin(gw, 'http://evil.example', { host: `evil.example/127.0.0.1:${port}` }), 'refused');
});

test('own origin over https: believed from X-Forwarded-Proto only when the peer is a trusted proxy', async () => {
  const port = gw.address().port;
  assert.is(await tryOrigin(gw, `https://127.0.0.1:${port}`, { 'x-forwarded-proto': 'https' }), 'refused', 'untrusted peer');
  const proxied = await scope.gateway({ GATEHOUSE_ORIGINS: 'https://app.example.com', GATEHOUSE_TRUST_PROXY: '127.0.0.1', GATEHOUSE_DEMO: '1' });
  const own = `127.0.0.1:${proxied.address().port}`;
  assert.is(await tryOrigin(proxied, `https://${own}`, { 'x-forwarded-proto': 'https' }), 'connected+authenticated');
  assert.is(await tryOrigin(proxied, `https://${own}`, { 'x-forwarded-proto': 'https, http' }), 'refused', "the proxy's own entry is the last");
  assert.is(await tryOrigin(proxied, `http://${own}`, { 'x-forwarded-proto': 'https' }), 'refused');
  assert.is(await tryOrigin(proxied, `http://${own}`), 'connected+authenticated');
});

test('a refused origin never reaches the WebSocket layer', async () => {
  const before = gw.agServer.clientsCount + gw.agServer.pendingClientsCount;
  assert.is(await tryOrigin(gw, 'https://evil.example'), 'refused');
  assert.is(gw.agServer.clientsCount + gw.agServer.pendingClientsCount, before);
});

test('a refused origin is closed with the final code 4504 OriginNotAllowed, and the stock client does not retry', async () => {
  const client = scope.client(gw, { autoReconnect: true, wsOptions: { origin: 'https://evil.example' } });
  const abort = await nextEvent<{ code: number; reason: string }>(client, 'connectAbort');
  assert.is(abort.code, CloseCode.OriginNotAllowed);
  assert.is(abort.reason, 'Origin not allowed');
  let attempts = 0;
  void (async () => {
    for await (const _ of (client as unknown as { listener(n: string): AsyncIterable<unknown> }).listener('connecting')) attempts++;
  })();
  await sleep(1500);
  assert.is(attempts, 0, 'no reconnect attempt');
  assert.is(client.state, client.CLOSED);
});

test('nothing a refused socket sends is read: a #handshake with a valid token gets no answer and authenticates nothing', async () => {
  const seen: string[] = [];
  const server = gw.agServer as unknown as { listener(n: string): AsyncIterable<unknown>; closeListener(n: string): void };
  for (const name of ['handshake', 'connection', 'authentication'])
    void (async () => {
      for await (const _ of server.listener(name)) seen.push(name);
    })();
  const ws = scope.own(new WebSocket(gw.url, { origin: 'https://evil.example' }), (w) => w.terminate(), 'raw socket');
  const frames: string[] = [];
  ws.on('open', () => ws.send(JSON.stringify({ event: '#handshake', data: { authToken: mintHs256({ sub: 'mallory' }) }, cid: 1 })));
  ws.on('message', (d) => frames.push(textOf(d)));
  const [code, reason] = await new Promise<[number, string]>((resolve) => ws.on('close', (c, r) => resolve([c, String(r)])));
  assert.is(code, CloseCode.OriginNotAllowed);
  assert.is(reason, 'Origin not allowed');
  assert.equal(frames, []);
  await sleep(100);
  assert.equal(seen, []);
  for (const name of ['handshake', 'connection', 'authentication']) server.closeListener(name);
});

test('refused origins are counted by reason in gatehouse_upgrades_refused_total', async () => {
  const before = gw.upgrades.refusals.origin;
  assert.is(await tryOrigin(gw, 'https://evil.example'), 'refused');
  assert.is(gw.upgrades.refusals.origin, before + 1);
  const { body } = await gw.metrics.expose();
  assert.match(body, new RegExp(`gatehouse_upgrades_refused_total\\{reason="origin",node="[^"]+"\\} ${before + 1}`));
});

test('a refused origin is logged at warn with the origin, the address and a count, at most once a minute', async () => {
  const lines: string[] = [];
  const config = testConfig({ GATEHOUSE_ORIGINS: 'https://app.example.com', GATEHOUSE_LOG_LEVEL: 'info' });
  const logged = scope.ownGateway(new Gateway(config, { log: createLogger('info', {}, { write: (line) => void lines.push(line) }) }));
  await logged.listen();
  assert.is(await tryOrigin(logged, 'https://evil.example'), 'refused');
  assert.is(await tryOrigin(logged, 'https://evil.example'), 'refused');
  const refusals = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'WebSocket refused: origin not allowed');
  assert.is(refusals.length, 1);
  assert.is(refusals[0].level, 40);
  assert.is(refusals[0].origin, 'https://evil.example');
  assert.is(refusals[0].ip, '127.0.0.1');
  assert.is(refusals[0].count, 1);
  assert.is(logged.upgrades.refusals.origin, 2);
});

test('without GATEHOUSE_ORIGINS any origin connects', async () => {
  assert.is(await tryOrigin(open, 'https://anything.example'), 'connected+authenticated');
  assert.is(await tryOrigin(open, undefined), 'connected+authenticated');
});

test.run();
