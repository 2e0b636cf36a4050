import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthTokenRevokedError, AuthUnavailableError, BadRequestError, type GatehouseClaims } from '../../shared';
import { createLogger } from '../../server/log';
import { parseLogoutRequest } from '../../server/revocation/logout';
import { revocationAdmission } from '../../server/revocation/admission';
import { MAX_REMEMBERED, RevocationEnforcer } from '../../server/revocation/enforcer';
import { MemoryRevocationStore } from '../../server/revocation/memory-store';
import { entryDeadline, StoreUnavailableError, type RevocationStore } from '../../server/revocation/store';

const policy = { maxTokenLifetimeMs: 3_600_000, clockToleranceMs: 5000 };
const at = 1_900_000_000_000;

test('entry deadlines: a jti lives until its exp (plus tolerance), everything else as long as any token can', () => {
  const exp = at / 1000 + 600;
  const longest = at + 3_600_000 + 3 * 5000; // lifetime cap, iat ahead by the tolerance, user revocations' margin, lagging verifiers
  assert.is(entryDeadline({ kind: 'jti', id: 'j' }, { exp }, at, policy), exp * 1000 + 5000);
  assert.is(entryDeadline({ kind: 'jti', id: 'j' }, {}, at, policy), longest);
  assert.is(entryDeadline({ kind: 'jti', id: 'j' }, { exp: at / 1000 - 60 }, at, policy), at + 1, 'an expired token: gone at once');
  assert.is(entryDeadline({ kind: 'sid', id: 's' }, { exp }, at, policy), longest, 'renewed tokens of the session may outlive this exp');
  assert.is(entryDeadline({ kind: 'sub', id: 'u' }, {}, at, policy), longest);
  const farExp = at / 1000 + 7200; // a token without iat may carry a later exp
  assert.is(entryDeadline({ kind: 'sid', id: 's' }, { exp: farExp }, at, policy), farExp * 1000 + 5000);
});

test('entry deadlines: a session the gateway opened (sxp) lives only as long as its first token and the renewals of the TTL', () => {
  const ttl = { ...policy, tokenTtlMs: 900_000 };
  const exp = at / 1000 + 600;
  // Its first token expired already: the renewals bound it, signed up to now by a clock a tolerance ahead, plus a second.
  assert.is(entryDeadline({ kind: 'sid', id: 's' }, { exp, sessionExp: at / 1000 - 100 }, at, ttl), at + 1000 + 900_000 + 2 * 5000);
  // A first token that lives longer than any renewal: until it expires, for a node whose clock lags.
  const firstExp = at / 1000 + 3000;
  assert.is(entryDeadline({ kind: 'sid', id: 's' }, { exp, sessionExp: firstExp }, at, ttl), firstExp * 1000 + 5000);
  // Without the TTL (the CLI) or without sxp (a session named by its issuer), as long as any token can live.
  assert.is(entryDeadline({ kind: 'sid', id: 's' }, { exp, sessionExp: firstExp }, at, policy), at + 3_600_000 + 3 * 5000);
  assert.is(entryDeadline({ kind: 'sid', id: 's' }, { exp }, at, ttl), at + 3_600_000 + 3 * 5000);
});

test('logout payloads: nothing, {} or {everywhere: boolean}; anything else is a BadRequestError', () => {
  assert.equal(parseLogoutRequest(undefined), { everywhere: false });
  assert.equal(parseLogoutRequest(null), { everywhere: false });
  assert.equal(parseLogoutRequest({}), { everywhere: false });
  assert.equal(parseLogoutRequest({ everywhere: true }), { everywhere: true });
  assert.equal(parseLogoutRequest({ everywhere: false }), { everywhere: false });
  for (const bad of ['', 'x', 0, true, [], [true], { everywhere: 'true' }, { everywhere: null }, { other: 1 }]) {
    assert.throws(
      () => parseLogoutRequest(bad),
      (err: Error) => err instanceof BadRequestError,
      JSON.stringify(bad),
    );
  }
});

/** The memory store, with `check` held until the test lets it answer. */
function heldStore(inner: MemoryRevocationStore): RevocationStore & { release(): void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return Object.assign(Object.create(inner) as RevocationStore, {
    check: async (claims: GatehouseClaims) => {
      const answer = await inner.check(claims);
      await gate;
      return answer;
    },
    release,
  });
}

const claims: GatehouseClaims = { sub: 'u', sid: 's', jti: 'j', iat: at / 1000 - 10, exp: at / 1000 + 600 };
const clock = { now: () => at };

test('a revocation that lands while the admission check is in flight still refuses the token', async () => {
  const memory = new MemoryRevocationStore({ policy, origin: 'a', clock });
  const store = heldStore(memory);
  const enforcer = new RevocationEnforcer(store, clock, createLogger('silent'));
  const checking = revocationAdmission(store, enforcer)(claims, undefined);
  // The store answered "not revoked" before the revocation; its announcement is applied before the answer lands.
  enforcer.apply({ kind: 'sid', id: 's', at, until: at + 1000, origin: 'b' });
  store.release();
  try {
    await checking;
    assert.unreachable('the token should be refused');
  } catch (err) {
    assert.instance(err, AuthTokenRevokedError);
  }
  await memory.close();
});

test('a flood of revocations is remembered up to a bound; a check it overtook fails closed, never admits', async () => {
  const memory = new MemoryRevocationStore({ policy, origin: 'a', clock });
  const store = heldStore(memory);
  const enforcer = new RevocationEnforcer(store, clock, createLogger('silent'));
  const checking = revocationAdmission(store, enforcer)(claims, undefined);
  // All within one instant (the clock is frozen), so only the bound can make room.
  enforcer.apply({ kind: 'sid', id: 's', at, until: at + 1000, origin: 'b' });
  for (let i = 0; i < MAX_REMEMBERED + 10; i++) enforcer.apply({ kind: 'jti', id: `flood-${i}`, at, until: at + 1000, origin: 'b' });
  assert.is(enforcer.remembered, MAX_REMEMBERED);
  store.release();
  try {
    await checking;
    assert.unreachable('the token should be refused');
  } catch (err) {
    assert.ok(err instanceof AuthUnavailableError || err instanceof AuthTokenRevokedError, String(err));
  }
  await memory.close();
});

test('a store that cannot answer refuses with AuthUnavailableError (fail closed)', async () => {
  const memory = new MemoryRevocationStore({ policy, origin: 'a', clock });
  const failing = Object.assign(Object.create(memory) as RevocationStore, {
    check: async () => {
      throw new StoreUnavailableError('down');
    },
  });
  const enforcer = new RevocationEnforcer(failing, clock, createLogger('silent'));
  try {
    await revocationAdmission(failing, enforcer)(claims, undefined);
    assert.unreachable('the token should be refused');
  } catch (err) {
    assert.instance(err, AuthUnavailableError);
    assert.is((err as AuthUnavailableError).isBadToken, false, 'the client keeps its token');
  }
  await memory.close();
});

test.run();
