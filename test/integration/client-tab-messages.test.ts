// budget: 60s
// Messages between tabs (client/tabs.ts) come from any script of the origin: the client takes only well-formed ones,
// and another account's token only when it is logging in itself. Node has BroadcastChannel: the "other tab" here is a
// channel of the same name in this process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createClient, memoryStorage, storageKey, type GatehouseClient } from '../../client';
import type { Gateway } from '../../server/gateway';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

let gw: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  gw = await suiteScope.gateway({ GATEHOUSE_RENEW_INTERVAL: '0' });
});

/** A client in a "tab" authenticated as `sub`, and a channel to post to it as another tab would. */
async function tab(sub: string): Promise<{ client: GatehouseClient; post: (msg: unknown) => void; deauths: string[] }> {
  const url = `http://127.0.0.1:${gw.address().port}`;
  const client = scope.own(createClient({ url, tabs: true, storage: memoryStorage(), ackTimeout: 3000 }), (c) => c.close(), 'client');
  const deauths: string[] = [];
  client.on('deauthenticated', ({ reason }) => deauths.push(reason));
  await client.authenticate(mintHs256({ sub, sid: `${sub}-1` }));
  const channel = scope.own(new BroadcastChannel(storageKey(url)), (ch) => ch.close(), 'broadcast channel');
  return { client, post: (msg) => channel.postMessage(msg), deauths };
}

test('malformed tab messages change nothing: no logout, no switch of account', async () => {
  const { client, post, deauths } = await tab('alice');
  for (const msg of [
    {},
    null,
    'logout',
    { type: 'logout' },
    { type: 'logout', reason: 'whatever' },
    { type: 'token' },
    { type: 'token', token: 42 },
    { type: 'token', token: 'not.a.jwt' },
    { type: 'logout', reason: 'logout', token: 7 },
  ]) {
    post(msg);
  }
  await sleep(500);
  assert.is(client.state.authenticated, true);
  assert.is(client.state.claims?.sub, 'alice');
  assert.equal(deauths, []);
  // A well-formed logout still logs the tab out (the messages did arrive).
  post({ type: 'logout', reason: 'logout' });
  await waitFor(() => !client.state.authenticated, 3000, 'the logout from the other tab');
  assert.equal(deauths, ['other-tab']);
});

test('a token for another sub is ignored by a tab authenticated as someone else; an anonymous tab takes it', async () => {
  const { client, post } = await tab('alice');
  post({ type: 'token', token: mintHs256({ sub: 'mallory', sid: 'm-1' }) });
  await sleep(500);
  assert.is(client.state.claims?.sub, 'alice');
  // A newer token for the same sub is a renewal, taken as before.
  post({ type: 'token', token: mintHs256({ sub: 'alice', sid: 'alice-1', exp: Math.floor(Date.now() / 1000) + 600 }) });
  await waitFor(() => (client.state.expiresIn ?? 0) > 400, 3000, 'the newer token taken');
  post({ type: 'logout', reason: 'logout' });
  await waitFor(() => !client.state.authenticated, 3000, 'logged out');
  post({ type: 'token', token: mintHs256({ sub: 'bob', sid: 'bob-1' }) });
  await waitFor(() => client.state.claims?.sub === 'bob', 3000, 'the anonymous tab follows a login');
});

test.run();
