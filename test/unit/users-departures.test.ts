import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hashPassword } from '../../server/login/password-hash';
import { departedUsers, parseUsersFile } from '../../server/login/users-file';
import { FAST_SCRYPT } from '../helpers/login';

// Which users a users-file reload ends the sessions of: gone, a new hash, or a new sub; nothing else.

test('removed, rehashed and re-subbed users depart; unchanged users and changed channels or claims do not', async () => {
  const [h1, h2] = await Promise.all([hashPassword('pw', FAST_SCRYPT), hashPassword('pw', FAST_SCRYPT)]);
  const before = parseUsersFile(
    JSON.stringify([
      { username: 'gone', passwordHash: h1, sub: 's-gone' },
      { username: 'rehashed', passwordHash: h1, sub: 's-rehashed' },
      { username: 'moved', passwordHash: h1, sub: 's-old' },
      { username: 'same', passwordHash: h1, sub: 's-same', channels: ['a'] },
    ]),
  );
  const after = parseUsersFile(
    JSON.stringify([
      { username: 'rehashed', passwordHash: h2, sub: 's-rehashed' },
      { username: 'moved', passwordHash: h1, sub: 's-new' },
      { username: 'same', passwordHash: h1, sub: 's-same', channels: ['b'], claims: { role: 'x' } },
      { username: 'new', passwordHash: h1, sub: 's-fresh' },
    ]),
  );
  assert.equal(departedUsers(before, after), [
    { username: 'gone', sub: 's-gone', why: 'removed' },
    { username: 'rehashed', sub: 's-rehashed', why: 'password changed' },
    { username: 'moved', sub: 's-old', why: 'sub changed' },
  ]);
  assert.equal(departedUsers(before, before), []);
  assert.equal(departedUsers([], after), []);
});

test.run();
