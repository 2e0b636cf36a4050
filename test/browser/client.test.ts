// budget: 240s
// The client library and the demo in a real Chromium (playwright-core driving Debian's /usr/bin/chromium) against
// real gateways on 127.0.0.1. Each gateway serves the built client at /client.js; the token pages are served by a test
// route on the same origin, so the browser's localStorage, BroadcastChannel and Web Locks are shared as in an app.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Gateway } from '../../server/gateway';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { buildClient, launchChromium, TEST_OUTPUT } from '../helpers/browser';
import { sleep, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

const root = join(__dirname, '..', '..');
const DEMO_FILES = { GATEHOUSE_USERS_FILE: join(root, 'demo', 'users.json'), GATEHOUSE_CHANNELS_FILE: join(root, 'demo', 'channels.json') };

let browser: Browser;
/** The demo, with renewal every 2 s so renewals show. */
let demo: Gateway;
/** Tokens from getToken: renewal off, 4 s tokens, so the client's own refresh is what keeps a page authenticated. */
let tokens: Gateway;
/** Like `tokens` with 8 s tokens: a refresh cycle every ~6 s leaves room to count one fetch under load. */
let slowTokens: Gateway;
/** Like `tokens` with 60 s tokens: no regular refresh within a test. */
let longTokens: Gateway;
/** Only https://app.example.com may connect. */
let strict: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

/** A page that builds a client with getToken (POST /auth/login as `user`) and records what it sees on `window`. */
const TOKEN_PAGE = `<!doctype html><meta charset="utf-8"><title>token page</title><script type="module">
import { createClient } from '/client.js';
const params = new URLSearchParams(location.search);
const user = params.get('user') ?? 'alice';
Object.assign(window, { calls: 0, starts: [], events: [], fetching: false, delay: Number(params.get('delay') ?? 0) });
async function getToken() {
  window.calls += 1;
  window.starts.push(Date.now());
  window.fetching = true;
  try {
    await new Promise((resolve) => setTimeout(resolve, window.delay));
    const res = await fetch('/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user, password: user }) });
    return (await res.json()).token;
  } finally {
    window.fetching = false;
  }
}
const client = createClient({ url: params.get('gw') ?? undefined, getToken });
for (const name of ['authenticated', 'renewed', 'expiring', 'deauthenticated', 'connection', 'error']) {
  client.on(name, (data) => window.events.push({ name, data: JSON.parse(JSON.stringify(data ?? null)), at: Date.now() }));
}
window.client = client;
window.ready = true;
</script>`;

test.before(async () => {
  buildClient();
  browser = suiteScope.own(await launchChromium(), (b) => b.close(), 'browser');
  // Every token page logs in as alice through POST /auth/login, every few seconds: lift the login rates out of the way.
  const base = {
    GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
    GATEHOUSE_DEMO: '1',
    GATEHOUSE_LOGIN_RATE_PER_USER: '10000',
    GATEHOUSE_LOGIN_RATE_PER_IP: '10000',
    ...DEMO_FILES,
  };
  demo = await suiteScope.gateway({ ...base, GATEHOUSE_RENEW_INTERVAL: '2s', GATEHOUSE_TOKEN_TTL: '1m' });
  tokens = await suiteScope.gateway({ ...base, GATEHOUSE_RENEW_INTERVAL: '0', GATEHOUSE_TOKEN_TTL: '4s' });
  slowTokens = await suiteScope.gateway({ ...base, GATEHOUSE_RENEW_INTERVAL: '0', GATEHOUSE_TOKEN_TTL: '8s' });
  longTokens = await suiteScope.gateway({ ...base, GATEHOUSE_RENEW_INTERVAL: '0', GATEHOUSE_TOKEN_TTL: '60s' });
  strict = await suiteScope.gateway({ GATEHOUSE_ORIGINS: 'https://app.example.com' });
  for (const gw of [demo, tokens, slowTokens, longTokens]) {
    gw.addRoute((req, res) => {
      if ((req.url ?? '').split('?')[0] !== '/token-page') return false;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(TOKEN_PAGE);
      return true;
    });
  }
});

async function context(): Promise<BrowserContext> {
  const c = scope.own(await browser.newContext(), (ctx) => ctx.close(), 'browser context');
  return c;
}

const url = (gw: Gateway, path = '/') => `http://127.0.0.1:${gw.address().port}${path}`;

async function demoPage(c: BrowserContext): Promise<Page> {
  const page = await c.newPage();
  await page.goto(url(demo));
  await page.waitForSelector('#connection[data-state="open"]', { timeout: 10_000 });
  return page;
}

async function loginOnDemo(page: Page, user: 'alice' | 'bob'): Promise<void> {
  await page.fill('#username', user);
  await page.fill('#password', user);
  await page.click('#login');
  await page.waitForSelector('#session-status[data-state="authenticated"]', { timeout: 10_000 });
}

async function tokenPage(c: BrowserContext, query = '', gw = tokens): Promise<Page> {
  const page = await c.newPage();
  await page.goto(url(gw, `/token-page${query}`));
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 10_000 });
  return page;
}

