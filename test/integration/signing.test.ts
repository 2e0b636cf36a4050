import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import type { GatehouseClaims } from '../../shared';
import { jwksOf, makeKeyPair, mintHs256, nextEvent } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-signing-'));
const gatewayKey = makeKeyPair('ES256', 'gw-es-1');
const signingKeyFile = join(dir, 'signing-key.pem');
writeFileSync(signingKeyFile, gatewayKey.privateKey.export({ format: 'pem', type: 'pkcs8' }));
const otherKey = makeKeyPair('RS256', 'partner-1');
const jwksFile = join(dir, 'jwks.json');
writeFileSync(jwksFile, jwksOf(otherKey));

const scope = useScope(test);

test.after(() => rmSync(dir, { recursive: true, force: true }));

const ID = /^[A-Za-z0-9_-]{22}$/;

/**
 * A gateway with a test procedure that calls `socket.setAuthToken(payload)` the way login and renewal do, and answers
 * with what `socket.authToken` then holds.
 */
async function gatewayWithIssuer(env: Record<string, string> = {}) {
  const gw = await scope.gateway(env);
  gw.procedures.register('test:setAuthToken', async (data, socket) => {
    await socket.setAuthToken(data as Record<string, unknown>);
    return socket.authToken;
  });
  gw.procedures.register('test:renew', async (_data, socket) => {
    // The renewal recipe: re-sign the current claims; the engine restamps iat/exp/jti and keeps sid.
    await socket.setAuthToken({ ...(socket.authToken as object) });
    return socket.authToken;
  });
  return gw;
}

test('setAuthToken on a real socket: socket.authToken carries jti, sid, iat and exp, and the client gets a token the gateway accepts', async () => {
  const gw = await gatewayWithIssuer({ GATEHOUSE_ISSUER: 'https://gw.test', GATEHOUSE_TOKEN_TTL: '10m' });
  const { client } = await scope.connect(gw, null);
  const authenticated = nextEvent<{ signedAuthToken: string }>(client, 'authenticate');
  const before = Math.floor(Date.now() / 1000);
  const serverClaims = (await client.invoke('test:setAuthToken', { sub: 'carol', channels: ['room:1'], exp: 1, jti: 'forged' })) as GatehouseClaims;
  const { signedAuthToken } = await authenticated;

  assert.match(serverClaims.jti!, ID);
  assert.is.not(serverClaims.jti, 'forged');
  assert.match(serverClaims.sid!, ID);
  assert.ok(serverClaims.iat! >= before && serverClaims.iat! <= before + 2);
  assert.is(serverClaims.exp, serverClaims.iat! + 600);
  assert.is(serverClaims.iss, 'https://gw.test');
  assert.equal(serverClaims.channels, ['room:1']);

  // What the client holds is exactly what the server socket holds, signed HS256 without a kid.
  assert.is(client.signedAuthToken, signedAuthToken);
  assert.equal(client.authToken, serverClaims);
  assert.is(jwt.decode(signedAuthToken, { complete: true })!.header.kid, undefined);
  assert.equal(await gw.engine.verifyToken(signedAuthToken, null, {}), serverClaims);

  // And it authenticates a fresh connection.
  const again = await scope.connect(gw, signedAuthToken);
  assert.is(again.status.isAuthenticated, true);
  assert.is((again.client.authToken as GatehouseClaims).jti, serverClaims.jti);
});

test('renewal by re-signing socket.authToken: fresh jti and exp, same sid', async () => {
  const gw = await gatewayWithIssuer();
  const { client } = await scope.connect(gw, mintHs256({ sub: 'dave', sid: 'sess-9', jti: 'app-jti', iat: Math.floor(Date.now() / 1000) - 100 }));
  assert.is(client.authState, 'authenticated');
  const renewed = (await client.invoke('test:renew', null)) as GatehouseClaims;
  assert.is(renewed.sid, 'sess-9');
  assert.is(renewed.sub, 'dave');
  assert.is.not(renewed.jti, 'app-jti');
  assert.ok(Math.abs(renewed.iat! - Date.now() / 1000) < 3);
  assert.is(renewed.exp, renewed.iat! + 15 * 60);
});

