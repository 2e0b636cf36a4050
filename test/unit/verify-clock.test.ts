import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { KeyRing } from '../../server/auth/keyring';
import { verifyToken, type VerifyPolicy } from '../../server/auth/verify';
import { AuthError, ErrorName } from '../../shared';
import { inspect } from 'node:util';

const SECRET = 'unit-secret-unit-secret-unit-secret-0123';
const keys = new KeyRing({ secret: Buffer.from(SECRET) });
/** A frozen "now": 2023-11-14T22:13:20Z, in whole seconds and in milliseconds. */
const NOW = 1_700_000_000;
const NOW_MS = NOW * 1000;
const TOLERANCE = 5;
const policy: VerifyPolicy = { clockToleranceMs: TOLERANCE * 1000, maxTokenLifetimeMs: 3600_000 };

/**
 * Signs claims exactly as given (HS256), whatever their types: jsonwebtoken's sign would add or drop iat and refuse
 * claims of the wrong type, which these tests need.
 */
function sign(claims: Record<string, unknown>): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

function outcome(token: string, nowMs = NOW_MS, p: VerifyPolicy = policy): string {
  try {
    verifyToken(token, keys, p, nowMs);
    return 'ok';
  } catch (err) {
    assert.instance(err, AuthError);
    return (err as AuthError).name;
  }
}

const base = { sub: 'u1', iat: NOW - 10, exp: NOW + 60 };

test('a valid token returns its claims, other claims untouched', () => {
  const claims = verifyToken(sign({ ...base, channels: ['a:*'], role: 'admin', n: 3 }), keys, policy, NOW_MS);
  assert.equal(claims, { ...base, channels: ['a:*'], role: 'admin', n: 3 });
});

test('nbf within the tolerance is accepted', () => {
  assert.is(outcome(sign({ ...base, nbf: NOW + TOLERANCE })), 'ok');
  assert.is(outcome(sign({ ...base, nbf: NOW + 1 })), 'ok');
  assert.is(outcome(sign({ ...base, nbf: NOW - 100 })), 'ok');
});

test("nbf beyond the tolerance is AuthTokenNotBeforeError, which keeps the client's token", () => {
  assert.is(outcome(sign({ ...base, nbf: NOW + TOLERANCE + 1 })), ErrorName.AuthTokenNotBefore);
  try {
    verifyToken(sign({ ...base, nbf: NOW + 30 }), keys, policy, NOW_MS);
    assert.unreachable();
  } catch (err) {
    assert.is((err as AuthError).isBadToken, false);
    assert.is((err as { date?: number }).date, (NOW + 30) * 1000);
  }
});

test('nbf becomes valid as the clock moves', () => {
  const token = sign({ ...base, nbf: NOW + 20 });
  assert.is(outcome(token, NOW_MS), ErrorName.AuthTokenNotBefore);
  assert.is(outcome(token, NOW_MS + 15_000), 'ok');
});

test('iat within the tolerance is accepted; beyond it the token is invalid', () => {
  assert.is(outcome(sign({ ...base, iat: NOW + TOLERANCE })), 'ok');
  assert.is(outcome(sign({ ...base, iat: NOW + TOLERANCE + 1 })), ErrorName.AuthTokenInvalid);
});

test('with no tolerance, nbf and iat one second ahead are refused', () => {
  const strict = { ...policy, clockToleranceMs: 0 };
  assert.is(outcome(sign({ ...base, nbf: NOW }), NOW_MS, strict), 'ok');
  assert.is(outcome(sign({ ...base, nbf: NOW + 1 }), NOW_MS, strict), ErrorName.AuthTokenNotBefore);
  assert.is(outcome(sign({ ...base, iat: NOW }), NOW_MS, strict), 'ok');
  assert.is(outcome(sign({ ...base, iat: NOW + 1 }), NOW_MS, strict), ErrorName.AuthTokenInvalid);
});

test('exp is strict: valid up to the millisecond before, expired at exp, no tolerance', () => {
  const token = sign({ ...base, exp: NOW + 60 });
  assert.is(outcome(token, (NOW + 60) * 1000 - 1), 'ok');
  assert.is(outcome(token, (NOW + 60) * 1000), ErrorName.AuthTokenExpired);
  assert.is(outcome(token, (NOW + 61) * 1000), ErrorName.AuthTokenExpired);
  assert.is(outcome(sign({ ...base, exp: NOW - 1 })), ErrorName.AuthTokenExpired, 'the 5 s tolerance does not apply to exp');
});

