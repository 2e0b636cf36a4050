// budget: 300s
// The client library in real Chromium, against the defects found by attacking it: authenticate() while connecting,
// the first token from getToken, logout while the network is cut (in the tab, or in one of two tabs), a getToken that
// never settles, a revocation seen by two tabs, and a refused origin. Each page is a blank page of a test gateway with
// the built client on `window.gh`; each test failed before its fix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Gateway } from '../../server/gateway';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { buildClient, launchChromium } from '../helpers/browser';
import { CutProxy } from '../helpers/cut-proxy';
import { mintHs256, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

let browser: Browser;
let gw: Gateway;
/** Only https://app.example.com may connect. */
let strict: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

const LAB_PAGE = `<!doctype html><meta charset="utf-8"><title>lab</title><script type="module">
import * as gh from '/client.js';
Object.assign(window, { gh, events: [] });
// localStorage that calls onRead() whenever it is read (the stock client reads the token as its handshake leaves).
window.watchedStorage = (onRead) => ({
  get: (k) => { onRead(); return localStorage.getItem(k); },
  set: (k, v) => localStorage.setItem(k, v),
  remove: (k) => localStorage.removeItem(k),
});
// A getToken that counts its calls and answers \`token\`.
window.calls = 0;
window.tokenGetter = (token) => async () => { window.calls++; return token; };
// A getToken that never settles; the signals it was given are kept.
window.signals = [];
window.hangingGetter = () => (signal) => { window.calls++; window.signals.push(signal); return new Promise(() => {}); };
window.ready = true;
</script>`;

/** Serves the lab page at /lab on a gateway. */
function serveLab(target: Gateway): void {
  target.addRoute((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/lab') return false;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(LAB_PAGE);
    return true;
  });
}

test.before(async () => {
  buildClient();
  browser = suiteScope.own(await launchChromium(), (b) => b.close(), 'browser');
  // The demo's channels: `news` for anyone, `chat:lobby` for authenticated sockets only.
  const channels = join(__dirname, '..', '..', 'demo', 'channels.json');
  gw = await suiteScope.gateway({ GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_RENEW_INTERVAL: '0', GATEHOUSE_CHANNELS_FILE: channels });
  serveLab(gw);
  strict = await suiteScope.gateway({ GATEHOUSE_ORIGINS: 'https://app.example.com' });
});

async function context(): Promise<BrowserContext> {
  const c = scope.own(await browser.newContext(), (ctx) => ctx.close(), 'browser context');
  return c;
}

/** A valid 60 s token for `sub`. */
const mint = (sub: string, claims: Record<string, unknown> = {}) => mintHs256({ sub, exp: Math.floor(Date.now() / 1000) + 60, ...claims });

const origin = (target: Gateway) => `http://127.0.0.1:${target.address().port}`;

async function labPage(c: BrowserContext, target: Gateway = gw): Promise<Page> {
  const page = await c.newPage();
  await page.goto(`${origin(target)}/lab`);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 10_000 });
  return page;
}

test('authenticate(token) at once after createClient: resolved means authenticated, in 20 fresh pages', async () => {
  const results: string[] = [];
  for (let i = 0; i < 20; i++) {
    const c = await context();
    const page = await labPage(c);
    // Odd pages call authenticate() just as the handshake leaves (the moment the stock client reads the stored token),
    // the window where a call at once lands under load; even pages call it in the same task as createClient.
    results.push(
      await page.evaluate(
        async ([t, inHandshake]) => {
          type Client = { authenticate(t: string): Promise<void>; state: { authenticated: boolean } };
          const w = window as unknown as { gh: { createClient(o: object): Client }; watchedStorage(f: () => void): object };
          let reading!: () => void;
          const handshake = new Promise<void>((resolve) => {
            reading = resolve;
          });
          const client = w.gh.createClient({ storage: w.watchedStorage(() => reading()) });
          try {
            if (inHandshake) await handshake;
            await client.authenticate(t);
            return client.state.authenticated ? 'authenticated' : 'resolved anonymous';
          } catch (err) {
            return `rejected ${(err as Error).name}`;
          }
        },
        [mint(`user${i}`), i % 2 === 1] as const,
      ),
    );
    await c.close();
  }
  assert.equal(
    results.filter((r) => r !== 'authenticated'),
    [],
    results.join(', '),
  );
});

test('authenticate(token) at once after createClient rejects with the refusal for a bad token', async () => {
  const page = await labPage(await context());
  const bad = mintHs256({ sub: 'mallory' }, {}, 'another-secret-another-secret-another-secret-0');
  const outcome = await page.evaluate(async (t) => {
    const { gh } = window as unknown as { gh: { createClient(o: object): { authenticate(t: string): Promise<void>; state: { authenticated: boolean } } } };
    const client = gh.createClient({});
    try {
      await client.authenticate(t);
      return `resolved ${client.state.authenticated}`;
    } catch (err) {
      return (err as Error).name;
    }
  }, bad);
  assert.is(outcome, 'AuthTokenInvalidError');
});

