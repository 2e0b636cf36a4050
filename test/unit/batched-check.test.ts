import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { GatehouseClaims } from '../../shared';
import { batchedRevocationCheck } from '../../server/revocation/batched-check';
import { MemoryRevocationStore } from '../../server/revocation/memory-store';
import { StoreUnavailableError } from '../../server/revocation/store';

const at = 1_800_000_000_000;
const clock = { now: () => at };
const policy = { maxTokenLifetimeMs: 3_600_000, clockToleranceMs: 5000 };
const token = (i: number): GatehouseClaims => ({ sub: `u${i}`, sid: `s${i}`, jti: `j${i}`, iat: at / 1000 - 10, exp: at / 1000 + 600 });

/** The memory store, counting its checkMany calls. */
function countingStore() {
  const store = new MemoryRevocationStore({ policy, origin: 'a', clock });
  const calls: number[] = [];
  const checkMany = store.checkMany.bind(store);
  store.checkMany = (claims) => {
    calls.push(claims.length);
    return checkMany(claims);
  };
  return { store, calls };
}

test('checks asked for in one turn go to the store as one checkMany, and each caller gets its own answer', async () => {
  const { store, calls } = countingStore();
  await store.revoke({ kind: 'sid', id: 's3' });
  await store.revoke({ kind: 'sub', id: 'u7' });
  const check = batchedRevocationCheck(store);
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => check(token(i))));
  assert.equal(answers, [false, false, false, true, false, false, false, true, false, false]);
  assert.equal(calls, [10]);
  // A later turn is a new batch.
  assert.is(await check(token(3)), true);
  assert.equal(calls, [10, 1]);
  await store.close();
});

test('a store that cannot answer fails every check of the batch', async () => {
  const { store } = countingStore();
  store.checkMany = async () => {
    throw new StoreUnavailableError('redis is away');
  };
  const check = batchedRevocationCheck(store);
  const outcomes = await Promise.all(
    [check(token(1)), check(token(2))].map((p) =>
      p.then(
        () => 'answered',
        (err: Error) => err.name,
      ),
    ),
  );
  assert.equal(outcomes, ['StoreUnavailableError', 'StoreUnavailableError']);
  await store.close();
});

test('an answer of the wrong length fails closed', async () => {
  const { store } = countingStore();
  store.checkMany = async () => [false];
  const check = batchedRevocationCheck(store);
  const outcomes = await Promise.all(
    [check(token(1)), check(token(2))].map((p) =>
      p.then(
        () => 'answered',
        () => 'failed',
      ),
    ),
  );
  assert.equal(outcomes, ['failed', 'failed']);
  await store.close();
});

test.run();
