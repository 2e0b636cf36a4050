import { test } from 'uvu';
import * as assert from 'uvu/assert';
import jwt from 'jsonwebtoken';
import { GatehouseAuthEngine } from '../../server/auth/auth-engine';
import { KeyRing } from '../../server/auth/keyring';
import { stampClaims } from '../../server/auth/sign';
import { verifyToken } from '../../server/auth/verify';
import { makeKeyPair } from '../helpers/gateway';

const SECRET = Buffer.from('unit-secret-unit-secret-unit-secret-0123');
const NOW = 1_700_000_000;
const NOW_MS = NOW * 1000 + 789; // a clock in the middle of a second
const clock = { now: () => NOW_MS };
const policy = { tokenTtlMs: 15 * 60_000, clockToleranceMs: 5000, maxTokenLifetimeMs: 24 * 3600_000 };
const ID = /^[A-Za-z0-9_-]{22}$/; // 128 bits, base64url

test('stampClaims: iat is now, exp is now + TTL, jti and sid are fresh random ids', () => {
  const c = stampClaims({ sub: 'u1' }, policy, NOW_MS);
  assert.is(c.iat, NOW);
  assert.is(c.exp, NOW + 900);
  assert.match(c.jti!, ID);
  assert.match(c.sid!, ID);
  assert.is.not(c.jti, c.sid);
  assert.is(c.iss, undefined);
  assert.is(c.aud, undefined);
});

test('stampClaims: jti differs every time, sid too when none is given', () => {
  const jtis = new Set<string>();
  const sids = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const c = stampClaims({ sub: 'u1' }, policy, NOW_MS);
    jtis.add(c.jti!);
    sids.add(c.sid!);
  }
  assert.is(jtis.size, 50);
  assert.is(sids.size, 50);
});

test('stampClaims: a given sid is kept (the session outlives its tokens), an empty or non-string one replaced', () => {
  assert.is(stampClaims({ sub: 'u1', sid: 'session-1' }, policy, NOW_MS).sid, 'session-1');
  assert.match(stampClaims({ sub: 'u1', sid: '' }, policy, NOW_MS).sid!, ID);
  assert.match(stampClaims({ sub: 'u1', sid: 7 }, policy, NOW_MS).sid!, ID);
});

test("stampClaims: the caller's iat, exp, nbf, jti and iss are dropped; other claims kept; input untouched", () => {
  const input = { sub: 'u1', iat: 1, exp: 2, nbf: 3, jti: 'mine', iss: 'me', channels: ['a'], role: 'admin' };
  const snapshot = structuredClone(input);
  const c = stampClaims(input, { ...policy, issuer: 'https://gw', audience: ['app'] }, NOW_MS);
  assert.is(c.iat, NOW);
  assert.is(c.exp, NOW + 900);
  assert.is(c.nbf, undefined);
  assert.is.not(c.jti, 'mine');
  assert.is(c.iss, 'https://gw');
  assert.is(c.aud, 'app');
  assert.equal(c.channels, ['a']);
  assert.is(c.role, 'admin');
  assert.equal(input, snapshot);
});

test('stampClaims: several audiences are written as an array', () => {
  assert.equal(stampClaims({ sub: 'u1' }, { ...policy, audience: ['a', 'b'] }, NOW_MS).aud, ['a', 'b']);
});

test("stampClaims: a caller's aud (a renewal's original) is narrowed to the configured audiences, never widened", () => {
  const audience = ['chat-gateway', 'billing-api'];
  assert.is(stampClaims({ sub: 'u1', aud: 'chat-gateway' }, { ...policy, audience }, NOW_MS).aud, 'chat-gateway');
  assert.equal(stampClaims({ sub: 'u1', aud: ['billing-api', 'other', 'chat-gateway'] }, { ...policy, audience }, NOW_MS).aud, ['chat-gateway', 'billing-api']);
  assert.is(stampClaims({ sub: 'u1', aud: ['other', 'billing-api'] }, { ...policy, audience }, NOW_MS).aud, 'billing-api');
  assert.throws(
    () => stampClaims({ sub: 'u1', aud: 'other' }, { ...policy, audience }, NOW_MS),
    (e: Error) => e.name === 'UnsignableClaimsError',
  );
  // Without configured audiences, the caller's is kept as it is.
  assert.is(stampClaims({ sub: 'u1', aud: 'mine' }, policy, NOW_MS).aud, 'mine');
});

