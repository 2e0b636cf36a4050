import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_WARNING_MS, planNext, sessionEnd, type RenewalPolicy } from '../../server/renewal/renewal-plan';
import type { GatehouseClaims } from '../../shared';

const now = 1_800_000_000_000;
const nowSec = now / 1000;
const policy: RenewalPolicy = { renewIntervalMs: 300_000, tokenTtlMs: 900_000, sessionMaxAgeMs: 86_400_000, canSign: true };
const claims = (c: Partial<GatehouseClaims>): GatehouseClaims => ({ sub: 'u', exp: nowSec + 900, iat: nowSec, ...c });

test('renews within the interval, spread by jitter', () => {
  const early = planNext(claims({}), policy, now, 0);
  const late = planNext(claims({}), policy, now, 0.999);
  assert.is(early.kind, 'renew');
  assert.ok(early.at >= now + 240_000 && late.at <= now + 300_000);
  assert.ok(late.at > early.at);
});

test('renews before exp when the token is shorter than the interval', () => {
  const step = planNext(claims({ exp: nowSec + 60 }), policy, now, 0.5);
  assert.is(step.kind, 'renew');
  assert.ok(step.at < now + 60_000 && step.at >= now);
});

test('renews at once a token about to expire', () => {
  const step = planNext(claims({ exp: nowSec + 1 }), policy, now, 0.5);
  assert.is(step.kind, 'renew');
  assert.ok(step.at <= now + 1000);
});

test('no renewal without a key, or with renewal off: warn a quarter of the lifetime before exp, at most 60 s', () => {
  for (const p of [
    { ...policy, canSign: false },
    { ...policy, renewIntervalMs: 0 },
  ]) {
    const short = planNext(claims({ iat: nowSec, exp: nowSec + 40 }), p, now, 0);
    assert.equal(short, { kind: 'warn', at: now + 30_000 });
    const long = planNext(claims({}), p, now, 0);
    assert.equal(long, { kind: 'warn', at: now + 900_000 - MAX_WARNING_MS });
  }
});

test('past the warning point: expire on time', () => {
  const step = planNext(claims({ iat: nowSec - 100, exp: nowSec + 2 }), { ...policy, renewIntervalMs: 0 }, now, 0);
  assert.equal(step, { kind: 'expire', at: (nowSec + 2) * 1000 + 1 });
});

test('the session maximum age stops renewal', () => {
  const started = nowSec - 86_400 + 30; // 30 s of session left
  const c = claims({ auth_time: started, iat: nowSec - 10, exp: nowSec + 60 });
  assert.is(sessionEnd(c, policy, now), now + 30_000);
  assert.is(planNext(c, policy, now, 0).kind, 'warn');
  const fresh = claims({ auth_time: nowSec - 100 });
  assert.is(planNext(fresh, policy, now, 0).kind, 'renew');
});

test.run();
