import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gateway } from '../../server/gateway';
import { jwksOf, makeKeyPair, mintHs256, mintWithKey } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-reload-'));
const jwksFile = join(dir, 'jwks.json');
const old = makeKeyPair('RS256', 'old');
const next = makeKeyPair('ES256', 'next');

let gw: Gateway;
const scope = useScope(test);

test.before.each(async () => {
  writeFileSync(jwksFile, jwksOf(old));
  gw = await scope.gateway({ GATEHOUSE_JWKS_FILE: jwksFile });
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function accepted(token: string): Promise<boolean> {
  const { status } = await scope.connect(gw, token);
  return status.isAuthenticated;
}

test('a key added to the file works after reloadKeys(), and the old one still does (rotation)', async () => {
  assert.is(await accepted(mintWithKey(next, { sub: 'a' })), false);
  writeFileSync(jwksFile, jwksOf(old, next));
  gw.reloadKeys();
  assert.equal(gw.keys.kids.sort(), ['next', 'old']);
  assert.is(await accepted(mintWithKey(next, { sub: 'a' })), true);
  assert.is(await accepted(mintWithKey(old, { sub: 'a' })), true);
});

test('a key removed from the file is refused after reloadKeys(); HS256 is unaffected', async () => {
  writeFileSync(jwksFile, jwksOf(next));
  gw.reloadKeys();
  assert.is(await accepted(mintWithKey(old, { sub: 'a' })), false);
  assert.is(await accepted(mintWithKey(next, { sub: 'a' })), true);
  assert.is(await accepted(mintHs256({ sub: 'a' })), true);
});

/** The keys of a JWK Set document. */
const jwkKeys = (jwks: string) => (JSON.parse(jwks) as { keys: unknown[] }).keys;

const badFiles: [string, () => void][] = [
  ['not JSON', () => writeFileSync(jwksFile, '{"keys": [')],
  [
    'a private key inside',
    () => writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(next.privateKey.export({ format: 'jwk' }) as object), kid: 'next' }] })),
  ],
  ['a duplicate kid', () => writeFileSync(jwksFile, JSON.stringify({ keys: [...jwkKeys(jwksOf(old)), ...jwkKeys(jwksOf(old))] }))],
  ['an empty file', () => writeFileSync(jwksFile, '')],
  ['the file gone', () => unlinkSync(jwksFile)],
];
for (const [name, spoil] of badFiles) {
  test(`a bad file (${name}) keeps the old keys`, async () => {
    spoil();
    gw.reloadKeys();
    assert.equal(gw.keys.kids, ['old']);
    assert.is(await accepted(mintWithKey(old, { sub: 'a' })), true);
    assert.is(await accepted(mintWithKey(next, { sub: 'a' })), false);
  });
}

test('a set emptied while it is the only key keeps the old keys (every token would be refused); beside HS256 it loads', async () => {
  const only = join(dir, 'only.json');
  writeFileSync(only, jwksOf(old));
  const verifyOnly = await scope.gateway({ GATEHOUSE_AUTH_KEY: undefined, GATEHOUSE_JWKS_FILE: only });
  writeFileSync(only, '{"keys": []}');
  verifyOnly.reloadKeys();
  assert.equal(verifyOnly.keys.kids, ['old']);
  writeFileSync(jwksFile, '{"keys": []}');
  gw.reloadKeys();
  assert.equal(gw.keys.kids, [], 'the HS256 secret still verifies, so an empty set is a choice');
});

test('reloadKeys() without GATEHOUSE_JWKS_FILE does nothing', async () => {
  const plain = await scope.gateway();
  plain.reloadKeys();
  assert.equal(plain.keys.kids, []);
});

test.run();
