import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configProblems, testConfig } from '../helpers/gateway';

// GATEHOUSE_ADMIN_KEYS and GATEHOUSE_METRICS_KEY are checked at start: each problem names the entry, never the key.

const FULL = 'the-full-admin-key-0123456789';
const A = 'publish-key-aaaaaaaaaaaaaaaa';
const B = 'revoke-key-bbbbbbbbbbbbbbbbbb';
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-admin-keys-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('entries are scope,scope:KEY separated by white space; each key gets exactly its scopes', () => {
  const config = testConfig({ GATEHOUSE_ADMIN_KEYS: `publish:${A}\n  read,revoke,disconnect:${B}:with:colons` });
  assert.equal(
    config.adminKeys.map(({ key, scopes }) => [key.toString(), [...scopes].sort()]),
    [
      [A, ['publish']],
      [`${B}:with:colons`, ['disconnect', 'read', 'revoke']],
    ],
  );
  assert.equal(testConfig({}).adminKeys, []);
});

test('GATEHOUSE_ADMIN_KEYS_FILE holds one entry a line', () => {
  const file = join(dir, 'keys');
  writeFileSync(file, `publish:${A}\ngrants,read:${B}\n`);
  assert.is(testConfig({ GATEHOUSE_ADMIN_KEYS_FILE: file }).adminKeys.length, 2);
});

const bad: [string, Record<string, string>, RegExp][] = [
  [
    'an unknown scope',
    { GATEHOUSE_ADMIN_KEYS: `publish,nuke:${A}` },
    /^GATEHOUSE_ADMIN_KEYS: entry 1 names unknown scope "nuke"; scopes are publish, revoke, disconnect, grants, read$/,
  ],
  ['a short key', { GATEHOUSE_ADMIN_KEYS: `publish:${A} read:short` }, /^GATEHOUSE_ADMIN_KEYS: entry 2's key is 5 bytes; use at least 16/],
  [
    'an entry written key first',
    { GATEHOUSE_ADMIN_KEYS: `${A}:publish-and-more-bytes` },
    /^GATEHOUSE_ADMIN_KEYS: entry 1 names an unknown scope \(not shown: it may be a key written before its scopes\)/,
  ],
  ['no scopes', { GATEHOUSE_ADMIN_KEYS: A }, /^GATEHOUSE_ADMIN_KEYS: entry 1 has no scopes: write scope,scope:KEY/],
  ['an empty scope list', { GATEHOUSE_ADMIN_KEYS: `:${A}` }, /^GATEHOUSE_ADMIN_KEYS: entry 1 names unknown scope ""/],
  ['one key twice', { GATEHOUSE_ADMIN_KEYS: `publish:${A} read:${A}` }, /^GATEHOUSE_ADMIN_KEYS: entry 2 repeats the key of entry 1/],
  ['GATEHOUSE_ADMIN_KEY again', { GATEHOUSE_ADMIN_KEY: FULL, GATEHOUSE_ADMIN_KEYS: `publish:${FULL}` }, /^GATEHOUSE_ADMIN_KEYS: repeats GATEHOUSE_ADMIN_KEY/],
  ['a short metrics key', { GATEHOUSE_METRICS_KEY: 'short' }, /^GATEHOUSE_METRICS_KEY: is 5 bytes; use at least 16/],
  ['a metrics key that is an admin key', { GATEHOUSE_ADMIN_KEYS: `publish:${A}`, GATEHOUSE_METRICS_KEY: A }, /^GATEHOUSE_METRICS_KEY: is also an admin key/],
];
for (const [name, env, expected] of bad) {
  test(`refused at start: ${name}, and the key is not echoed`, () => {
    const problems = configProblems(env);
    assert.is(problems.length, 1, JSON.stringify(problems));
    assert.match(problems[0], expected);
    for (const key of [A, FULL, 'short']) assert.not.ok(problems[0].includes(key), 'a key was echoed');
  });
}

test('several problems are listed at once', () => {
  const problems = configProblems({ GATEHOUSE_ADMIN_KEYS: `nuke:${A} read:short` });
  assert.is(problems.length, 2);
});

test.run();
