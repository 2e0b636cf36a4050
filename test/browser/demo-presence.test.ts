// budget: 120s
// Who is in the demo's lobby, in a real Chromium: two tabs of one user are one member, and a second user's join and
// leave (with its reason) show in every tab, live.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Gateway } from '../../server/gateway';
import { buildClient, launchChromium, TEST_OUTPUT } from '../helpers/browser';
import { createClient, memoryStorage, type GatehouseClient } from '../../client';
import { mintHs256, startGateway } from '../helpers/gateway';

const root = join(__dirname, '..', '..');

let browser: Browser;
let demo: Gateway;
const contexts: BrowserContext[] = [];

test.before(async () => {
  buildClient();
  browser = await launchChromium();
  demo = await startGateway({
    GATEHOUSE_DEMO: '1',
    GATEHOUSE_USERS_FILE: join(root, 'demo', 'users.json'),
    GATEHOUSE_CHANNELS_FILE: join(root, 'demo', 'channels.json'),
    GATEHOUSE_PRESENCE_GRACE: '500ms',
  });
});
test.after(async () => {
  for (const c of contexts.splice(0)) await c.close();
  await browser?.close();
  await demo?.close();
});

async function context(): Promise<BrowserContext> {
  const c = await browser.newContext();
  contexts.push(c);
  return c;
}

async function open(c: BrowserContext): Promise<Page> {
  const page = await c.newPage();
  await page.goto(`http://127.0.0.1:${demo.address().port}/`);
  await page.waitForSelector('#connection[data-state="open"]', { timeout: 10_000 });
  return page;
}

async function login(page: Page, user: 'alice' | 'bob'): Promise<void> {
  await page.fill('#username', user);
  await page.fill('#password', user);
  await page.click('#login');
  await page.waitForSelector('#session-status[data-state="authenticated"]', { timeout: 10_000 });
}

/** The subs the page lists in the lobby, in order. */
const members = (page: Page) => page.$$eval('#members li', (items) => items.map((li) => (li as HTMLElement).dataset.sub ?? ''));

/** Waits until the page lists exactly `subs` (sorted). */
async function listed(page: Page, subs: string[]): Promise<void> {
  await page.waitForFunction(
    (want) => {
      const got = Array.from(document.querySelectorAll('#members li'))
        .map((li) => (li as HTMLElement).dataset.sub ?? '')
        .sort();
      return JSON.stringify(got) === JSON.stringify(want);
    },
    [...subs].sort(),
    { timeout: 10_000 },
  );
}

test('two tabs of alice are one member; bob joining and leaving shows in both, with the reason', async () => {
  const alices = await context();
  const tab1 = await open(alices);
  await login(tab1, 'alice');
  // The second tab follows the first tab's login (one auth state per origin).
  const tab2 = await open(alices);
  await tab2.waitForSelector('#session-status[data-state="authenticated"]', { timeout: 10_000 });
  for (const tab of [tab1, tab2]) await listed(tab, ['alice']);
  assert.equal(await members(tab1), ['alice']);
  assert.is(await tab1.textContent('#members li'), 'Alice (you)');
  assert.is(await tab1.textContent('#member-count'), '(1)');

  const bobs = await context();
  const bob = await open(bobs);
  await login(bob, 'bob');
  for (const tab of [tab1, tab2, bob]) await listed(tab, ['alice', 'bob']);
  for (const tab of [tab1, tab2]) {
    await tab.waitForFunction(() => document.querySelector('#presence-events')?.textContent?.includes('Bob joined'), undefined, { timeout: 5000 });
  }
  assert.is(await bob.textContent('#member-count'), '(2)');
  await tab1.screenshot({ path: join(TEST_OUTPUT, 'demo-presence.png') });

  // One of alice's two tabs goes: alice stays, and nobody sees her leave.
  await tab2.close();
  await bob.waitForTimeout(1500);
  await listed(bob, ['alice', 'bob']);
  assert.not.match((await bob.textContent('#presence-events')) ?? '', 'Alice left');

  await bob.close();
  await listed(tab1, ['alice']);
  await tab1.waitForFunction(() => document.querySelector('#presence-events li')?.textContent === 'Bob left (disconnected)', undefined, { timeout: 5000 });
});

test('a lost presence frame is found by its seq in the browser, and the lobby list is loaded again', async () => {
  const alices = await context();
  const page = await alices.newPage();
  let dropped = 0;
  // Between the page and the gateway: the first presence frame naming bob never reaches the page.
  await page.routeWebSocket(/\/socketcluster\//, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((message) => server.send(message));
    server.onMessage((message) => {
      const text = String(message);
      if (dropped === 0 && text.includes('gatehouse:presence') && text.includes('"bob"')) {
        dropped++;
        return;
      }
      ws.send(message);
    });
  });
  await page.goto(`http://127.0.0.1:${demo.address().port}/`);
  await page.waitForSelector('#connection[data-state="open"]', { timeout: 10_000 });
  await login(page, 'alice');
  await listed(page, ['alice']);

  const bob = await open(await context());
  await login(bob, 'bob');
  await listed(bob, ['alice', 'bob']);
  await page.waitForTimeout(500);
  assert.is(dropped, 1);
  assert.equal(await members(page), ['alice'], "bob's join was lost on the way");

  // The next batch (carol, from a Node client) skips a seq: the page loads the list again, bob included.
  const carol: GatehouseClient = createClient({ url: `http://127.0.0.1:${demo.address().port}`, tabs: false, storage: memoryStorage() });
  try {
    await carol.authenticate(mintHs256({ sub: 'carol', info: { name: 'Carol' } }));
    await carol.subscribe('chat:lobby').ready;
    await listed(page, ['alice', 'bob', 'carol']);
  } finally {
    carol.close();
  }
});

test.run();
