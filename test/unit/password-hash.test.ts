import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tokenPayloadOf } from '../../server/login/credential-verifier';
import { formatPasswordHash, hashPassword, parsePasswordHash, verifyPassword } from '../../server/login/password-hash';
import { parseUsersFile } from '../../server/login/users-file';
import { FAST_SCRYPT } from '../helpers/login';

test('a hash verifies its password and no other', async () => {
  const phc = await hashPassword('s3cret pässword', FAST_SCRYPT);
  assert.match(phc, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  const parsed = parsePasswordHash(phc);
  assert.is(formatPasswordHash(parsed), phc);
  assert.ok(await verifyPassword('s3cret pässword', parsed));
  assert.not.ok(await verifyPassword('s3cret passwort', parsed));
  assert.not.ok(await verifyPassword('', parsed));
});

test('passwords are compared after NFKC normalization', async () => {
  const parsed = parsePasswordHash(await hashPassword('caf\u00e9', FAST_SCRYPT));
  assert.ok(await verifyPassword('cafe\u0301', parsed));
});

test('two hashes of one password differ (random salt)', async () => {
  assert.is.not(await hashPassword('same', FAST_SCRYPT), await hashPassword('same', FAST_SCRYPT));
});

const badHashes = [
  'plaintext',
  '$2b$12$abcdefghijklmnopqrstuu5F7bJ6l8p1tN0m6x0Qy4Z2o7p8q9r0s', // bcrypt
  '$scrypt$ln=17,r=8$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA',
  '$scrypt$ln=9,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
  '$scrypt$ln=21,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
  '$scrypt$ln=20,r=32,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
  '$scrypt$ln=17,r=8,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g', // 4-byte salt
  '$scrypt$ln=17,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA', // 4-byte hash
  '$scrypt$ln=17,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g', // padding
];
for (const bad of badHashes) {
  test(`refuses the hash ${bad.slice(0, 30)}…`, () => {
    assert.throws(() => parsePasswordHash(bad));
  });
}

test('the users file: a valid file parses', async () => {
  const passwordHash = await hashPassword('pw', FAST_SCRYPT);
  const users = parseUsersFile(
    JSON.stringify([
      { username: 'a', passwordHash, sub: 'user-a' },
      { username: 'b', passwordHash, sub: 'user-b', channels: { news: ['subscribe'] }, claims: { role: 'x' } },
    ]),
  );
  assert.is(users.length, 2);
  assert.equal(users[1].identity, { sub: 'user-b', channels: { news: ['subscribe'] }, claims: { role: 'x' } });
});

test('the users file: every bad entry is named by index and username, never by hash', async () => {
  const passwordHash = await hashPassword('pw', FAST_SCRYPT);
  let message = '';
  try {
    parseUsersFile(
      JSON.stringify([
        { username: 'ok', passwordHash, sub: 'ok' },
        { username: 'nohash', sub: 'x' },
        { username: 'plain', passwordHash: 'hunter2', sub: 'x' },
        { username: 'ok', passwordHash, sub: 'again' },
        { username: 'typo', passwordHash, sub: 'x', chanels: ['*'] },
        { username: 'badgrant', passwordHash, sub: 'x', channels: { room: ['write'] } },
        'not an object',
      ]),
    );
  } catch (err) {
    message = (err as Error).message;
  }
  for (const part of [
    'entry 1 ("nohash")',
    'entry 2 ("plain")',
    'entry 3 ("ok"): the username appears twice',
    'entry 4 ("typo")',
    'entry 5 ("badgrant")',
    'entry 6',
  ]) {
    assert.ok(message.includes(part), `${part} in: ${message}`);
  }
  assert.not.ok(message.includes('hunter2'));
  assert.not.ok(message.includes(passwordHash));
  assert.not.ok(message.includes('entry 0'));
});

test('the users file: not JSON, not an array', () => {
  assert.throws(() => parseUsersFile('{'), /not valid JSON/);
  assert.throws(() => parseUsersFile('{"users": []}'), /JSON array/);
});

test('extra claims never override reserved claims; a __proto__ claim is dropped', () => {
  const claims = JSON.parse(
    '{"role":"admin","sub":"mallory","exp":1,"iat":1,"nbf":1,"jti":"j","sid":"s","iss":"i","aud":"a","channels":["*"],"auth_time":1,"__proto__":{"polluted":true}}',
  ) as Record<string, unknown>;
  const payload = tokenPayloadOf({ sub: 'alice', channels: ['chat:*'], claims });
  assert.equal(payload, { role: 'admin', sub: 'alice', channels: ['chat:*'] });
  assert.is(Object.getPrototypeOf(payload), Object.prototype);
  assert.is(({} as Record<string, unknown>).polluted, undefined);
});

test.run();