test('engine.signToken: a shorter expiresIn (renewal near the session end) shortens the token', async () => {
  const engine = new GatehouseAuthEngine(new KeyRing({ secret: SECRET }), policy, clock);
  const payload: Record<string, unknown> = { sub: 'u1' };
  await engine.signToken(payload, 'ignored-key', { expiresIn: 99 });
  assert.is(payload.exp, NOW + 99);
});

test('engine.signToken writes the stamped claims onto the payload (mutatePayload) and signs HS256 without kid', async () => {
  const keys = new KeyRing({ secret: SECRET });
  const engine = new GatehouseAuthEngine(keys, { ...policy, issuer: 'https://gw' }, clock);
  const payload: Record<string, unknown> = { sub: 'u1', exp: 5, room: 'r1' };
  // The key and algorithm SocketCluster passes are ignored, and so is its default expiresIn (authDefaultExpiry, 1 day).
  const token = await engine.signToken(payload, 'ignored-key', { algorithm: 'HS512', expiresIn: 86400 });
  assert.is(payload.iat, NOW);
  assert.is(payload.exp, NOW + 900);
  assert.match(payload.jti as string, ID);
  assert.match(payload.sid as string, ID);
  assert.is(payload.iss, 'https://gw');
  assert.is(payload.room, 'r1');
  const decoded = jwt.decode(token, { complete: true })!;
  assert.equal(decoded.header, { alg: 'HS256', typ: 'JWT' });
  assert.equal(decoded.payload, payload);
  assert.equal(verifyToken(token, keys, { ...policy, issuer: 'https://gw' }, NOW_MS), payload);
});

test('engine.signToken with a signing key: its algorithm and kid, and the ring verifies it', async () => {
  const pair = makeKeyPair('ES256', 'gw-1');
  const keys = new KeyRing({ secret: SECRET, signingKey: { kid: 'gw-1', alg: 'ES256', privateKey: pair.privateKey, publicKey: pair.publicKey } });
  assert.ok(keys.kids.includes('gw-1'), 'the public half of the signing key is a verification key');
  const engine = new GatehouseAuthEngine(keys, policy, clock);
  const payload: Record<string, unknown> = { sub: 'u2' };
  const token = await engine.signToken(payload, null, {});
  const header = jwt.decode(token, { complete: true })!.header;
  assert.is(header.alg, 'ES256');
  assert.is(header.kid, 'gw-1');
  assert.is(verifyToken(token, keys, policy, NOW_MS).sub, 'u2');
  // And the engine's own verify accepts it (at its frozen clock).
  assert.is((await engine.verifyToken(token, null, {})).jti, payload.jti);
});

test('engine.issue signs outside any socket and returns the claims', () => {
  const engine = new GatehouseAuthEngine(new KeyRing({ secret: SECRET }), policy, clock);
  const { token, claims } = engine.issue({ sub: 'u3', sid: 's3' });
  assert.is(claims.sid, 's3');
  assert.equal(jwt.decode(token), claims);
});

test('an engine with no key refuses to sign', async () => {
  const engine = new GatehouseAuthEngine(new KeyRing({}), policy, clock);
  try {
    await engine.signToken({ sub: 'u' }, null, {});
    assert.unreachable();
  } catch (err) {
    assert.is((err as Error).name, 'AuthTokenInvalidError');
  }
});

test.run();
