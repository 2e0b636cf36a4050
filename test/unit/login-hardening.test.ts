import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ConcurrencyGate, LoginQueueFullError } from '../../server/login/concurrency-gate';
import { LoginLimiter } from '../../server/login/login-limiter';
import { LoginService } from '../../server/login/login-service';
import { ErrorName } from '../../shared';
import { hashPassword, parsePasswordHash } from '../../server/login/password-hash';
import { canonicalUsername } from '../../server/login/username-key';
import { parseUsersFile } from '../../server/login/users-file';
import { strongestParams, UsersFileVerifier } from '../../server/login/users-file-verifier';
import { FAST_SCRYPT } from '../helpers/login';

// The limiter's key was once NFKC plus lower case only, so each of these spellings had its own budget.
test('canonicalUsername: spellings a backend folds share one key', () => {
  const spellings = [' alice', 'alice ', '\talice', 'ALICE', 'Al\u200Bice', 'a\u00ADlice', '\uFF41lice', '\u3000alice\n', 'ali\u200Dce\uFE0F'];
  for (const s of spellings) assert.is(canonicalUsername(s), 'alice', JSON.stringify(s));
  assert.is(canonicalUsername('STRASSE'), canonicalUsername('stra\u00DFe'));
  assert.is(canonicalUsername('\u03A3\u03C3\u03C2'), '\u03C3\u03C3\u03C3');
  assert.is.not(canonicalUsername('alice'), canonicalUsername('alicE2'));
  assert.is(canonicalUsername('bob smith'), 'bob smith', 'inner spaces are kept');
});

test('the users file refuses two usernames the limiter would count as one', async () => {
  const passwordHash = await hashPassword('pw', FAST_SCRYPT);
  for (const [first, second] of [
    ['alice', 'ALICE'],
    ['alice', 'alice '],
    ['bob', 'b\u200Bob'],
  ]) {
    assert.throws(
      () =>
        parseUsersFile(
          JSON.stringify([
            { username: first, passwordHash, sub: 'a' },
            { username: second, passwordHash, sub: 'b' },
          ]),
        ),
      /entry 1 .*differs from entry 0's only by case, spacing or invisible characters/,
    );
  }
});

// p multiplies the time a hash takes, so capping only memory (N·r) was not enough.
test('scrypt cost is capped: N·r·p at most 2^22', () => {
  const salt = 'c2FsdHNhbHRzYWx0c2FsdA';
  const hash = 'aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
  assert.throws(() => parsePasswordHash(`$scrypt$ln=20,r=8,p=16$${salt}$${hash}`), /costs more than N·r·p = 2\^22/);
  assert.throws(() => parsePasswordHash(`$scrypt$ln=17,r=8,p=5$${salt}$${hash}`), /costs more than/);
  assert.is(parsePasswordHash(`$scrypt$ln=17,r=8,p=4$${salt}$${hash}`).params.p, 4);
  assert.is(parsePasswordHash(`$scrypt$ln=19,r=8,p=1$${salt}$${hash}`).params.ln, 19);
});

test('the dummy hash for unknown users takes the strongest parameters in the file, and mixed parameters are logged', async () => {
  const weak = await hashPassword('pw', FAST_SCRYPT);
  const strong = await hashPassword('pw', { ln: 12, r: 8, p: 2 });
  const users = parseUsersFile(
    JSON.stringify([
      { username: 'a', passwordHash: weak, sub: 'a' },
      { username: 'b', passwordHash: weak, sub: 'b' },
      { username: 'c', passwordHash: strong, sub: 'c' },
    ]),
  );
  assert.equal(strongestParams(users), { ln: 12, r: 8, p: 2 });
  assert.equal(strongestParams([]), { ln: 17, r: 8, p: 1 });
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  new UsersFileVerifier('/users.json', users, pino({ level: 'warn' }, sink));
  await new Promise((r) => setImmediate(r));
  const warning = lines.find((l) => String(l.msg).includes('mixes scrypt parameters'));
  assert.ok(warning, 'a warning names the users to rehash');
  assert.equal(warning.rehash, ['a', 'b']);
  assert.is(warning.strongest, 'ln=12,r=8,p=2');
});

test('the concurrency gate serves waiting keys round-robin, and a newcomer displaces the busiest key when full', async () => {
  const gate = new ConcurrencyGate(1, 4, () => new Error('full'));
  const order: string[] = [];
  let release!: () => void;
  const first = gate.run(
    'x',
    () =>
      new Promise<void>((r) => {
        release = r;
      }),
  );
  const settled: Promise<unknown>[] = [];
  const job = (key: string, i: number) =>
    gate.run(key, async () => {
      order.push(`${key}${i}`);
    });
  for (let i = 1; i <= 4; i++) settled.push(job('flood', i).catch((e: Error) => order.push(`refused flood${i}:${e.message}`)));
  settled.push(job('honest', 1));
  release();
  await first;
  await Promise.all(settled);
  assert.equal(order, ['refused flood4:full', 'flood1', 'honest1', 'flood2', 'flood3']);
  assert.equal(gate.load, { active: 0, waiting: 0 });
});

test('the concurrency gate: when many keys wait once each, a newcomer takes the place of the key queued last', async () => {
  const gate = new ConcurrencyGate(1, 3, () => new Error('full'));
  const order: string[] = [];
  let release!: () => void;
  const first = gate.run(
    'x',
    () =>
      new Promise<void>((r) => {
        release = r;
      }),
  );
  const job = (key: string) =>
    gate
      .run(key, async () => {
        order.push(key);
      })
      .catch((e: Error) => order.push(`refused ${key}:${e.message}`));
  const settled = ['a', 'b', 'c', 'honest'].map(job);
  release();
  await first;
  await Promise.all(settled);
  assert.equal(order, ['refused c:full', 'a', 'b', 'honest']);
  assert.equal(gate.load, { active: 0, waiting: 0 });
});

test('a full login queue costs the address a failure point, not the username', async () => {
  const log = pino({ level: 'silent' });
  const limiter = new LoginLimiter({ maxFailuresPerUser: 2, maxFailuresPerIp: 3, windowMs: 60_000, maxAttemptsPerUser: 1000, maxAttemptsPerIp: 1000 }, log);
  let full = true;
  const verifier = {
    verify: async () => {
      if (full) throw new LoginQueueFullError();
      return { sub: 'user-a' };
    },
  };
  const service = new LoginService(verifier, limiter, () => true, log);
  const attempt = (username: string, ip: string) =>
    service.attempt({ username, password: 'pw' }, { ip, via: 'http' }).then(
      () => 'ok',
      (e: Error) => e.name,
    );
  for (let i = 0; i < 3; i++) assert.is(await attempt('alice', '203.0.113.1'), ErrorName.LoginUnavailable);
  assert.is(await attempt('bob', '203.0.113.1'), ErrorName.RateLimited, 'the flooding address is out of failures');
  full = false;
  assert.is(await attempt('alice', '198.51.100.1'), 'ok', "alice's own budget was not touched");
});

test.run();
