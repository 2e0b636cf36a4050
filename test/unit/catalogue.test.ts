import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AuthTokenExpiredError,
  AuthTokenInvalidError,
  AuthTokenNotBeforeError,
  AuthTokenRevokedError,
  AuthUnavailableError,
  CLOSE_CODES,
  CloseCode,
  ERROR_CATALOGUE,
  ErrorName,
  closeAction,
  keepsToken,
  removesToken,
} from '../../shared';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

function tableRows(marker: string): string[][] {
  const m = new RegExp(`<!-- ${marker} -->([\\s\\S]*?)<!-- /${marker} -->`).exec(readme);
  assert.ok(m, `README has the ${marker} markers`);
  return m[1]
    .trim()
    .split('\n')
    .slice(2)
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim().replace(/`/g, '')),
    );
}

test('every error name is in the catalogue, once', () => {
  const names = ERROR_CATALOGUE.map((e) => e.name);
  assert.equal([...names].sort(), Object.values(ErrorName).sort());
});

/**
 * Error names the server keeps to itself: each is caught and answered as a catalogue error (BadRequestError,
 * AuthUnavailableError, AdminUnavailableError, InternalError) or stops start-up, before a client could see it.
 */
const SERVER_ONLY = [
  'BodyError',
  'ConfigError',
  'PublishPayloadError',
  'RevocationTargetError',
  'StartError',
  'StoreUnavailableError',
  'UnsignableClaimsError',
  'UsageError',
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

test('every error name the server writes is in the catalogue, unless the server keeps it to itself', () => {
  const written = new Set<string>();
  for (const file of sourceFiles(join(__dirname, '..', '..', 'server'))) {
    // `name: 'XError'` in an answer's body, `err.name = 'XError'` and `readonly name = 'XError'` on a class.
    for (const m of readFileSync(file, 'utf8').matchAll(/\bname(?::| =) '(\w+Error)'/g)) written.add(m[1]);
  }
  for (const name of ['TransmitDroppedError', 'InternalError', 'NotFoundError']) assert.ok(written.has(name), `the scan finds ${name}`);
  const catalogued = new Set<string>(ERROR_CATALOGUE.map((e) => e.name));
  const missing = [...written].filter((name) => !catalogued.has(name) && !SERVER_ONLY.includes(name));
  assert.equal(missing, [], `not in the catalogue: ${missing.join(', ')}`);
});

test('the README error table matches the catalogue', () => {
  const rows = tableRows('errors-table');
  assert.equal(
    rows.map((r) => r[0]),
    ERROR_CATALOGUE.map((e) => e.name),
  );
  for (const [i, e] of ERROR_CATALOGUE.entries()) {
    assert.is(rows[i][1], e.meaning.replace(/`/g, ''));
    assert.is(rows[i][2], e.removesToken === undefined ? '' : e.removesToken ? 'removed' : 'kept');
  }
});

test('an authentication error removes the token exactly when its catalogue row says so', () => {
  const refusals = [
    new AuthTokenExpiredError('x'),
    new AuthTokenNotBeforeError('x'),
    new AuthTokenInvalidError('x'),
    new AuthTokenRevokedError(),
    new AuthUnavailableError(),
  ];
  assert.equal(
    refusals.map((e) => e.name).sort(),
    ERROR_CATALOGUE.filter((e) => e.removesToken !== undefined)
      .map((e) => e.name)
      .sort(),
  );
  for (const err of refusals) assert.is(err.isBadToken, ERROR_CATALOGUE.find((e) => e.name === err.name)!.removesToken, err.name);
  for (const e of ERROR_CATALOGUE) {
    assert.is(removesToken(e.name), e.removesToken === true, e.name);
    assert.is(keepsToken(e.name), e.removesToken === false, e.name);
  }
  for (const name of ['TimeoutError', undefined, 'constructor']) assert.ok(!removesToken(name) && !keepsToken(name), String(name));
});

test('the README close-code table matches the shared table', () => {
  const rows = tableRows('close-codes-table');
  assert.equal(
    rows.map((r) => Number(r[0])),
    CLOSE_CODES.map((c) => c.code),
  );
  for (const [i, c] of CLOSE_CODES.entries()) {
    assert.is(rows[i][1], c.name);
    assert.is(rows[i][3], c.reconnect ? 'yes' : 'no');
  }
});

test('close codes sit in their ranges, clear of SocketCluster 4000-4009', () => {
  for (const c of CLOSE_CODES) {
    assert.ok(c.code >= 4100 && c.code <= 4999, `${c.name}`);
    assert.is(c.reconnect, c.code < 4500, `${c.name} range`);
    assert.is(closeAction(c.code) === 'retry', c.reconnect);
  }
  assert.equal(new Set(Object.values(CloseCode)).size, CLOSE_CODES.length);
});

test('a close code not in the table is taken by its range: 4500-4999 stop, anything else but 1000 retries', () => {
  assert.not.ok(CLOSE_CODES.some((c) => c.code === 4567 || c.code === 4234));
  assert.is(closeAction(4567), 'stop');
  assert.is(closeAction(4999), 'stop');
  assert.is(closeAction(4234), 'retry');
  assert.is(closeAction(4000), 'retry');
  assert.is(closeAction(3000), 'retry');
  assert.is(closeAction(1006), 'retry');
  assert.is(closeAction(1000), 'closed');
  assert.is(closeAction(5000), 'retry');
});

test.run();
