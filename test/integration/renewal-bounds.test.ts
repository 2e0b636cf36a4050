// budget: 90s
// Renewal never outlives what the session was built from: the key that verified it (a reload that removes the key
// ends the session), its auth_time (never later than the first token's iat), its audience (never widened), and a
// logout (it revokes the original token too, not only the sid renewal gave it). Stock client, real gateways.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CloseCode, ErrorName, Procedure } from '../../shared';
import { jwksOf, makeKeyPair, mintHs256, mintWithKey, nextEvent, sleep, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { recordTokens } from '../helpers/tokens';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-renewal-bounds-'));
const leaked = makeKeyPair('ES256', 'leaked-1');
const current = makeKeyPair('ES256', 'current-1');
const scope = useScope(test);

test.after(() => rmSync(dir, { recursive: true, force: true }));

const now = () => Math.floor(Date.now() / 1000);

test('a reload that removes a key closes (KeyRetired) the live sockets it verified, renewed or not, and their renewed tokens are refused', async () => {
  const jwksFile = join(dir, 'jwks-retire.json');
  writeFileSync(jwksFile, jwksOf(leaked, current));
  const gw = await scope.gateway({ GATEHOUSE_JWKS_FILE: jwksFile, GATEHOUSE_RENEW_INTERVAL: '1s', GATEHOUSE_TOKEN_TTL: '3s' });
  const renewedOne = await scope.connect(gw, mintWithKey(leaked, { sub: 'leaky', jti: 'leaky-1' }));
  assert.is(renewedOne.status.isAuthenticated, true);
  const tokens = recordTokens(renewedOne.client);
  await waitFor(() => tokens.length >= 1, 3000, 'a renewal');
  assert.is(tokens[0].claims.okid, 'leaked-1', 'the renewed token names the key that verified the session');
  const fresh = await scope.connect(gw, mintWithKey(leaked, { sub: 'leaky-too' }));
  const unaffected = await scope.connect(gw, mintWithKey(current, { sub: 'fine' }));
  const hs256 = await scope.connect(gw, mintHs256({ sub: 'secret-user' }));

  const closedRenewed = nextEvent<{ code: number }>(renewedOne.client, 'close', 3000);
  const closedFresh = nextEvent<{ code: number }>(fresh.client, 'close', 3000);
  writeFileSync(jwksFile, jwksOf(current));
  gw.reload(); // what SIGHUP does
  assert.is((await closedRenewed).code, CloseCode.KeyRetired);
  assert.is((await closedFresh).code, CloseCode.KeyRetired);
  assert.is(renewedOne.auth.current, null, 'the client dropped its token');
  await sleep(200);
  assert.is(unaffected.client.authState, 'authenticated');
  assert.is(hs256.client.authState, 'authenticated');

  // The HS256 token the gateway renewed the session into is refused too, although the secret still verifies it.
  const again = await scope.connect(gw, tokens[tokens.length - 1].signed);
  assert.is(again.status.authError?.name, ErrorName.AuthTokenInvalid);
  assert.is(again.status.authError?.message, 'the key that verified this session was retired');
});

test("auth_time is never later than the first token's iat: a renewal carries min(auth_time, iat), and GATEHOUSE_SESSION_MAX_AGE counts from it", async () => {
  const gw = await scope.gateway({ GATEHOUSE_RENEW_INTERVAL: '1s', GATEHOUSE_TOKEN_TTL: '3s', GATEHOUSE_SESSION_MAX_AGE: '4s' });
  const iat = now();
  // Within the clock tolerance (5 s), so accepted; but the session cannot have started after its token.
  const { client, status } = await scope.connect(gw, mintHs256({ sub: 'timely', iat, auth_time: iat + 4, exp: iat + 3 }));
  assert.is(status.isAuthenticated, true);
  const tokens = recordTokens(client);
  await waitFor(() => tokens.length >= 1, 3000, 'a renewal');
  assert.is(tokens[0].claims.auth_time, iat);
  // The session ends at iat + 4 s, not at auth_time + 4 s: no token reaches past it.
  for (const { claims } of tokens) assert.ok(claims.exp <= iat + 4, `exp ${claims.exp - iat}s after iat`);
  await waitFor(() => client.authState === 'unauthenticated', 7000, 'the session to end');
  for (const { claims } of tokens) assert.ok(claims.exp <= iat + 4, `exp ${claims.exp - iat}s after iat`);
});

test("a renewal keeps the token's audience, narrowed to the configured ones, never widened to every configured audience", async () => {
  const gw = await scope.gateway({ GATEHOUSE_AUDIENCE: 'chat-gateway,billing-api', GATEHOUSE_RENEW_INTERVAL: '1s', GATEHOUSE_TOKEN_TTL: '3s' });
  const single = await scope.connect(gw, mintHs256({ sub: 'aud-1', aud: 'chat-gateway' }));
  const several = await scope.connect(gw, mintHs256({ sub: 'aud-2', aud: ['elsewhere', 'billing-api'] }));
  const singleTokens = recordTokens(single.client);
  const severalTokens = recordTokens(several.client);
  await waitFor(() => singleTokens.length >= 1 && severalTokens.length >= 1, 3000, 'renewals');
  assert.is(singleTokens[0].claims.aud, 'chat-gateway');
  assert.is(severalTokens[0].claims.aud, 'billing-api');
});

for (const [what, claims] of [
  ['a jti but no sid', { jti: 'orig-jti-1' }],
  ['neither sid nor jti', {}],
] as const) {
  test(`logout after a renewal revokes the original token too (a token with ${what})`, async () => {
    const gw = await scope.gateway({ GATEHOUSE_RENEW_INTERVAL: '1s', GATEHOUSE_TOKEN_TTL: '3s' });
    const original = mintHs256({ sub: `orphan-${what.length}`, ...claims });
    const { client } = await scope.connect(gw, original);
    const tokens = recordTokens(client);
    await waitFor(() => tokens.length >= 1, 3000, 'a renewal');
    const sibling = await scope.connect(gw, original);
    assert.is(sibling.status.isAuthenticated, true, 'the original still authenticates before the logout');
    const closed = nextEvent<{ code: number }>(sibling.client, 'close', 3000);
    assert.equal(await client.invoke(Procedure.Logout, undefined), { revoked: 'sid' });
    assert.is((await closed).code, CloseCode.TokenRevoked, 'the other socket of the original token is closed');
    for (const token of [original, tokens[0].signed]) {
      const again = await scope.connect(gw, token);
      assert.is(again.status.authError?.name, ErrorName.AuthTokenRevoked);
    }
  });
}

test.run();