test('a gateway with GATEHOUSE_SIGNING_KEY_FILE signs with its kid and accepts its own tokens', async () => {
  const gw = await gatewayWithIssuer({
    GATEHOUSE_SIGNING_KEY_FILE: signingKeyFile,
    GATEHOUSE_SIGNING_KEY_ID: 'gw-es-1',
    GATEHOUSE_JWKS_FILE: jwksFile,
  });
  assert.ok(gw.keys.kids.includes('gw-es-1'), 'its public half is among the verification keys');
  assert.ok(gw.keys.kids.includes('partner-1'));

  const { client } = await scope.connect(gw, null);
  const authenticated = nextEvent<{ signedAuthToken: string }>(client, 'authenticate');
  await client.invoke('test:setAuthToken', { sub: 'erin' });
  const { signedAuthToken } = await authenticated;
  const header = jwt.decode(signedAuthToken, { complete: true })!.header;
  assert.is(header.alg, 'ES256');
  assert.is(header.kid, 'gw-es-1');
  // Anyone holding the public key can check it.
  assert.is((jwt.verify(signedAuthToken, gatewayKey.publicKey, { algorithms: ['ES256'] }) as GatehouseClaims).sub, 'erin');

  const again = await scope.connect(gw, signedAuthToken);
  assert.is(again.status.isAuthenticated, true);
  assert.is((again.client.authToken as GatehouseClaims).sub, 'erin');

  // The key survives a JWK Set reload that does not list it.
  gw.reloadKeys();
  const third = await scope.connect(gw, signedAuthToken);
  assert.is(third.status.isAuthenticated, true);
});

test('a gateway with a signing key and an HS256 secret signs with the signing key', async () => {
  const gw = await gatewayWithIssuer({ GATEHOUSE_SIGNING_KEY_FILE: signingKeyFile });
  const { token } = gw.engine.issue({ sub: 'frank' });
  const header = jwt.decode(token, { complete: true })!.header;
  assert.is(header.alg, 'ES256');
  assert.ok(header.kid && header.kid.length > 20, 'the kid defaults to the key thumbprint');
  const r = await scope.connect(gw, token);
  assert.is(r.status.isAuthenticated, true);
});

test('server code cannot have the gateway sign what its verifier would refuse: setAuthToken({username}) is refused by name and no token reaches the client', async () => {
  const gw = await gatewayWithIssuer();
  const { client } = await scope.connect(gw, null);
  let authenticated = false;
  void (async () => {
    for await (const _ of client.listener('authenticate')) authenticated = true;
  })();
  const closed = nextEvent<{ code: number }>(client, 'close', 3000);
  const refusal = await client.invoke('test:setAuthToken', { username: 'upstream-suite' }).then(
    () => undefined,
    (err: Error) => err,
  );
  assert.ok(refusal, 'the call fails');
  assert.is((await closed).code, 4002, 'SocketCluster closes a socket whose token could not be signed');
  assert.is(authenticated, false, 'the client never held a token');
  assert.is(client.signedAuthToken, null);

  for (const payload of [{ username: 'x' }, { sub: '' }, { sub: 'x'.repeat(129) }, { sub: 'ok', auth_time: Math.floor(Date.now() / 1000) + 3600 }]) {
    const err = await gw.engine.signToken({ ...payload }, null, {}).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.is(err?.name, 'UnsignableClaimsError', JSON.stringify(payload));
    assert.match(err!.message, 'refusing to sign');
    assert.throws(
      () => gw.engine.issue({ ...payload }),
      (e: Error) => e.name === 'UnsignableClaimsError',
    );
  }
});

test.run();
