import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import type { Gateway } from '../../server/gateway';
import { jwksOf, makeKeyPair, mintHs256, mintWithKey, nextEvent, SECRET, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { ErrorName } from '../../shared';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-auth-'));
const rsa1 = makeKeyPair('RS256', 'rsa-1');
const rsa2 = makeKeyPair('RS256', 'rsa-2');
const ec1 = makeKeyPair('ES256', 'ec-1');
const stranger = makeKeyPair('RS256', 'rsa-1'); // same kid as rsa1, different key
const jwksFile = join(dir, 'jwks.json');
writeFileSync(jwksFile, jwksOf(rsa1, rsa2, ec1));

let gw: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  gw = await suiteScope.gateway({ GATEHOUSE_JWKS_FILE: jwksFile, GATEHOUSE_ISSUER: 'https://auth.test', GATEHOUSE_AUDIENCE: 'gatehouse' });
});

const now = () => Math.floor(Date.now() / 1000);
const good = { sub: 'alice', iss: 'https://auth.test', aud: 'gatehouse' };

async function handshake(token: string | null) {
  const r = await scope.connect(gw, token);
  return r;
}

/** authenticate() after an anonymous handshake: resolves the status or the rejection's error. */
async function authenticateLater(token: string) {
  const { client } = await handshake(null);
  try {
    const status = (await client.authenticate(token)) as unknown as { isAuthenticated: boolean; authError?: { name: string } };
    return { client, name: status.authError?.name, isAuthenticated: status.isAuthenticated };
  } catch (err) {
    return { client, name: (err as Error).name, isAuthenticated: client.authState === 'authenticated' };
  }
}

const accepted: [string, () => string][] = [
  ['HS256 without kid', () => mintHs256(good)],
  ['RS256 by kid', () => mintWithKey(rsa1, good)],
  ['second RS256 key at once (rotation)', () => mintWithKey(rsa2, good)],
  ['ES256 by kid', () => mintWithKey(ec1, good)],
  ['sid and jti of 256 characters', () => mintHs256({ ...good, sid: 's'.repeat(256), jti: 'j'.repeat(256) })],
];

for (const [name, mint] of accepted) {
  test(`accepts at the handshake: ${name}`, async () => {
    const { status, client } = await handshake(mint());
    assert.is(status.isAuthenticated, true);
    assert.is(status.authError, undefined);
    assert.is((client.authToken as { sub?: string } | null)?.sub, 'alice');
  });
  test(`accepts through authenticate(): ${name}`, async () => {
    const r = await authenticateLater(mint());
    assert.is(r.isAuthenticated, true);
    assert.is(r.name, undefined);
  });
}

