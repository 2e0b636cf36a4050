import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { handshakeOutcome } from '../../server/observability/connection-metrics';
import { ErrorName } from '../../shared';

test('handshake outcomes: authenticated, anonymous, and the auth error names Gatehouse and SocketCluster give', () => {
  assert.is(handshakeOutcome(true, undefined), 'authenticated');
  assert.is(handshakeOutcome(false, undefined), 'anonymous');
  for (const name of [
    ErrorName.AuthTokenExpired,
    ErrorName.AuthTokenNotBefore,
    ErrorName.AuthTokenInvalid,
    ErrorName.AuthTokenRevoked,
    ErrorName.AuthUnavailable,
    'AuthTokenError',
  ]) {
    assert.is(handshakeOutcome(false, { name }), name);
  }
});

test('any other error name is labelled "other": a label never carries a name from elsewhere', () => {
  for (const name of ['LoginError', 'x'.repeat(10_000), `Evil${Math.random()}`, '', undefined, 42, { toString: () => 'AuthTokenError' }]) {
    assert.is(handshakeOutcome(false, { name }), 'other', String(name).slice(0, 40));
  }
});

test.run();
