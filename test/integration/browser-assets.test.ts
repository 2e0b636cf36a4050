import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Gateway } from '../../server/gateway';
import { CLIENT_CACHE_CONTROL } from '../../server/browser/install';
import { testConfig } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { buildClient } from '../helpers/browser';

let demo: Gateway;
let plain: Gateway;

const suiteScope = useScope(test, 'suite');

test.before(async () => {
  buildClient();
  demo = await suiteScope.gateway({ GATEHOUSE_DEMO: '1' });
  plain = await suiteScope.gateway();
});

const get = (gw: Gateway, path: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${gw.address().port}${path}`, { headers, signal: AbortSignal.timeout(5000) });

test('/client.js is the built client, with a long cache lifetime, an ETag and 304 when it matches', async () => {
  const res = await get(plain, '/client.js');
  assert.is(res.status, 200);
  assert.match(String(res.headers.get('content-type')), /^text\/javascript/);
  assert.is(res.headers.get('cache-control'), CLIENT_CACHE_CONTROL);
  assert.match(CLIENT_CACHE_CONTROL, /max-age=\d{5,}/);
  const etag = res.headers.get('etag');
  assert.match(String(etag), /^"[\w-]+"$/);
  assert.is(await res.text(), readFileSync(join(__dirname, '..', '..', 'dist', 'client.js'), 'utf8'));
  const again = await get(plain, '/client.js', { 'if-none-match': etag! });
  assert.is(again.status, 304);
  assert.is(await again.text(), '');
  assert.is(again.headers.get('etag'), etag);
});

test('the demo is served at / with GATEHOUSE_DEMO=1, and not without it', async () => {
  const page = await get(demo, '/');
  assert.is(page.status, 200);
  assert.match(String(page.headers.get('content-type')), /^text\/html/);
  assert.match(String(page.headers.get('content-security-policy')), /default-src 'self'/);
  assert.match(await page.text(), /<script type="module" src="\/demo.js">/);
  assert.is((await get(demo, '/demo.js')).status, 200);
  assert.is((await get(plain, '/')).status, 404);
  assert.is((await get(plain, '/demo.js')).status, 404);
});

test('development mode serves the demo with its users and rules; GATEHOUSE_DEMO=0 turns it off; a keyed node never takes the demo users', () => {
  const dev = testConfig({ GATEHOUSE_AUTH_KEY: undefined });
  assert.is(dev.devMode, true);
  assert.is(dev.demo, true);
  assert.match(String(dev.usersFile), /demo\/users\.json$/);
  assert.match(String(dev.channelsFile), /demo\/channels\.json$/);
  assert.ok(dev.users.some((u) => u.username === 'bob'));
  assert.is(dev.renewIntervalMs, 30_000);
  const off = testConfig({ GATEHOUSE_AUTH_KEY: undefined, GATEHOUSE_DEMO: '0' });
  assert.is(off.demo, false);
  assert.is(off.usersFile, undefined);
  const keyed = testConfig({ GATEHOUSE_DEMO: '1' });
  assert.is(keyed.demo, true);
  assert.is(keyed.usersFile, undefined);
  assert.is(keyed.channelsFile, undefined);
  assert.is(keyed.renewIntervalMs, 5 * 60_000);
});

test('GATEHOUSE_DEMO takes only 1, true, 0, false', () => {
  assert.throws(() => testConfig({ GATEHOUSE_DEMO: 'yes' }), /GATEHOUSE_DEMO/);
});

test.run();