type Recorded = { name: string; data: Record<string, unknown> | null; at: number };
const events = (page: Page) => page.evaluate(() => (window as unknown as { events: Recorded[] }).events);
const calls = (page: Page) => page.evaluate(() => (window as unknown as { calls: number }).calls);
const authenticated = (page: Page) => page.evaluate(() => (window as unknown as { client: { state: { authenticated: boolean } } }).client.state.authenticated);

test('the demo: login over RPC from the page, the session live (claims, countdown, renewals); a screenshot is saved', async () => {
  const page = await demoPage(await context());
  await loginOnDemo(page, 'alice');
  assert.match((await page.textContent('#claims')) ?? '', '"sub": "alice"');
  await page.waitForFunction(() => Number(document.querySelector('#renewal-count')?.textContent) >= 1, undefined, { timeout: 8000 });
  assert.match((await page.textContent('#countdown')) ?? '', /^\d+:\d\d$/);
  await page.screenshot({ path: join(TEST_OUTPUT, 'demo.png'), fullPage: true });
});

test('publish in one page, receive in another (two users); a forbidden publish and subscribe show their error names', async () => {
  const alice = await demoPage(await context());
  const bob = await demoPage(await context());
  await loginOnDemo(alice, 'alice');
  await loginOnDemo(bob, 'bob');
  await alice.waitForFunction(() => document.querySelector('#chat-status')?.textContent === 'You are in the lobby.');
  await sleep(200);
  await alice.fill('#chat-input', 'hello bob');
  await alice.click('#send');
  await bob.waitForFunction(() => document.querySelector('#messages')?.textContent?.includes('hello bob'), undefined, { timeout: 5000 });
  await bob.click('#try-news');
  await bob.waitForFunction(() => document.querySelector('#refusal')?.textContent?.startsWith('PublishForbiddenError'), undefined, { timeout: 5000 });
  await bob.click('#try-staff');
  await bob.waitForFunction(() => document.querySelector('#refusal')?.textContent?.startsWith('SubscribeForbiddenError'), undefined, { timeout: 5000 });
});

test('a reload stays logged in', async () => {
  const page = await demoPage(await context());
  await loginOnDemo(page, 'bob');
  await page.reload();
  await page.waitForSelector('#session-status[data-state="authenticated"]', { timeout: 10_000 });
});

test('a revoke from the admin API logs the page out and the page says why', async () => {
  const page = await demoPage(await context());
  await loginOnDemo(page, 'bob');
  const res = await admin(demo.address().port, 'POST', '/admin/revoke', { sub: 'bob' });
  assert.is(res.status, 200);
  await page.waitForSelector('#session-status[data-state="ended"]', { timeout: 5000 });
  // The deauthentication and the 4500 close are two frames: the page shows the reason first and the close when it lands.
  await page.waitForFunction(() => document.querySelector('#session-end')?.textContent?.includes('TokenRevoked (4500)'), undefined, { timeout: 5000 });
  const why = (await page.textContent('#session-end')) ?? '';
  assert.match(why, 'revoked');
  assert.match(why, 'TokenRevoked (4500)');
});

test('login in one tab authenticates the other; logout in one tab logs out the other within 100 ms', async () => {
  const c = await context();
  const one = await demoPage(c);
  const two = await demoPage(c);
  await loginOnDemo(one, 'alice');
  await two.waitForSelector('#session-status[data-state="authenticated"]', { timeout: 5000 });
  await two.evaluate(() => {
    (window as unknown as { gatehouse: { on(e: string, f: () => void): void } }).gatehouse.on('deauthenticated', () => {
      (window as unknown as { deauthAt: number }).deauthAt = Date.now();
    });
  });
  const clickedAt = await one.evaluate(() => {
    const at = Date.now();
    (document.querySelector('#logout') as HTMLButtonElement).click();
    return at;
  });
  await two.waitForSelector('#session-status[data-state="ended"]', { timeout: 5000 });
  const deauthAt = await two.evaluate(() => (window as unknown as { deauthAt: number }).deauthAt);
  assert.ok(deauthAt - clickedAt <= 100, `the other tab followed after ${deauthAt - clickedAt} ms`);
  assert.match((await two.textContent('#session-end')) ?? '', /^other-tab/);
  await one.waitForSelector('#session-status[data-state="ended"]');
  assert.is(await one.textContent('#session-end'), 'logout');
  // The other tab stays connected, anonymous, and follows the next login.
  await loginOnDemo(one, 'bob');
  await two.waitForSelector('#session-status[data-state="authenticated"]', { timeout: 5000 });
});

