// budget: 150s
// The client library in real Chromium, for three defects first tested in Node only: the reconnect backoff against an
// endpoint that closes every socket after its handshake, the storage key of two gateways behind one host under
// different paths, and messages another script of the origin posts on the client's tab channel. Each test failed on
// the client before its fix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Gateway } from '../../server/gateway';
import { CloseCode } from '../../shared/close-codes';
import { buildClient, launchChromium } from '../helpers/browser';
import { closingEndpoint, MAX_IN_10_S, WATCH_MS, type ClosingEndpoint } from '../helpers/closing-endpoint';
import { mintHs256, sleep } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

let browser: Browser;
let gw: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

/** A blank page with the built client on `window.gh`, and what the tests record in `window.seen`. */
const LAB_PAGE = `<!doctype html><meta charset="utf-8"><title>lab</title><script type="module">
import * as gh from '/client.js';
Object.assign(window, { gh, seen: [], ready: true });
</script>`;

test.before(async () => {
  buildClient();
  browser = suiteScope.own(await launchChromium(), (b) => b.close(), 'browser');
  // The demo's channels: `chat:lobby` for authenticated sockets only.
  const channels = join(__dirname, '..', '..', 'demo', 'channels.json');
  gw = await suiteScope.gateway({ GATEHOUSE_RENEW_INTERVAL: '0', GATEHOUSE_CHANNELS_FILE: channels });
  gw.addRoute((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/lab') return false;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(LAB_PAGE);
    return true;
  });
});

async function context(): Promise<BrowserContext> {
  return scope.own(await browser.newContext(), (c) => c.close(), 'browser context');
}

async function labPage(c: BrowserContext): Promise<Page> {
  const page = await c.newPage();
  await page.goto(`http://127.0.0.1:${gw.address().port}/lab`);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 10_000 });
  return page;
}

let sessions = 0;
/** A valid 60 s token for `sub`, a session of its own (a test's logout must not revoke another test's token). */
const mint = (sub: string) => mintHs256({ sub, sid: `${sub}-${++sessions}`, exp: Math.floor(Date.now() / 1000) + 60 });

type PageClient = {
  authenticate(t: string): Promise<void>;
  logout(): Promise<void>;
  close(): void;
  subscribe(c: string): { ready: Promise<void> };
  on(e: string, f: (d: { reason?: string; claims?: { sub?: string } }) => void): void;
  state: { authenticated: boolean; connection: string; claims?: { sub?: string } };
};
type W = {
  gh: { createClient(o: object): PageClient; storageKey(url: string): string };
  client: PageClient;
  clients: Record<string, PageClient>;
  seen: string[];
};

// --- Reconnect storms ---------------------------------------------------------------------------------------------

test(`a page against an endpoint that closes after every handshake: at most ${MAX_IN_10_S} connections in 10 s`, async () => {
  const cases: { label: string; code: number; loggedOutElsewhere?: boolean }[] = [
    { label: '4503 TokenExpired', code: CloseCode.TokenExpired },
    { label: '4505 KeyRetired', code: CloseCode.KeyRetired },
    // Another tab's logout ended the session: the tab comes back anonymous, which this endpoint closes again.
    { label: '4500 after a logout in another tab', code: CloseCode.TokenRevoked, loggedOutElsewhere: true },
    { label: '4100 ShuttingDown', code: CloseCode.ShuttingDown },
    { label: '1011 (server error)', code: 1011 },
  ];
  const endpoints: ClosingEndpoint[] = [];
  for (const c of cases) endpoints.push(scope.own(await closingEndpoint(c.code), (e) => e.close(), 'closing endpoint'));
  const c = await context();
  // One page per endpoint, in parallel, each counted over the 10 s after its client starts.
  const counts = await Promise.all(
    cases.map(async (kase, i) => {
      const url = `http://127.0.0.1:${endpoints[i].port}`;
      const token = mintHs256({ sub: 'alice', sid: 's1' });
      if (kase.loggedOutElsewhere) {
        // A real logout in another tab of the origin leaves its mark in storage. This endpoint cannot record the
        // revocation, so the revocation the logout left pending is cleared, as a gateway that recorded it would have;
        // the first tab still holds the session's token, as it did when the logout happened.
        const other = await labPage(c);
        await other.evaluate(
          async ([u, t]) => {
            const w = window as unknown as W;
            const key = w.gh.storageKey(u);
            localStorage.setItem(key, t);
            const client = w.gh.createClient({ url: u, ackTimeout: 3000 });
            await client.logout().catch(() => undefined);
            client.close();
            localStorage.removeItem(`${key}:revoke`);
          },
          [url, token] as const,
        );
        await other.close();
      }
      const page = await labPage(c);
      const before = endpoints[i].connections;
      await page.evaluate(
        ([u, t]) => {
          const w = window as unknown as W;
          localStorage.setItem(w.gh.storageKey(u), t);
          w.client = w.gh.createClient({ url: u, ackTimeout: 3000 });
        },
        [url, token] as const,
      );
      await sleep(WATCH_MS);
      return endpoints[i].connections - before;
    }),
  );
  const all = cases.map((kase, i) => `${kase.label}: ${counts[i]}`).join('; ');
  for (const [i, kase] of cases.entries()) {
    assert.ok(counts[i] >= 1, `${kase.label}: never connected (all: ${all})`);
    assert.ok(counts[i] <= MAX_IN_10_S, `${kase.label}: ${counts[i]} connections in 10 s (all: ${all})`);
  }
});

