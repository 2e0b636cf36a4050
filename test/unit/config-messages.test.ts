import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../server/config';
import { formatBytes, formatDuration } from '../../server/config/units';
import { jwksOf, makeKeyPair } from '../helpers/gateway';
import { writeUsersFile } from '../helpers/login';

// Config errors tell the operator what to fix, in the operator's own terms.

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!!';
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-messages-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env });
  } catch (err) {
    assert.instance(err, ConfigError);
    return [...(err as ConfigError).problems];
  }
  assert.unreachable('the configuration was accepted');
  return [];
}

const one = (env: Record<string, string>, name: string) => {
  const found = problemsOf(env).filter((p) => p.startsWith(name));
  assert.is(found.length, 1, `one problem for ${name}: ${JSON.stringify(problemsOf(env))}`);
  return found[0];
};

test('durations and sizes are written in the unit the operator used, else the largest whole unit', () => {
  assert.is(formatDuration(300_000, '10m'), '5m');
  assert.is(formatDuration(300_000, '600s'), '300s');
  assert.is(formatDuration(300_000, '600'), '300');
  assert.is(formatDuration(300_000, '1h'), '5m', 'not a whole number of hours');
  assert.is(formatDuration(10, '1s'), '10ms');
  assert.is(formatBytes(64 * 1024 * 1024, '100MiB'), '64MiB');
  assert.is(formatBytes(10 * 1024, '1MiB'), '10KiB');
  assert.is(formatBytes(10 * 1024, '1kib'), '10kib');
  assert.is(formatBytes(1000, '1MiB'), '1000 bytes');
});

test('a limit is given in the unit the operator wrote', () => {
  assert.is(
    one({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_CLOCK_TOLERANCE: '10m' }, 'GATEHOUSE_CLOCK_TOLERANCE'),
    'GATEHOUSE_CLOCK_TOLERANCE: "10m" is out of range: at most 5m',
  );
  assert.is(
    one({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_CLOCK_TOLERANCE: '600' }, 'GATEHOUSE_CLOCK_TOLERANCE'),
    'GATEHOUSE_CLOCK_TOLERANCE: "600" is out of range: at most 300',
  );
  assert.is(
    one({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_MAX_PAYLOAD: '100MiB' }, 'GATEHOUSE_MAX_PAYLOAD'),
    'GATEHOUSE_MAX_PAYLOAD: "100MiB" is out of range: from 10KiB to 64MiB',
  );
  assert.is(
    one({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_MAX_PAYLOAD: 'lots' }, 'GATEHOUSE_MAX_PAYLOAD'),
    'GATEHOUSE_MAX_PAYLOAD: "lots" is not a size such as 65536, 64KiB or 1MiB (from 10KiB to 64MiB)',
  );
});

test('a cross-setting problem shows both values', () => {
  assert.is(
    one({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_TOKEN_TTL: '2d', GATEHOUSE_MAX_TOKEN_LIFETIME: '1d' }, 'GATEHOUSE_TOKEN_TTL'),
    'GATEHOUSE_TOKEN_TTL: 2d is longer than GATEHOUSE_MAX_TOKEN_LIFETIME (1d), so the gateway would refuse its own tokens',
  );
  assert.match(
    one({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_TOKEN_TTL: '5m' }, 'GATEHOUSE_TOKEN_TTL'),
    /^GATEHOUSE_TOKEN_TTL: 5m must be longer than GATEHOUSE_RENEW_INTERVAL \(5m\)/,
  );
  assert.match(
    one({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_MAX_BUFFERED: '32KiB' }, 'GATEHOUSE_MAX_BUFFERED'),
    /^GATEHOUSE_MAX_BUFFERED: 32KiB is less than GATEHOUSE_MAX_PAYLOAD \(64KiB\)/,
  );
});

test('a secret read from a _FILE variable names the file in a problem with its value', () => {
  const path = join(dir, 'short-key');
  writeFileSync(path, 'short\n');
  assert.match(one({ GATEHOUSE_AUTH_KEY_FILE: path }, 'GATEHOUSE_AUTH_KEY'), `GATEHOUSE_AUTH_KEY_FILE (${path}): is 5 bytes`);
  const admin = join(dir, 'short-admin');
  writeFileSync(admin, 'tiny');
  assert.match(one({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_ADMIN_KEY_FILE: admin }, 'GATEHOUSE_ADMIN_KEY'), `GATEHOUSE_ADMIN_KEY_FILE (${admin}): is 4 bytes`);
  assert.match(one({ GATEHOUSE_AUTH_KEY: 'short' }, 'GATEHOUSE_AUTH_KEY'), /^GATEHOUSE_AUTH_KEY: is 5 bytes/);
});

