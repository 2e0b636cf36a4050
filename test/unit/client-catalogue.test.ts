import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as clientLibrary from '../../client';
import { CLOSE_ACTIONS, ERROR_CLASSES, PublishForbiddenError, RateLimitedError, closeAction, closeName, rebuildError, reconnectDelay } from '../../client';
import { AuthError, CLOSE_CODES, CloseCode, ERROR_CATALOGUE, ErrorName, GatehouseError } from '../../shared';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const errorsTable = /<!-- errors-table -->([\s\S]*?)<!-- \/errors-table -->/.exec(readme)![1];

test('the client maps every error name of the catalogue, and of the README table, to its shared class', () => {
  const readmeNames = [...errorsTable.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
  assert.equal(Object.keys(ERROR_CLASSES).sort(), ERROR_CATALOGUE.map((e) => e.name).sort());
  assert.equal(Object.keys(ERROR_CLASSES).sort(), [...readmeNames].sort());
  for (const [name, Class] of Object.entries(ERROR_CLASSES)) {
    const err = rebuildError({ name, message: `a ${name}` });
    assert.ok(err instanceof Class, name);
    assert.ok(err instanceof GatehouseError, name);
    assert.is(err.name, name);
    assert.is(err.message, `a ${name}`);
  }
});

test('the client library exports every error class by its name, so an app can use instanceof on any of them', () => {
  const exported = clientLibrary as unknown as Record<string, unknown>;
  for (const [name, Class] of Object.entries(ERROR_CLASSES)) assert.is(exported[name], Class, name);
});

test('a rebuilt error keeps the fields it carried, and authentication errors are AuthErrors', () => {
  const limited = rebuildError({ name: ErrorName.RateLimited, message: 'slow down', retryAfter: 3 });
  assert.ok(limited instanceof RateLimitedError);
  assert.is(limited.retryAfter, 3);
  assert.ok(rebuildError({ name: ErrorName.AuthTokenRevoked, message: 'x', isBadToken: true }) instanceof AuthError);
  assert.not.ok(rebuildError({ name: ErrorName.AuthTokenRevoked, message: 'x' }) instanceof PublishForbiddenError);
});

test('anything not in the catalogue keeps its own name and is no GatehouseError', () => {
  const timeout = rebuildError({ name: 'TimeoutError', message: 'no answer' });
  assert.is(timeout.name, 'TimeoutError');
  assert.not.ok(timeout instanceof GatehouseError);
  const plain = new Error('boom');
  assert.is(rebuildError(plain), plain);
  assert.is(rebuildError('text').message, 'text');
  // A wire name must not reach Object.prototype members.
  assert.not.ok(rebuildError({ name: 'constructor', message: 'x' }) instanceof GatehouseError);
});

test('every close code has a client action, by class: stop, re-authenticate or retry', () => {
  assert.equal(Object.keys(CLOSE_ACTIONS).map(Number).sort(), CLOSE_CODES.map((c) => c.code).sort());
  for (const c of CLOSE_CODES) {
    assert.is(closeName(c.code), c.name);
    // Final codes never come back with the same token; only the re-authenticate class fetches a new one.
    if (!c.reconnect) assert.ok(['stop', 'reauthenticate'].includes(closeAction(c.code)), c.name);
  }
  assert.is(closeAction(CloseCode.TokenRevoked), 'stop');
  assert.is(closeAction(CloseCode.DisconnectedByAdmin), 'stop');
  assert.is(closeAction(CloseCode.OriginNotAllowed), 'stop');
  assert.is(closeAction(CloseCode.SlowConsumer), 'stop');
  assert.is(closeAction(CloseCode.TokenExpired), 'reauthenticate');
  assert.is(closeAction(CloseCode.ShuttingDown), 'retry');
  assert.is(closeAction(1006), 'retry');
  assert.is(closeAction(1000), 'closed');
  assert.is(closeName(1006), 'ConnectionLost');
});

test('reconnect delays: the first 0.5-1 s (0.5-2 s after ShuttingDown), then half to all of a doubling ceiling up to 20 s', () => {
  assert.is(
    reconnectDelay(CloseCode.ShuttingDown, 0, () => 0),
    500,
  );
  assert.is(
    reconnectDelay(CloseCode.ShuttingDown, 0, () => 1),
    2000,
  );
  // A node that keeps shutting down gets no faster retries than a network failure.
  assert.is(
    reconnectDelay(CloseCode.ShuttingDown, 7, () => 0),
    10_000,
  );
  assert.is(
    reconnectDelay(1006, 0, () => 0),
    500,
  );
  assert.is(
    reconnectDelay(1006, 0, () => 1),
    1000,
  );
  assert.is(
    reconnectDelay(1006, 1, () => 0),
    1000,
  );
  assert.is(
    reconnectDelay(1006, 3, () => 0),
    4000,
  );
  assert.is(
    reconnectDelay(1006, 3, () => 1),
    8000,
  );
  assert.is(
    reconnectDelay(1006, 50, () => 0),
    10_000,
  );
  assert.is(
    reconnectDelay(1006, 50, () => 1),
    20_000,
  );
  for (let attempt = 0; attempt < 30; attempt++) {
    const ms = reconnectDelay(1006, attempt);
    assert.ok(ms >= 500 && ms <= 20_000);
  }
});

test('unknown close codes are taken by range: 4500-4999 stop, 4000-4499 and network failures retry', () => {
  assert.is(closeAction(4599), 'stop');
  assert.is(closeAction(4999), 'stop');
  assert.is(closeAction(4300), 'retry');
  assert.is(closeAction(4001), 'retry');
  assert.is(closeAction(1011), 'retry');
});

test.run();