// --- Two gateways behind one host --------------------------------------------------------------------------------

/**
 * One host that puts two gateways' WebSockets under /a/ and /b/ (as a reverse proxy would): both lead to the test
 * gateway's /socketcluster/, each path its own tokens to the client.
 */
async function pathProxy(targetPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => void res.writeHead(404).end());
  server.on('upgrade', (req, inbound: Socket, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/a/' && path !== '/b/') {
      inbound.destroy();
      return;
    }
    const outbound = connect(targetPort, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    const lines = [`GET /socketcluster/ HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    outbound.write(`${lines.join('\r\n')}\r\n\r\n`);
    outbound.write(head);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test("two gateways on one host under /a/ and /b/: a login or logout on one leaves the other's token and session", async () => {
  const proxy = scope.own(await pathProxy(gw.address().port), (p) => p.close(), 'path proxy');
  const page = await labPage(await context());
  const urls = { a: `ws://127.0.0.1:${proxy.port}/a/`, b: `ws://127.0.0.1:${proxy.port}/b/` };
  const alice = mint('alice');
  const bob = mint('bob');
  await page.evaluate(
    async ([u, ta, tb]) => {
      const w = window as unknown as W;
      w.clients = { a: w.gh.createClient({ url: u.a, ackTimeout: 3000 }), b: w.gh.createClient({ url: u.b, ackTimeout: 3000 }) };
      for (const name of ['a', 'b']) w.clients[name].on('deauthenticated', ({ reason }) => w.seen.push(`${name}: ${reason}`));
      await w.clients.a.authenticate(ta);
      await w.clients.b.authenticate(tb);
    },
    [urls, alice, bob] as const,
  );
  // Let any message between the two clients land.
  await sleep(500);
  const state = () =>
    page.evaluate(
      ([ka, kb]) => {
        const w = window as unknown as W;
        return {
          a: w.clients.a.state.authenticated ? w.clients.a.state.claims?.sub : 'anonymous',
          b: w.clients.b.state.authenticated ? w.clients.b.state.claims?.sub : 'anonymous',
          stored: [localStorage.getItem(w.gh.storageKey(ka)), localStorage.getItem(w.gh.storageKey(kb))],
          seen: w.seen,
        };
      },
      [urls.a, urls.b] as const,
    );
  assert.equal(await state(), { a: 'alice', b: 'bob', stored: [alice, bob], seen: [] });
  const outcome = await page.evaluate(() =>
    (window as unknown as W).clients.a.logout().then(
      () => 'resolved',
      (err: Error) => err.name,
    ),
  );
  assert.is(outcome, 'resolved');
  await sleep(500);
  assert.equal(await state(), { a: 'anonymous', b: 'bob', stored: [null, bob], seen: ['a: logout'] });
  // b's session is untouched at the gateway too: it still subscribes where only authenticated sockets may.
  const sub = await page.evaluate(() =>
    (window as unknown as W).clients.b.subscribe('chat:lobby').ready.then(
      () => 'subscribed',
      (err: Error) => err.name,
    ),
  );
  assert.is(sub, 'subscribed');
});

// --- Messages between tabs ---------------------------------------------------------------------------------------

test("forged tab messages from another tab (another sub's token, {}, null): no switch of account, no logout", async () => {
  const c = await context();
  const one = await labPage(c);
  const two = await labPage(c);
  await one.evaluate(async (t) => {
    const w = window as unknown as W;
    w.client = w.gh.createClient({ ackTimeout: 3000 });
    w.client.on('deauthenticated', ({ reason }) => w.seen.push(`deauthenticated: ${reason}`));
    w.client.on('authenticated', ({ claims }) => w.seen.push(`authenticated: ${claims?.sub}`));
    addEventListener('error', (e) => w.seen.push(`page error: ${e.message}`));
    await w.client.authenticate(t);
    w.seen.length = 0;
  }, mint('alice'));
  // Any script of the origin may post on the channel, which is named by the key the token is stored under.
  await two.evaluate((t) => {
    const w = window as unknown as W;
    const channel = new BroadcastChannel(w.gh.storageKey(location.origin));
    for (const msg of [{ type: 'token', token: t }, {}, null]) channel.postMessage(msg);
    channel.close();
  }, mint('mallory'));
  await sleep(1000);
  const after = await one.evaluate(async () => {
    const w = window as unknown as W;
    const sub = await w.client.subscribe('chat:lobby').ready.then(
      () => 'subscribed',
      (err: Error) => err.name,
    );
    return {
      sub: w.client.state.claims?.sub,
      authenticated: w.client.state.authenticated,
      connection: w.client.state.connection,
      subscribe: sub,
      seen: w.seen,
    };
  });
  assert.equal(after, { sub: 'alice', authenticated: true, connection: 'open', subscribe: 'subscribed', seen: [] });
});

test.run();