test('without BroadcastChannel, storage events carry the login and the logout to the other tab', async () => {
  const c = await context();
  await c.addInitScript('delete globalThis.BroadcastChannel;');
  const one = await demoPage(c);
  const two = await demoPage(c);
  assert.is(await two.evaluate(() => typeof (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel), 'undefined');
  await loginOnDemo(one, 'bob');
  await two.waitForSelector('#session-status[data-state="authenticated"]', { timeout: 5000 });
  await one.click('#logout');
  await two.waitForSelector('#session-status[data-state="ended"]', { timeout: 5000 });
  assert.match((await two.textContent('#session-end')) ?? '', /^other-tab/);
});

test('offline then online: the page re-authenticates with one getToken call', async () => {
  const c = await context();
  const page = await tokenPage(c);
  await page.evaluate(() => (window as unknown as { client: { refreshToken(): Promise<unknown> } }).client.refreshToken());
  await waitFor(() => authenticated(page), 5000, 'authenticated');
  const before = await calls(page);
  await c.setOffline(true);
  // Longer than the 4 s token: it lapses while the page is offline.
  await sleep(5000);
  assert.is(await calls(page), before, 'no fetch while offline');
  await c.setOffline(false);
  await waitFor(async () => (await authenticated(page)) && (await calls(page)) > before, 8000, 're-authenticated');
  await sleep(500);
  assert.is(await calls(page), before + 1);
});

for (const [label, minutes] of [
  ['fast', 10],
  ['slow', -10],
] as const) {
  test(`a page whose clock is 10 minutes ${label} renews normally, with no loop and no lapse (fetches counted)`, async () => {
    const c = await context();
    // A string, not a function: the test runner's transpiler would decorate a class with helpers the page lacks.
    await c.addInitScript(`{
      const RealDate = Date;
      const offset = ${minutes} * 60 * 1000;
      class SkewedDate extends RealDate {
        constructor(...args) { if (args.length === 0) super(RealDate.now() + offset); else super(...args); }
        static now() { return RealDate.now() + offset; }
      }
      globalThis.Date = SkewedDate;
    }`);
    const page = await tokenPage(c);
    const skew = await page.evaluate(() => Date.now() - performance.timeOrigin - performance.now());
    assert.ok(Math.sign(skew) === Math.sign(minutes) && Math.abs(skew) > 9 * 60 * 1000, `the page clock is ${label}`);
    await page.evaluate(() => (window as unknown as { client: { refreshToken(): Promise<unknown> } }).client.refreshToken());
    await waitFor(() => authenticated(page), 5000, 'authenticated');
    // 4 s tokens, refreshed a quarter of their life before exp: about every 3 s. A client scheduling from its own clock
    // would see every token expired 10 minutes ago and fetch in a loop (fast), or wait 10 minutes past exp (slow).
    await sleep(7500);
    const n = await calls(page);
    assert.ok(n >= 2 && n <= 4, `${n} fetches in 7.5 s`);
    assert.is(await authenticated(page), true);
    assert.equal(
      (await events(page)).filter((e) => e.name === 'deauthenticated'),
      [],
    );
  });
}

test('after a wake from sleep (the wall clock jumps, timers were frozen) a due token is refreshed at once', async () => {
  const c = await context();
  // Sleep seen from the page: Date.now() jumps ahead by the time asleep, and no timer fired meanwhile.
  await c.addInitScript(`{
    const RealDate = Date;
    let offset = 0;
    class SleepyDate extends RealDate {
      constructor(...args) { if (args.length === 0) super(RealDate.now() + offset); else super(...args); }
      static now() { return RealDate.now() + offset; }
    }
    globalThis.Date = SleepyDate;
    globalThis.sleepFor = (ms) => { offset += ms; };
  }`);
  const page = await tokenPage(c, '', longTokens);
  await page.evaluate(() => (window as unknown as { client: { refreshToken(): Promise<unknown> } }).client.refreshToken());
  await waitFor(() => authenticated(page), 5000, 'authenticated');
  const before = await calls(page);
  // A 60 s token refreshes 15 s before exp: its timer is ~45 s away. 55 s of "sleep" leave it 5 s: due now.
  await page.evaluate(() => (window as unknown as { sleepFor(ms: number): void }).sleepFor(55_000));
  await waitFor(async () => (await calls(page)) > before, 8000, 'a refresh after the wake');
  await waitFor(() => authenticated(page), 5000, 'authenticated with the fresh token');
  assert.equal(
    (await events(page)).filter((e) => e.name === 'deauthenticated'),
    [],
  );
});

test('three simultaneous triggers make one getToken call, across two tabs too', async () => {
  const c = await context();
  const one = await tokenPage(c, '?delay=600', slowTokens);
  const two = await tokenPage(c, '?delay=600', slowTokens);
  await one.evaluate(() => (window as unknown as { client: { refreshToken(): Promise<unknown> } }).client.refreshToken());
  await waitFor(async () => (await authenticated(one)) && (await authenticated(two)), 5000, 'both tabs authenticated');
  // The refresh timer and gatehouse:authExpiring fire together two seconds before exp, in both tabs; whichever tab
  // takes the Web Lock fetches. While that fetch runs, the browser comes online and the tabs become visible: every
  // trigger, in both tabs, joins the one fetch.
  const fetching = (page: Page) => page.evaluate(() => (window as unknown as { fetching: boolean }).fetching);
  await waitFor(async () => (await fetching(one)) || (await fetching(two)), 10_000, 'a fetch to start');
  const starts = async () =>
    [
      ...(await one.evaluate(() => (window as unknown as { starts: number[] }).starts)),
      ...(await two.evaluate(() => (window as unknown as { starts: number[] }).starts)),
    ].sort((a, b) => a - b);
  // The fetch under way is the latest start so far (under load the poll can miss a whole cycle: count from it).
  const first = (await starts()).at(-1)!;
  for (const page of [one, two]) {
    await page.evaluate(() => {
      window.dispatchEvent(new Event('online'));
      document.dispatchEvent(new Event('visibilitychange'));
      void (window as unknown as { client: { refreshToken(): Promise<unknown> } }).client.refreshToken();
    });
  }
  await waitFor(async () => !(await fetching(one)) && !(await fetching(two)), 5000, 'the fetch to end');
  await sleep(800);
  // Any fetch the triggers caused starts at a trigger or when the lock is released, within this window; the next
  // regular refresh of the new 8 s token is about 6 s after it was minted, outside it under any load seen here.
  const since = (await starts()).filter((t) => t >= first);
  const caused = since.filter((t) => t < first + 4000);
  assert.is(caused.length, 1, `${caused.length} getToken calls (starts ${since.map((t) => t - first).join(', ')} ms after the first)`);
  assert.ok((await authenticated(one)) && (await authenticated(two)));
});

test('a refused Origin stops with its name and does not loop', async () => {
  const page = await tokenPage(await context(), `?gw=${encodeURIComponent(url(strict))}`);
  await waitFor(async () => (await events(page)).some((e) => e.name === 'connection' && e.data?.state === 'closed'), 5000, 'the close');
  await sleep(2000);
  const connection = (await events(page)).filter((e) => e.name === 'connection').map((e) => e.data);
  assert.equal(
    connection.filter((d) => d?.state === 'closed').map((d) => [d?.code, d?.name, d?.action]),
    [[4504, 'OriginNotAllowed', 'stop']],
  );
  assert.is(connection.filter((d) => d?.state === 'connecting').length, 0, 'no reconnect attempt');
});

test('the README browser quick start runs as written (against this gateway)', async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const snippet = /<!-- readme-block: not run \(browser-quickstart[^\n]*-->\n```html\n([\s\S]*?)```/.exec(readme)![1];
  assert.match(snippet, 'http://127.0.0.1:8000');
  const html = snippet.replaceAll('http://127.0.0.1:8000', url(demo).slice(0, -1));
  demo.addRoute((req, res) => {
    if (req.url !== '/readme-snippet') return false;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
    return true;
  });
  const page = await (await context()).newPage();
  const logs: string[] = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(url(demo, '/readme-snippet'));
  await waitFor(() => logs.includes('chat: hello'), 8000, `the snippet's own message (saw ${JSON.stringify(logs)})`);
  assert.equal(
    logs.filter((l) => l.startsWith('pageerror')),
    [],
  );
});

test.run();