test('an unknown GATEHOUSE_ name suggests the setting it was probably meant to be', () => {
  const cases: [string, string][] = [
    ['GATEHOUSE_ADMIN_KYE', 'GATEHOUSE_ADMIN_KEY'],
    ['GATEHOUSE_REDIS', 'GATEHOUSE_REDIS_URL'],
    ['GATEHOUSE_PROT', 'GATEHOUSE_PORT'],
    ['GATEHOUSE_TOKEN_TTL_', 'GATEHOUSE_TOKEN_TTL'],
  ];
  for (const [typo, meant] of cases.filter(([t]) => t === t.toUpperCase())) {
    const found = problemsOf({ GATEHOUSE_AUTH_KEY: SECRET, [typo]: '1' }).find((p) => p.startsWith(typo));
    assert.is(found, `${typo}: unknown setting; did you mean ${meant}?`);
  }
  // Lower-case names are not ours to judge (the prefix is GATEHOUSE_).
  assert.ok(loadConfig({ env: { GATEHOUSE_AUTH_KEY: SECRET, gatehouse_port: '1' } }));
  assert.is(
    problemsOf({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_SOMETHING_ELSE_ENTIRELY: '1' }).find((p) => p.startsWith('GATEHOUSE_SOMETHING')),
    "GATEHOUSE_SOMETHING_ELSE_ENTIRELY: unknown setting; check the spelling against the README's table",
  );
});

test('the host error says that localhost is allowed', () => {
  assert.is(
    one({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_HOST: 'gateway.internal' }, 'GATEHOUSE_HOST'),
    'GATEHOUSE_HOST: "gateway.internal" is neither an IP address (e.g. 0.0.0.0, 127.0.0.1, ::) nor localhost',
  );
  assert.is(loadConfig({ env: { GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_HOST: 'localhost' } }).host, 'localhost');
});

test('login with no key to sign its tokens refuses to start, naming the variables', async () => {
  const jwks = join(dir, 'verify-only.json');
  writeFileSync(jwks, jwksOf(makeKeyPair('ES256', 'k1')));
  const users = await writeUsersFile([{ username: 'a', password: 'pw', sub: 'a' }], join(dir, 'users.json'));
  assert.is(
    one({ GATEHOUSE_JWKS_FILE: jwks, GATEHOUSE_USERS_FILE: users }, 'GATEHOUSE_USERS_FILE'),
    'GATEHOUSE_USERS_FILE: login needs a key to sign the tokens it issues: set GATEHOUSE_SIGNING_KEY_FILE (a PEM private key; its public half is accepted with the JWK Set) or GATEHOUSE_AUTH_KEY (HS256)',
  );
  assert.match(one({ GATEHOUSE_JWKS_FILE: jwks, GATEHOUSE_LOGIN_URL: 'http://127.0.0.1:9/login' }, 'GATEHOUSE_LOGIN_URL'), 'login needs a key');
  // Any key that signs will do; development mode signs with its ephemeral key.
  assert.ok(loadConfig({ env: { GATEHOUSE_JWKS_FILE: jwks, GATEHOUSE_USERS_FILE: users, GATEHOUSE_AUTH_KEY: SECRET } }).usersFile);
  assert.ok(loadConfig({ env: { GATEHOUSE_USERS_FILE: users } }).devMode);
});

test('a JWK Set with no keys as the only key source refuses to start', () => {
  const empty = join(dir, 'empty.json');
  writeFileSync(empty, '{"keys": []}');
  assert.match(one({ GATEHOUSE_JWKS_FILE: empty }, 'GATEHOUSE_JWKS_FILE'), `GATEHOUSE_JWKS_FILE: ${empty} holds no keys and is the only key configured`);
  // Beside another key it is merely empty (a rotation in progress, say).
  assert.equal(loadConfig({ env: { GATEHOUSE_JWKS_FILE: empty, GATEHOUSE_AUTH_KEY: SECRET } }).jwks, []);
});

test('users-file mistakes read as sentences that say what to do', async () => {
  const path = join(dir, 'mistakes.json');
  writeFileSync(
    path,
    JSON.stringify([
      { username: 'alice', password: 'correct horse', sub: 'user-1' },
      {
        username: 'bob',
        passwordHash: '$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        sub: 'b',
        channels: ['chat:*', 5, 'user:{user}'],
      },
      {
        username: 'carol',
        passwordHash: '$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        sub: 'c',
        channels: { news: ['read'] },
      },
    ]),
  );
  const problem = one({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_USERS_FILE: path }, 'GATEHOUSE_USERS_FILE');
  assert.match(
    problem,
    'entry 0 ("alice") has a "password" field, but the users file holds password hashes only: replace it with a "passwordHash" made by `printf \'%s\\n\' \'the password\' | npx gatehouse hash-password`',
  );
  assert.match(problem, 'entry 1 ("bob") has a channel grant channels[1] that grants nothing: a pattern must be a string');
  assert.match(problem, 'entry 1 ("bob") has a channel grant channels[2] that grants nothing: unknown placeholder {user} (only {sub} is substituted)');
  assert.match(
    problem,
    'entry 2 ("carol") has a channel grant channels["news"] that grants nothing: "read" is not a capability (use "subscribe", "publish" or "presence")',
  );
  assert.not.match(problem, 'correct horse');
});

test.run();