test('an expired token is a bad token and carries its expiry', () => {
  try {
    verifyToken(sign({ ...base, exp: NOW - 1 }), keys, policy, NOW_MS);
    assert.unreachable();
  } catch (err) {
    assert.is((err as AuthError).name, ErrorName.AuthTokenExpired);
    assert.is((err as AuthError).isBadToken, true);
    assert.is((err as { expiry?: number }).expiry, (NOW - 1) * 1000);
  }
});

test('the lifetime cap: exp − iat equal to the cap is accepted, one second more is refused', () => {
  assert.is(outcome(sign({ sub: 'u1', iat: NOW, exp: NOW + 3600 })), 'ok');
  assert.is(outcome(sign({ sub: 'u1', iat: NOW, exp: NOW + 3601 })), ErrorName.AuthTokenInvalid);
});

test('without iat the lifetime is counted from now', () => {
  assert.is(outcome(sign({ sub: 'u1', exp: NOW + 3600 })), 'ok');
  assert.is(outcome(sign({ sub: 'u1', exp: NOW + 3601 })), ErrorName.AuthTokenInvalid);
  assert.is(outcome(sign({ sub: 'u1', exp: NOW + 3601 }), NOW_MS + 2000), 'ok');
});

test('claims of the wrong type are invalid', () => {
  assert.is(outcome(sign({ ...base, exp: String(NOW + 60) })), ErrorName.AuthTokenInvalid);
  assert.is(outcome(sign({ ...base, nbf: 'soon' })), ErrorName.AuthTokenInvalid);
  assert.is(outcome(sign({ ...base, iat: 'then' })), ErrorName.AuthTokenInvalid);
  assert.is(outcome(sign({ ...base, sub: ['u1'] })), ErrorName.AuthTokenInvalid);
  assert.is(outcome(sign({ ...base, sub: 'x'.repeat(128) })), 'ok');
  assert.is(outcome(sign({ ...base, sub: 'x'.repeat(129) })), ErrorName.AuthTokenInvalid);
});

test('issuer and audience when configured', () => {
  const p = { ...policy, issuer: 'https://auth.test', audience: ['a', 'b'] };
  assert.is(outcome(sign({ ...base, iss: 'https://auth.test', aud: 'b' }), NOW_MS, p), 'ok');
  assert.is(outcome(sign({ ...base, iss: 'https://auth.test', aud: ['x', 'a'] }), NOW_MS, p), 'ok');
  assert.is(outcome(sign({ ...base, iss: 'https://auth.test', aud: 'c' }), NOW_MS, p), ErrorName.AuthTokenInvalid);
  assert.is(outcome(sign({ ...base, aud: 'a' }), NOW_MS, p), ErrorName.AuthTokenInvalid);
});

test('inputs that are not tokens are invalid before any parsing', () => {
  for (const input of [undefined, null, 42, {}, '', 'x'.repeat(9000), 'a.b', '....']) {
    try {
      verifyToken(input, keys, policy, NOW_MS);
      assert.unreachable();
    } catch (err) {
      assert.is((err as Error).name, ErrorName.AuthTokenInvalid, inspect(input));
    }
  }
});

test('malformed tokens: headers that are not JSON objects, payloads that are not claims, missing segments', () => {
  const enc = (text: string) => Buffer.from(text).toString('base64url');
  const signed = (header: string, payload: string) => {
    const input = `${enc(header)}.${enc(payload)}`;
    return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
  };
  const claims = JSON.stringify(base);
  for (const token of [
    signed('[1]', claims),
    signed('5', claims),
    signed('null', claims),
    signed('{"alg":"HS256"', claims),
    signed('{"alg":"HS256"}', '"a string"'),
    signed('{"alg":"HS256"}', 'null'),
    signed('{"alg":"HS256"}', '[1,2]'),
    `${enc('{"alg":"HS256"}')}.${enc(claims)}`,
    enc('{"alg":"HS256"}'),
    `.${enc(claims)}.x`,
    '...',
  ]) {
    assert.is(outcome(token), ErrorName.AuthTokenInvalid, token.slice(0, 60));
  }
  assert.is(outcome(signed('{"alg":"HS256","kid":7}', claims)), ErrorName.AuthTokenInvalid, 'a kid that is not a string');
});

test('a "__proto__" claim is dropped: the claims keep Object.prototype and gain nothing from it', () => {
  const token = sign(
    JSON.parse(`{"sub":"u1","iat":${NOW - 10},"exp":${NOW + 60},"role":"user","__proto__":{"channels":["*"],"role":"admin"}}`) as Record<string, unknown>,
  );
  const claims = verifyToken(token, keys, policy, NOW_MS);
  assert.equal(Object.keys(claims), ['sub', 'iat', 'exp', 'role']);
  assert.is(Object.getPrototypeOf(claims), Object.prototype);
  assert.is(claims.channels, undefined);
  assert.is(claims.role, 'user');
});

test.run();
