import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../server/config';
import { jwkThumbprint } from '../../server/auth/jwks';
import { jwksOf, makeKeyPair } from '../helpers/gateway';

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!!';
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
let fileNo = 0;
function file(content: string): string {
  const path = join(dir, `f${fileNo++}`);
  writeFileSync(path, content);
  return path;
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env: { GATEHOUSE_AUTH_KEY: SECRET, ...env } });
  } catch (err) {
    assert.instance(err, ConfigError);
    return [...(err as ConfigError).problems];
  }
  assert.unreachable('the configuration was accepted');
  return [];
}

const rsa = makeKeyPair('RS256', 'rsa-good');
const ec = makeKeyPair('ES256', 'ec-good');
const goodJwk = () => (JSON.parse(jwksOf(rsa, ec)) as { keys: Record<string, unknown>[] }).keys;
const smallRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
const ed = generateKeyPairSync('ed25519');
const pem = (k: import('node:crypto').KeyObject) => k.export({ format: 'pem', type: 'pkcs8' }).toString();
const jwkOf = (k: import('node:crypto').KeyObject, extra: object) => ({ ...(k.export({ format: 'jwk' }) as object), ...extra });

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a good JWK Set is read with one algorithm per key', () => {
  const c = loadConfig({ env: { GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_JWKS_FILE: file(jwksOf(rsa, ec)) } });
  assert.equal(
    c.jwks.map((k) => [k.kid, k.alg]),
    [
      ['rsa-good', 'RS256'],
      ['ec-good', 'ES256'],
    ],
  );
});

test('a JWK Set alone (no HS256 key) is a valid production configuration', () => {
  const c = loadConfig({ env: { NODE_ENV: 'production', GATEHOUSE_JWKS_FILE: file(jwksOf(rsa)) } });
  assert.is(c.devMode, false);
  assert.is(c.authKey, undefined);
});

const badSets: [string, () => string, string[]][] = [
  ['not JSON', () => '{"keys": [', ['not valid JSON']],
  ['no keys array', () => JSON.stringify({ key: [] }), ['"keys" array']],
  [
    'a private key inside',
    () => JSON.stringify({ keys: [goodJwk()[0], jwkOf(ec.privateKey, { kid: 'leaked', alg: 'ES256' })] }),
    ['keys[1]', 'leaked', 'private'],
  ],
  ['an alg that does not fit the key', () => JSON.stringify({ keys: [{ ...goodJwk()[0], alg: 'ES256' }] }), ['keys[0]', 'rsa-good', 'alg']],
  ['an algorithm we do not support', () => JSON.stringify({ keys: [goodJwk()[1], { ...goodJwk()[0], alg: 'RS512' }] }), ['keys[1]', 'rsa-good', 'RS512']],
  ['a small RSA key', () => JSON.stringify({ keys: [jwkOf(smallRsa.publicKey, { kid: 'tiny', alg: 'RS256' })] }), ['keys[0]', 'tiny', '2048']],
  ['an EC key off P-256', () => JSON.stringify({ keys: [jwkOf(p384.publicKey, { kid: 'p384' })] }), ['keys[0]', 'p384', 'P-256']],
  ['an Ed25519 key', () => JSON.stringify({ keys: [jwkOf(ed.publicKey, { kid: 'edkey' })] }), ['keys[0]', 'edkey']],
  ['a duplicate kid', () => JSON.stringify({ keys: [goodJwk()[0], { ...goodJwk()[1], kid: 'rsa-good' }] }), ['keys[1]', 'rsa-good', 'twice']],
  ['a key without kid', () => JSON.stringify({ keys: [{ ...goodJwk()[0], kid: undefined }] }), ['keys[0]', 'kid']],
  ['a key for encryption', () => JSON.stringify({ keys: [{ ...goodJwk()[0], use: 'enc' }] }), ['keys[0]', 'use']],
  ['a symmetric key', () => JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'sym' }] }), ['keys[0]', 'sym']],
  ['garbage in an entry', () => JSON.stringify({ keys: [{ kty: 'RSA', n: '!!', e: 'AQAB', kid: 'junk' }] }), ['keys[0]', 'junk']],
  ['a non-object entry', () => JSON.stringify({ keys: ['x'] }), ['keys[0]']],
];
for (const [name, content, mentions] of badSets) {
  test(`GATEHOUSE_JWKS_FILE with ${name} is refused, naming the entry`, () => {
    const path = file(content());
    const problems = problemsOf({ GATEHOUSE_JWKS_FILE: path });
    assert.is(problems.length, 1, problems.join('\n'));
    assert.ok(problems[0].startsWith('GATEHOUSE_JWKS_FILE:'), problems[0]);
    assert.match(problems[0], path);
    for (const m of mentions) assert.match(problems[0], m);
  });
}

