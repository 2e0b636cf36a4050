// The default connection cap from the descriptor limit: what /proc/self/limits says, and room kept for the rest.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultMaxConnections, openFileLimit } from '../../server/floods/descriptor-limit';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             95432                95432                processes
Max open files            20000                524288               files
Max locked memory         8388608              8388608              bytes
`;

test('the soft limit on open files is read from /proc/self/limits', () => {
  assert.is(
    openFileLimit(() => LIMITS),
    20000,
  );
  assert.is(
    openFileLimit(() => LIMITS.replace('20000', 'unlimited')),
    undefined,
  );
  assert.is(
    openFileLimit(() => {
      throw new Error('ENOENT');
    }),
    undefined,
  );
  assert.is(
    openFileLimit(() => 'nothing here'),
    undefined,
  );
  if (process.platform === 'linux') assert.ok((openFileLimit() ?? 0) > 0, 'this machine has one');
});

test('the default cap keeps a tenth of the limit, at most 1,000, for everything else; none without a limit', () => {
  assert.is(defaultMaxConnections(20_000), 19_000);
  assert.is(defaultMaxConnections(1024), 921);
  assert.is(defaultMaxConnections(1_048_576), 1_047_576);
  assert.is(defaultMaxConnections(1), 1);
  assert.is(defaultMaxConnections(undefined), 0);
});

test.run();
