import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expiryWarningSeconds, MAX_EXPIRY_WARNING_SECONDS } from '../../shared';

test('the expiry warning is a quarter of the lifetime, at most 60 s', () => {
  assert.is(expiryWarningSeconds({ iat: 1000, exp: 1040 }), 10);
  assert.is(expiryWarningSeconds({ iat: 1000, exp: 1008 }), 2);
  assert.is(expiryWarningSeconds({ iat: 1000, exp: 1240 }), 60);
  assert.is(expiryWarningSeconds({ iat: 1000, exp: 1900 }), MAX_EXPIRY_WARNING_SECONDS);
  assert.is(expiryWarningSeconds({ iat: 1000, exp: 1000 }), 0);
});

test('a token without iat gets the longest warning, whenever it is asked', () => {
  assert.is(expiryWarningSeconds({ exp: 1900 }), 60);
  assert.is(expiryWarningSeconds({ exp: 1010 }), 60);
});

test.run();
