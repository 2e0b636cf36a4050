// An authenticated socket that re-authenticates with a bad token loses its authentication once: the server's
// `deauthentication` event and the socket's `deauthenticate` event fire once each (they used to fire twice: the
// gateway's own deauthentication hook, then SocketCluster's).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Gateway } from '../../server/gateway';
import { ErrorName } from '../../shared';
import { serverSocketOf } from '../helpers/channels';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

let gw: Gateway;
const suiteScope = useScope(test, 'suite');

test.before(async () => {
  gw = await suiteScope.gateway();
});

/** Counts an event on a listener stream until the test ends it. */
function counter(stream: AsyncIterable<unknown>): { readonly count: number } {
  const state = { count: 0 };
  void (async () => {
    for await (const _ of stream) state.count++;
  })();
  return state;
}

const now = () => Math.floor(Date.now() / 1000);
const BAD_TOKENS: [string, () => string, string][] = [
  ['a bad signature', () => mintHs256({ sub: 'mia' }, {}, 'another-secret-another-secret-another-secret'), ErrorName.AuthTokenInvalid],
  ['an expired token', () => mintHs256({ sub: 'mia', iat: now() - 100, exp: now() - 10 }), ErrorName.AuthTokenExpired],
  ['a token without sub', () => mintHs256({ user: 'mia' }), ErrorName.AuthTokenInvalid],
];

for (const [what, bad, name] of BAD_TOKENS) {
  test(`re-authenticating with ${what} fires deauthentication once, on the server and on the socket`, async () => {
    const { client, status } = await suiteScope.connect(gw, mintHs256({ sub: 'mia', channels: ['*'] }));
    assert.is(status.isAuthenticated, true);
    const socket = serverSocketOf(gw, client);
    const serverEvents = counter((gw.agServer as unknown as { listener(n: string): AsyncIterable<unknown> }).listener('deauthentication'));
    const socketEvents = counter((socket as unknown as { listener(n: string): AsyncIterable<unknown> }).listener('deauthenticate'));
    const err = await client.authenticate(bad()).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.is(err?.name, name);
    await waitFor(() => socket.authState === socket.UNAUTHENTICATED, 2000, 'the socket deauthenticated');
    await sleep(150);
    assert.is(serverEvents.count, 1, 'server deauthentication events');
    assert.is(socketEvents.count, 1, 'socket deauthenticate events');
    assert.is(gw.revocation.enforcer.index.claimsOf(socket), undefined, 'and the gateway forgot its claims');
    (gw.agServer as unknown as { closeListener(n: string): void }).closeListener('deauthentication');
    (socket as unknown as { closeListener(n: string): void }).closeListener('deauthenticate');
  });
}

test.run();
