// budget: 120s
// The demo's "Make bob staff" in a real Chromium, on a development node: bob's tab subscribes to staff:room as soon as
// it is told its grants changed, with no new token and no reconnect, and leaves it with reason grants-changed when
// another tab makes him a guest again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Gateway } from '../../server/gateway';
import { buildClient, launchChromium } from '../helpers/browser';
import { startGateway } from '../helpers/gateway';

let browser: Browser;
let dev: Gateway;
const contexts: BrowserContext[] = [];

test.before(async () => {
  buildClient();
  browser = await launchChromium();
  // No key: development mode, whose demo brings its users and rules and enables /demo/grants.
  dev = await startGateway({ GATEHOUSE_AUTH_KEY: undefined });
});
test.after(async () => {
  for (const c of contexts.splice(0)) await c.close();
  await browser?.close();
  await dev?.close();
});

async function openDemo(): Promise<Page> {
  const c = await browser.newContext();
  contexts.push(c);
  const page = await c.newPage();
  await page.goto(`http://127.0.0.1:${dev.address().port}/`);
  await page.waitForSelector('#connection[data-state="open"]', { timeout: 10_000 });
  return page;
}

const status = (page: Page) => page.$eval('#grants-status', (el) => el.textContent ?? '');

test("another tab makes bob staff: bob's tab joins staff:room live, and leaves it when made a guest again", async () => {
  const bob = await openDemo();
  await bob.fill('#username', 'bob');
  await bob.fill('#password', 'bob');
  await bob.click('#login');
  await bob.waitForSelector('#session-status[data-state="authenticated"]', { timeout: 10_000 });
  const jti = await bob.evaluate(() => (window as unknown as { gatehouse: { state: { claims: { jti?: string } } } }).gatehouse.state.claims.jti);
  const operator = await openDemo();
  await operator.click('#make-staff');
  await bob.waitForFunction(() => document.querySelector('#grants-status')?.textContent === 'In staff:room: granted live.', undefined, { timeout: 5000 });
  await operator.click('#make-guest');
  await bob.waitForFunction(() => document.querySelector('#grants-status')?.textContent?.startsWith('Left staff:room'), undefined, { timeout: 5000 });
  assert.is(await status(bob), 'Left staff:room: grants-changed.');
  // Same token, same connection: nothing was re-issued.
  const after = await bob.evaluate(() => (window as unknown as { gatehouse: { state: { claims: { jti?: string } } } }).gatehouse.state.claims.jti);
  assert.is(after, jti);
  const events = await bob.$$eval('#events li', (items) => items.map((li) => li.textContent ?? ''));
  assert.ok(
    events.some((e) => e.includes('grants changed by the backend')),
    events.join('\n'),
  );
  assert.not.ok(
    events.some((e) => e.includes('connection closed')),
    events.join('\n'),
  );
});

test.run();
