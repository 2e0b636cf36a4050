import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { configProblems, testConfig } from '../helpers/gateway';
import { writeUsersFile } from '../helpers/login';

test('login defaults: 5 failures per username, 20 per IP, 15 minutes, 10 and 60 attempts a minute, no trusted proxy, 3 s backend timeout', () => {
  const c = testConfig();
  assert.is(c.loginMaxFailuresPerUser, 5);
  assert.is(c.loginMaxFailuresPerIp, 20);
  assert.is(c.loginFailureWindowMs, 15 * 60_000);
  assert.is(c.loginRatePerUser, 10);
  assert.is(c.loginRatePerIp, 60);
  assert.equal(c.trustProxy, []);
  assert.is(c.loginTimeoutMs, 3000);
  assert.is(c.usersFile, undefined);
  assert.is(c.loginUrl, undefined);
});

test('a valid users file is read at start-up', async () => {
  const file = await writeUsersFile([{ username: 'a', password: 'pw', sub: 'user-a' }]);
  const c = testConfig({ GATEHOUSE_USERS_FILE: file });
  assert.is(c.users.length, 1);
  assert.is(c.users[0].identity.sub, 'user-a');
});

test('an invalid users file is a config error naming the bad entry', async () => {
  const file = await writeUsersFile([{ username: 'a', password: 'pw', sub: 'user-a' }]);
  writeFileSync(file, JSON.stringify([{ username: 'eve', passwordHash: 'password123', sub: 'user-eve' }]));
  const problems = configProblems({ GATEHOUSE_USERS_FILE: file });
  assert.is(problems.length, 1);
  assert.match(problems[0], /^GATEHOUSE_USERS_FILE: .*entry 0 \("eve"\): passwordHash/);
  assert.not.match(problems[0], /password123/);
});

test('a missing users file is a config error', () => {
  assert.match(configProblems({ GATEHOUSE_USERS_FILE: '/nonexistent/users.json' }).join('\n'), /GATEHOUSE_USERS_FILE: .*ENOENT/);
});

test('the users file and the login URL together are a config error', async () => {
  const file = await writeUsersFile([]);
  assert.match(configProblems({ GATEHOUSE_USERS_FILE: file, GATEHOUSE_LOGIN_URL: 'http://127.0.0.1:9/login' }).join('\n'), /GATEHOUSE_LOGIN_URL: set either/);
});

test('every bad login setting is listed at once', () => {
  const problems = configProblems({
    GATEHOUSE_LOGIN_URL: 'ftp://user:pw@host/login',
    GATEHOUSE_LOGIN_MAX_FAILURES: '0',
    GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP: 'many',
    GATEHOUSE_LOGIN_FAILURE_WINDOW: 'forever',
    GATEHOUSE_LOGIN_RATE_PER_USER: '0',
    GATEHOUSE_LOGIN_RATE_PER_IP: '-1',
    GATEHOUSE_TRUST_PROXY: '10.0.0.1,proxy.internal,10.0.0.0/40',
  }).join('\n');
  for (const name of [
    'GATEHOUSE_LOGIN_URL',
    'GATEHOUSE_LOGIN_MAX_FAILURES:',
    'GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP',
    'GATEHOUSE_LOGIN_FAILURE_WINDOW',
    'GATEHOUSE_LOGIN_RATE_PER_USER',
    'GATEHOUSE_LOGIN_RATE_PER_IP',
  ]) {
    assert.ok(problems.includes(name), `${name} in:\n${problems}`);
  }
  assert.match(problems, /GATEHOUSE_TRUST_PROXY: "proxy.internal"/);
  assert.match(problems, /GATEHOUSE_TRUST_PROXY: "10.0.0.0\/40"/);
  assert.not.match(problems, /user:pw/);
});

test.run();
