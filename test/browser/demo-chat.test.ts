// budget: 120s
// The demo's chat in a real Chromium: a message a publisher crafted to break rendering must not end the chat for the
// other viewers. The demo runs with GATEHOUSE_ORIGINS naming another site, so its own origin must be let in too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Gateway } from '../../server/gateway';
import { buildClient, launchChromium } from '../helpers/browser';
import { sleep } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

const root = join(__dirname, '..', '..');

let browser: Browser;
let demo: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  buildClient();
  browser = suiteScope.own(await launchChromium(), (b) => b.close(), 'browser');
  demo = await suiteScope.gateway({
    GATEHOUSE_DEMO: '1',
    GATEHOUSE_ORIGINS: 'https://app.example.com',
    GATEHOUSE_USERS_FILE: join(root, 'demo', 'users.json'),
    GATEHOUSE_CHANNELS_FILE: join(root, 'demo', 'channels.json'),
  });
});

async function demoPage(user: 'alice' | 'bob'): Promise<Page> {
  const c = scope.own(await browser.newContext(), (ctx) => ctx.close(), 'browser context');
  const page = await c.newPage();
  await page.goto(`http://127.0.0.1:${demo.address().port}/`);
  await page.waitForSelector('#connection[data-state="open"]', { timeout: 10_000 });
  await page.fill('#username', user);
  await page.fill('#password', user);
  await page.click('#login');
  await page.waitForSelector('#session-status[data-state="authenticated"]', { timeout: 10_000 });
  await page.waitForFunction(() => document.querySelector('#chat-status')?.textContent === 'You are in the lobby.', undefined, { timeout: 5000 });
  return page;
}

/** Publishes raw data to the lobby from a page, through the client the demo exposes as window.gatehouse. */
function publish(page: Page, data: unknown): Promise<void> {
  return page.evaluate((d) => (window as unknown as { gatehouse: { publish(c: string, d: unknown): Promise<void> } }).gatehouse.publish('chat:lobby', d), data);
}

const shown = (page: Page) => page.$$eval('#messages li', (items) => items.map((li) => li.textContent ?? ''));

test('hostile chat messages are shown safely or skipped, and the next normal message still renders for every viewer', async () => {
  const mallory = await demoPage('alice');
  const viewer = await demoPage('bob');
  await sleep(200);
  const hostile = [
    { from: { toString: 1 }, text: 'from has a toString' },
    { from: 'mallory', text: { toString: 1, valueOf: 1 } },
    { from: 'mallory', text: 'x'.repeat(5000) },
    'a bare string',
    null,
    [1, 2, 3],
  ];
  for (const data of hostile) await publish(mallory, data);
  await publish(mallory, { from: 'alice', text: 'still here' });
  for (const page of [viewer, mallory]) {
    await page.waitForFunction(() => document.querySelector('#messages')?.textContent?.includes('still here'), undefined, { timeout: 5000 });
  }
  const lines = await shown(viewer);
  assert.is(lines[lines.length - 1], 'alicestill here');
  assert.ok(lines.includes('{"toString":1}from has a toString'), lines.join('\n'));
  assert.ok(lines.includes('mallory{"toString":1,"valueOf":1}'), lines.join('\n'));
  assert.ok(
    lines.some((l) => l.startsWith('mallory') && l.length < 600),
    'a long text is cut',
  );
});

test.run();