test('GATEHOUSE_JWKS_FILE that does not exist is refused, naming it', () => {
  const problems = problemsOf({ GATEHOUSE_JWKS_FILE: join(dir, 'none.json') });
  assert.ok(problems[0].startsWith('GATEHOUSE_JWKS_FILE:'));
});

test('a signing key: its kid defaults to the RFC 7638 thumbprint; GATEHOUSE_SIGNING_KEY_ID overrides it', () => {
  const path = file(pem(ec.privateKey));
  const a = loadConfig({ env: { GATEHOUSE_SIGNING_KEY_FILE: path } });
  assert.is(a.signingKey?.kid, jwkThumbprint(ec.publicKey));
  assert.is(a.signingKey?.alg, 'ES256');
  assert.is(a.devMode, false);
  const b = loadConfig({ env: { GATEHOUSE_SIGNING_KEY_FILE: path, GATEHOUSE_SIGNING_KEY_ID: 'mine' } });
  assert.is(b.signingKey?.kid, 'mine');
});

test('a signing key whose kid is in the JWK Set with the same key is fine', () => {
  const c = loadConfig({
    env: {
      GATEHOUSE_SIGNING_KEY_FILE: file(pem(rsa.privateKey)),
      GATEHOUSE_SIGNING_KEY_ID: 'rsa-good',
      GATEHOUSE_JWKS_FILE: file(jwksOf(rsa, ec)),
    },
  });
  assert.is(c.signingKey?.kid, 'rsa-good');
});

const badSigningKeys: [string, () => string, Record<string, string>, string][] = [
  ['not a PEM', () => 'hello', {}, 'GATEHOUSE_SIGNING_KEY_FILE'],
  ['a public key', () => rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString(), {}, 'GATEHOUSE_SIGNING_KEY_FILE'],
  ['a small RSA key', () => pem(smallRsa.privateKey), {}, 'GATEHOUSE_SIGNING_KEY_FILE'],
  ['a P-384 key', () => pem(p384.privateKey), {}, 'GATEHOUSE_SIGNING_KEY_FILE'],
  ['an Ed25519 key', () => pem(ed.privateKey), {}, 'GATEHOUSE_SIGNING_KEY_FILE'],
  [
    'a kid that names another key in the JWK Set',
    () => pem(ec.privateKey),
    { GATEHOUSE_SIGNING_KEY_ID: 'rsa-good', GATEHOUSE_JWKS_FILE: file(jwksOf(rsa)) },
    'GATEHOUSE_SIGNING_KEY_ID',
  ],
];
for (const [name, content, env, variable] of badSigningKeys) {
  test(`GATEHOUSE_SIGNING_KEY_FILE with ${name} is refused, naming ${variable}`, () => {
    const problems = problemsOf({ GATEHOUSE_SIGNING_KEY_FILE: file(content()), ...env });
    assert.is(problems.length, 1, problems.join('\n'));
    assert.ok(problems[0].startsWith(`${variable}:`), problems[0]);
  });
}

test('GATEHOUSE_SIGNING_KEY_FILE that does not exist is refused', () => {
  const problems = problemsOf({ GATEHOUSE_SIGNING_KEY_FILE: join(dir, 'none.pem') });
  assert.ok(problems[0].startsWith('GATEHOUSE_SIGNING_KEY_FILE:'));
});

test.run();