const forgedNone = () => {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ ...good, iat: now(), exp: now() + 60 })}.`;
};
const rsaPublicPem = rsa1.publicKey.export({ format: 'pem', type: 'spki' }).toString();

const refused: [string, () => string, string][] = [
  ['expired', () => mintHs256({ ...good, iat: now() - 120, exp: now() - 60 }), ErrorName.AuthTokenExpired],
  ['nbf in the future', () => mintHs256({ ...good, nbf: now() + 120 }), ErrorName.AuthTokenNotBefore],
  ['bad signature', () => mintHs256(good, {}, 'another-secret-another-secret-another-secret!'), ErrorName.AuthTokenInvalid],
  ['alg none', forgedNone, ErrorName.AuthTokenInvalid],
  [
    'alg none with a kid',
    () => forgedNone().replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: 'none', kid: 'rsa-1' })).toString('base64url')),
    ErrorName.AuthTokenInvalid,
  ],
  [
    'HS256 signed with the RSA public key as secret',
    () =>
      jwt.sign({ ...good, iat: now(), exp: now() + 60 }, rsaPublicPem, { algorithm: 'HS256', keyid: 'rsa-1', allowInsecureKeySizes: true } as jwt.SignOptions),
    ErrorName.AuthTokenInvalid,
  ],
  [
    'HS256 with the RSA public key and no kid',
    () => jwt.sign({ ...good, iat: now(), exp: now() + 60 }, rsaPublicPem, { algorithm: 'HS256' }),
    ErrorName.AuthTokenInvalid,
  ],
  ['HS512 when only HS256 is allowed', () => mintHs256(good, { algorithm: 'HS512' }), ErrorName.AuthTokenInvalid],
  ['kid naming the wrong key', () => mintWithKey(stranger, good), ErrorName.AuthTokenInvalid],
  ['unknown kid', () => mintWithKey({ ...rsa1, kid: 'nope' }, good), ErrorName.AuthTokenInvalid],
  ['ES256 token under an RS256 kid', () => mintWithKey({ ...ec1, kid: 'rsa-1' }, good), ErrorName.AuthTokenInvalid],
  ['wrong iss', () => mintHs256({ ...good, iss: 'https://evil.test' }), ErrorName.AuthTokenInvalid],
  ['missing iss', () => mintHs256({ sub: 'alice', aud: 'gatehouse' }), ErrorName.AuthTokenInvalid],
  ['wrong aud', () => mintHs256({ ...good, aud: 'other' }), ErrorName.AuthTokenInvalid],
  ['missing aud', () => mintHs256({ sub: 'alice', iss: 'https://auth.test' }), ErrorName.AuthTokenInvalid],
  ['missing sub', () => mintHs256({ iss: good.iss, aud: good.aud }), ErrorName.AuthTokenInvalid],
  ['empty sub', () => mintHs256({ ...good, sub: '' }), ErrorName.AuthTokenInvalid],
  ['non-string sub', () => mintHs256({ ...good, sub: 42 }), ErrorName.AuthTokenInvalid],
  ['sub over 128 characters', () => mintHs256({ ...good, sub: 'x'.repeat(129) }), ErrorName.AuthTokenInvalid],
  ['sid and jti of 257 characters (too long to revoke)', () => mintHs256({ ...good, sid: 's'.repeat(257), jti: 'j'.repeat(257) }), ErrorName.AuthTokenInvalid],
  ['sid of 257 characters', () => mintHs256({ ...good, sid: 's'.repeat(257) }), ErrorName.AuthTokenInvalid],
  ['jti of 257 characters', () => mintHs256({ ...good, jti: 'j'.repeat(257) }), ErrorName.AuthTokenInvalid],
  ['missing exp', () => jwt.sign({ ...good, iat: now() }, SECRET, { algorithm: 'HS256' }), ErrorName.AuthTokenInvalid],
  ['lifetime over the cap', () => mintHs256({ ...good, iat: now(), exp: now() + 25 * 3600 }), ErrorName.AuthTokenInvalid],
  [
    'no iat and exp beyond the cap',
    () => jwt.sign({ ...good, exp: now() + 25 * 3600 }, SECRET, { algorithm: 'HS256', noTimestamp: true }),
    ErrorName.AuthTokenInvalid,
  ],
  ['iat far in the future', () => mintHs256({ ...good, iat: now() + 3600, exp: now() + 7200 }), ErrorName.AuthTokenInvalid],
  ['auth_time later than iat', () => mintHs256({ ...good, auth_time: now() + 10 * 365 * 86400 }), ErrorName.AuthTokenInvalid],
  ['auth_time not a number', () => mintHs256({ ...good, auth_time: 'yesterday' }), ErrorName.AuthTokenInvalid],
  ['over 8 KiB', () => mintHs256({ ...good, pad: 'x'.repeat(9000) }), ErrorName.AuthTokenInvalid],
  ['garbage', () => 'not.a.token', ErrorName.AuthTokenInvalid],
  ['garbage base64 header', () => '!!!.###.$$$', ErrorName.AuthTokenInvalid],
];

for (const [name, mint, expected] of refused) {
  test(`refuses at the handshake: ${name} → ${expected}`, async () => {
    const { status, client, auth } = await handshake(mint());
    assert.is(status.isAuthenticated, false);
    assert.is(status.authError?.name, expected);
    assert.is(client.authState, 'unauthenticated');
    if (expected === ErrorName.AuthTokenNotBefore) {
      assert.ok(auth.current !== null, 'a not-yet-valid token is kept');
    } else {
      await waitFor(() => auth.current === null, 2000, 'the client to drop its bad token');
    }
  });
  test(`refuses through authenticate(): ${name} → ${expected}`, async () => {
    const r = await authenticateLater(mint());
    assert.is(r.isAuthenticated, false);
    assert.is(r.name, expected);
  });
}

test('a refused issuer or audience is named to the client only as "not accepted": the configured values stay private', async () => {
  for (const [token, message] of [
    [mintHs256({ ...good, iss: 'https://evil.test' }), 'issuer not accepted'],
    [mintHs256({ ...good, aud: 'other' }), 'audience not accepted'],
  ] as const) {
    const { status } = await handshake(token);
    assert.is(status.authError?.name, ErrorName.AuthTokenInvalid);
    assert.is(status.authError?.message, message);
    const later = await authenticateLater(token);
    assert.is(later.name, ErrorName.AuthTokenInvalid);
    for (const secret of ['https://auth.test', 'gatehouse']) {
      assert.not.ok(JSON.stringify(status.authError).includes(secret), `the handshake's error names ${secret}`);
    }
  }
});

test('a token whose auth_time is within the tolerance of its iat is accepted', async () => {
  const { status } = await handshake(mintHs256({ ...good, iat: now(), auth_time: now() + 2 }));
  assert.is(status.isAuthenticated, true);
});

test('no handler sees a socket authenticated by a refused token', async () => {
  const seen: string[] = [];
  const stop = (async () => {
    for await (const { socket } of (gw.agServer as unknown as { listener(n: string): AsyncIterable<{ socket: { authState: string } }> }).listener(
      'authentication',
    )) {
      seen.push(socket.authState);
    }
  })();
  await handshake(mintHs256({ ...good, aud: 'other' }));
  await authenticateLater(mintWithKey(stranger, good));
  await new Promise((r) => setTimeout(r, 100));
  (gw.agServer as unknown as { closeListener(n: string): void }).closeListener('authentication');
  await stop;
  assert.equal(seen, []);
});

test('a token refused at the handshake leaves the client its connect with the error name', async () => {
  const { client } = await handshake(null);
  const err = nextEvent<{ error: Error }>(client, 'error', 2000).catch(() => null);
  await client.authenticate(mintHs256({ ...good, exp: now() - 1, iat: now() - 10 })).catch(() => {});
  await err;
  assert.is(client.authState, 'unauthenticated');
});

test.run();