/** What a page sees when it creates a client with a getToken that answers `token`, then subscribes at once. */
async function subscribeAtOnce(page: Page, token: string | null, channel: string) {
  return page.evaluate(
    async ([t, ch]) => {
      type Client = {
        subscribe(c: string): { ready: Promise<void> };
        state: { authenticated: boolean };
        on(e: string, f: (d: unknown) => void): void;
      };
      const w = window as unknown as { gh: { createClient(o: object): Client }; calls: number; tokenGetter(t: string | null): unknown };
      const client = w.gh.createClient({ getToken: w.tokenGetter(t) });
      (window as unknown as { client: Client }).client = client;
      const sub = client.subscribe(ch);
      const outcome = await sub.ready.then(
        () => 'subscribed',
        (err: Error) => err.name,
      );
      return { outcome, authenticated: client.state.authenticated, calls: w.calls };
    },
    [token, channel] as const,
  );
}

test('createClient({getToken}) fetches the first token; a subscribe() made at once waits for it', async () => {
  const page = await labPage(await context());
  assert.equal(await subscribeAtOnce(page, mint('alice'), 'chat:lobby'), { outcome: 'subscribed', authenticated: true, calls: 1 });
});

test('a getToken that has no token: the waiting subscribe() is made anonymously (news yes, chat:lobby refused)', async () => {
  assert.equal(await subscribeAtOnce(await labPage(await context()), null, 'news'), { outcome: 'subscribed', authenticated: false, calls: 1 });
  assert.equal(await subscribeAtOnce(await labPage(await context()), null, 'chat:lobby'), {
    outcome: 'SubscribeForbiddenError',
    authenticated: false,
    calls: 1,
  });
});

/** Whether the gateway refuses `token` at a new handshake as revoked. */
async function refusedAsRevoked(token: string): Promise<boolean> {
  const { client, status } = await scope.connect(gw, token);
  client.disconnect();
  return status.authError?.name === 'AuthTokenRevokedError';
}

type LabClient = {
  authenticate(t: string): Promise<void>;
  logout(): Promise<void>;
  state: { authenticated: boolean; connection: string };
};

test('logout() with the network cut rejects with LogoutPendingError; the session is revoked once the network is back', async () => {
  const proxy = scope.own(await CutProxy.start(gw.address().port), (p) => p.close(), 'cut proxy');
  const page = await labPage(await context());
  const token = mint('olga', { sid: 'olga-1' });
  await page.evaluate(
    async ([url, t]) => {
      const w = window as unknown as { gh: { createClient(o: object): LabClient }; client: LabClient };
      w.client = w.gh.createClient({ url });
      await w.client.authenticate(t);
    },
    [`http://127.0.0.1:${proxy.port}`, token] as const,
  );
  proxy.cut();
  await page.waitForFunction(() => (window as unknown as { client: LabClient }).client.state.connection !== 'open', undefined, { timeout: 5000 });
  const outcome = await page.evaluate(() =>
    (window as unknown as { client: LabClient }).client.logout().then(
      () => 'resolved',
      (err: Error) => err.name,
    ),
  );
  assert.is(outcome, 'LogoutPendingError');
  assert.is(await page.evaluate(() => (window as unknown as { client: LabClient }).client.state.authenticated), false);
  // Not recorded yet: a stolen copy still works until the client is back.
  assert.is(await refusedAsRevoked(token), false);
  proxy.restore();
  // The reconnect backoff after a short cut is a few seconds at most.
  await waitFor(() => refusedAsRevoked(token), 30_000, 'the token refused as revoked at a new handshake');
});

test('a getToken that never settles in one tab: it is abandoned (signal aborted), and the other tab still gets its token', async () => {
  const c = await context();
  const one = await labPage(c);
  const two = await labPage(c);
  type W = { gh: { createClient(o: object): LabClient }; client: LabClient; calls: number; signals: AbortSignal[] };
  await one.evaluate(() => {
    const w = window as unknown as W & { hangingGetter(): unknown };
    w.client = w.gh.createClient({ getToken: w.hangingGetter(), getTokenTimeout: 1500 });
  });
  await one.waitForFunction(() => (window as unknown as W).calls === 1, undefined, { timeout: 5000 });
  await two.evaluate((t) => {
    const w = window as unknown as W & { tokenGetter(t: string): unknown };
    w.client = w.gh.createClient({ getToken: w.tokenGetter(t), getTokenTimeout: 1500 });
  }, mint('paula'));
  await two.waitForFunction(() => (window as unknown as W).client.state.authenticated, undefined, { timeout: 15_000 });
  assert.is(await one.evaluate(() => (window as unknown as W).signals[0].aborted), true);
  // The abandoned tab tries again, finds the other tab's token and uses it.
  await one.waitForFunction(() => (window as unknown as W).client.state.authenticated, undefined, { timeout: 15_000 });
});

test('an admin revoke with two tabs logged in: both tabs report revoked, neither other-tab', async () => {
  type W = { gh: { createClient(o: object): LabClient & { on(e: string, f: (d: { reason: string }) => void): void } }; client: LabClient; deauths: string[] };
  const c = await context();
  const tabs = [await labPage(c), await labPage(c)];
  for (const page of tabs) {
    await page.evaluate(() => {
      const w = window as unknown as W;
      w.deauths = [];
      const client = w.gh.createClient({});
      client.on('deauthenticated', ({ reason }) => w.deauths.push(reason));
      w.client = client;
    });
  }
  // A logout shortly before (a previous session of the user), then a new login that both tabs follow.
  await tabs[0].evaluate((t) => (window as unknown as W).client.authenticate(t), mint('rita', { sid: 'rita-0' }));
  await tabs[1].waitForFunction(() => (window as unknown as W).client.state.authenticated, undefined, { timeout: 5000 });
  await tabs[0].evaluate(() => (window as unknown as W).client.logout());
  for (const page of tabs) await page.waitForFunction(() => (window as unknown as W).deauths.length === 1, undefined, { timeout: 5000 });
  await tabs[0].evaluate((t) => (window as unknown as W).client.authenticate(t), mint('rita', { sid: 'rita-1' }));
  await tabs[1].waitForFunction(() => (window as unknown as W).client.state.authenticated, undefined, { timeout: 5000 });
  for (const page of tabs)
    await page.evaluate(() => {
      (window as unknown as W).deauths = [];
    });
  const res = await admin(gw.address().port, 'POST', '/admin/revoke', { sub: 'rita' });
  assert.is(res.status, 200);
  for (const page of tabs) await page.waitForFunction(() => (window as unknown as W).deauths.length > 0, undefined, { timeout: 5000 });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const reasons = await Promise.all(tabs.map((page) => page.evaluate(() => (window as unknown as W).deauths)));
  assert.equal(reasons, [['revoked'], ['revoked']]);
});

test("a refused origin: the close and the error name the page's origin and GATEHOUSE_ORIGINS", async () => {
  const page = await labPage(await context());
  type W = { gh: { createClient(o: object): LabClient & { on(e: string, f: (d: unknown) => void): void } }; seen: string[] };
  await page.evaluate((url) => {
    const w = window as unknown as W;
    w.seen = [];
    const client = w.gh.createClient({ url });
    client.on('connection', (e) => {
      if ((e as { state: string }).state === 'closed') w.seen.push(`close: ${(e as { reason: string }).reason}`);
    });
    client.on('error', (e) => w.seen.push(`error: ${(e as Error).message}`));
  }, origin(strict));
  await page.waitForFunction(() => (window as unknown as W).seen.length >= 2, undefined, { timeout: 5000 });
  const seen = await page.evaluate(() => (window as unknown as W).seen);
  assert.is(seen.length, 2, seen.join('; '));
  for (const line of seen) {
    assert.ok(line.includes(origin(gw)), line);
    assert.ok(line.includes('GATEHOUSE_ORIGINS'), line);
  }
});

/**
 * For one page only: `cutNetwork()` closes its WebSockets and sends every new one to a closed port, as a network that
 * went away for that tab alone (DevTools' offline emulation leaves open WebSockets up).
 */
const CUTTABLE_WEBSOCKETS = `{
  const Real = WebSocket;
  const open = new Set();
  let cut = false;
  function Cuttable(url, protocols) {
    const ws = new Real(cut ? 'ws://127.0.0.1:9/' : url, protocols);
    open.add(ws);
    ws.addEventListener('close', () => open.delete(ws));
    return ws;
  }
  Cuttable.prototype = Real.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Cuttable[k] = Real[k];
  globalThis.WebSocket = Cuttable;
  globalThis.cutNetwork = () => { cut = true; for (const ws of open) ws.close(); };
}`;

test('logout() in a tab whose network is cut: a connected tab of the origin makes the revocation at once', async () => {
  type W = { gh: { createClient(o: object): LabClient }; client: LabClient; cutNetwork(): void };
  const c = await context();
  const one = await c.newPage();
  await one.addInitScript(CUTTABLE_WEBSOCKETS);
  await one.goto(`${origin(gw)}/lab`);
  await one.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 10_000 });
  const two = await labPage(c);
  for (const page of [one, two])
    await page.evaluate(() => {
      (window as unknown as W).client = (window as unknown as W).gh.createClient({});
    });
  const token = mint('sara', { sid: 'sara-1' });
  await one.evaluate((t) => (window as unknown as W).client.authenticate(t), token);
  await two.waitForFunction(() => (window as unknown as W).client.state.authenticated, undefined, { timeout: 5000 });
  await one.evaluate(() => (window as unknown as W).cutNetwork());
  await one.waitForFunction(() => (window as unknown as W).client.state.connection !== 'open', undefined, { timeout: 5000 });
  const outcome = await one.evaluate(() =>
    (window as unknown as W).client.logout().then(
      () => 'resolved',
      (err: Error) => err.name,
    ),
  );
  // Resolved when the other tab's revocation landed before this tab gave up, else the named error.
  assert.ok(['LogoutPendingError', 'resolved'].includes(outcome), outcome);
  await waitFor(() => refusedAsRevoked(token), 10_000, 'the token refused as revoked, the first tab still cut off');
  await two.waitForFunction(() => !(window as unknown as W).client.state.authenticated, undefined, { timeout: 5000 });
});

test.run();
