// budget: 90s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { SECRET, mintHs256, sleep } from '../helpers/gateway';
import { logLineProblems, logMessages, duplicateKeys } from '../helpers/log-lines';
import { writeUsersFile } from '../helpers/login';
import { useScope } from '../helpers/scope';
import { freePort } from '../helpers/redis-server';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-output-'));
const scope = useScope(test);
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A node as `npx gatehouse start` runs it (the compiled build), on a free port. */
async function node(env: Record<string, string>) {
  const port = await freePort();
  const p = scope.gatehouse(['start'], { GATEHOUSE_PORT: String(port), GATEHOUSE_HOST: '127.0.0.1', ...env }, 'bin');
  assert.is(await p.listeningPort(), port);
  return { p, port };
}

test('the duplicate-key scanner finds repeated keys at any depth, and only those', () => {
  assert.equal(duplicateKeys('{"a":1,"b":{"c":2,"c":3},"d":[{"e":1,"e":2}],"s":"\\"a\\":1,"}'), ['b.c', 'd.0.e']);
  assert.equal(duplicateKeys('{"nodeId":"x","msg":"m","nodeId":"x"}'), ['nodeId']);
  assert.equal(duplicateKeys('{"a":[1,2.5e3,true,null,"x"],"b":{}}'), []);
  assert.throws(() => duplicateKeys('{"a":1} trailing'));
});

test('every line a node writes to stdout is one JSON object with each key once; errors carry a type and a message', async () => {
  const redis = await scope.redis();
  const users = await writeUsersFile([{ username: 'alice', password: 'correct horse', sub: 'user-1' }], join(dir, 'users.json'));
  const { p, port } = await node({
    GATEHOUSE_AUTH_KEY: SECRET,
    GATEHOUSE_REDIS_URL: redis.url,
    GATEHOUSE_USERS_FILE: users,
    GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
    GATEHOUSE_LOG_LEVEL: 'debug',
    GATEHOUSE_SHUTDOWN_TIMEOUT: '2s',
    GATEHOUSE_REDIS_TIMEOUT: '200ms',
    GATEHOUSE_NODE_ID: 'output-node',
  });
  await p.waitForStdout(/cluster bus connected/);
  // A second process with the same node id: the lines about a shared id (and its end) name the id once, like every line.
  const twin = await node({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_NODE_ID: 'output-node', GATEHOUSE_LOG_LEVEL: 'info' });
  await p.waitForStdout(/GATEHOUSE_NODE_ID is shared/, 10_000);
  await twin.p.stop();
  await p.waitForStdout(/GATEHOUSE_NODE_ID is no longer shared/, 15_000);
  const login = (password: string) =>
    fetch(`http://127.0.0.1:${port}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password }),
    }).then((r) => r.status);
  assert.is(await login('correct horse'), 200);
  assert.is(await login('wrong'), 401);
  const { status } = await scope.connect(port, mintHs256({ sub: 'user-1', jti: 'j1' }));
  assert.is(status.isAuthenticated, true);
  assert.is((await admin(port, 'POST', '/admin/revoke', { jti: 'j1' })).status, 200);

  // Redis goes away: every connection reports its errors.
  await redis.stop();
  await p.waitForStdout(/cluster bus: Redis error/, 8000);
  await p.waitForStdout(/redis connection lost; reconnecting/, 8000);
  await sleep(300);
  p.signal('SIGTERM');
  const exit = await p.exit(8000);
  assert.is(exit.code, 0, p.stderr);

  assert.equal(logLineProblems(p.stdout), []);
  const errors = p.stdout.split('\n').filter((l) => l.includes('"err":'));
  assert.ok(errors.length > 0, 'some errors were logged');
  const bus = p.stdout.split('\n').find((l) => l.includes('cluster bus: Redis error'))!;
  assert.match(bus, /"err":\{"type":"[A-Za-z]*Error","message":"[^"]+"/);
  const messages = logMessages(p.stdout);
  assert.equal(
    messages.filter((m) => m === 'shutting down' || m === 'shut down'),
    ['shutting down', 'shut down'],
  );
  assert.is(messages.at(-1), 'shut down');
});

test('a node whose Redis was never reached says so, not that a connection was lost', async () => {
  const { p } = await node({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_REDIS_URL: `redis://127.0.0.1:${await freePort()}`, GATEHOUSE_LOG_LEVEL: 'info' });
  await p.waitForStdout(/redis not reached yet; retrying/, 8000);
  await sleep(1500);
  assert.not.match(p.stdout, 'connection lost');
  assert.not.match(p.stdout, 'reconnecting');
  assert.equal(logLineProblems(p.stdout), []);
});

test('with its stdout and stderr pipes closed, a node still stops on SIGTERM, with status 0', async () => {
  const { p, port } = await node({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_LOG_LEVEL: 'trace', GATEHOUSE_SHUTDOWN_TIMEOUT: '2s' });
  await scope.connect(port, mintHs256({ sub: 'a' }));
  p.closePipes();
  // Something to log into the broken pipes before the signal, so the first failed write happens before shutdown too.
  await scope.connect(port, 'not-a-token');
  await sleep(100);
  const sent = Date.now();
  p.signal('SIGTERM');
  const exit = await p.exit(2000 + 4000);
  assert.equal(exit, { code: 0, signal: null });
  assert.ok(Date.now() - sent < 4000, `stopped in ${Date.now() - sent} ms`);
});

test('a port in use is one line naming GATEHOUSE_PORT, status 2, no stack trace', async () => {
  const blocker = scope.own(createServer(), (server) => server.close(), 'server');
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const taken = (blocker.address() as { port: number }).port;
  const p = scope.gatehouse(['start'], { GATEHOUSE_PORT: String(taken), GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_AUTH_KEY: SECRET }, 'bin');
  const exit = await p.exit(8000);
  assert.is(exit.code, 2);
  assert.is(p.stderr, `gatehouse: GATEHOUSE_PORT: 127.0.0.1:${taken} is already in use by another process; choose another port with GATEHOUSE_PORT\n`);
  assert.not.match(p.stdout, /\bat .*\.js:\d+/, 'no stack trace');
  assert.equal(logLineProblems(p.stdout), []);

  // The admin listener's port is named as such.
  const q = scope.gatehouse(
    ['start'],
    {
      GATEHOUSE_PORT: String(await freePort()),
      GATEHOUSE_HOST: '127.0.0.1',
      GATEHOUSE_AUTH_KEY: SECRET,
      GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
      GATEHOUSE_ADMIN_PORT: String(taken),
    },
    'bin',
  );
  assert.is((await q.exit(8000)).code, 2);
  assert.match(
    q.stderr,
    new RegExp(
      `^gatehouse: GATEHOUSE_ADMIN_PORT: 127\\.0\\.0\\.1:${taken} is already in use by another process; choose another port with GATEHOUSE_ADMIN_PORT\\n$`,
    ),
  );
});

test('the start-up summary on stderr says where clients connect and which parts are on', async () => {
  const quiet = await node({ GATEHOUSE_AUTH_KEY: SECRET });
  const lines = quiet.p.stderr;
  const http = `http://127.0.0.1:${quiet.port}`;
  assert.match(lines, `listening on ws://127.0.0.1:${quiet.port}/socketcluster/`);
  assert.match(lines, /\n {2}demo +\S/);
  assert.match(lines, /\n {2}login +off \(set GATEHOUSE_USERS_FILE or GATEHOUSE_LOGIN_URL\)/);
  assert.match(lines, /\n {2}rules +no rules file/);
  assert.match(lines, /\n {2}state +in memory, this node only/);
  assert.match(lines, /\n {2}admin API +off \(set GATEHOUSE_ADMIN_KEY\)/);
  assert.match(lines, `\n  metrics    ${http}/metrics`);

  const redis = await scope.redis();
  const rules = join(dir, 'rules.json');
  writeFileSync(rules, JSON.stringify({ anyone: ['public:*'] }));
  const users = await writeUsersFile([{ username: 'bob', password: 'pw', sub: 'b' }], join(dir, 'users2.json'));
  const adminPort = await freePort();
  const full = await node({
    GATEHOUSE_AUTH_KEY: SECRET,
    GATEHOUSE_REDIS_URL: `redis://:hunter2@127.0.0.1:${redis.port}`,
    GATEHOUSE_USERS_FILE: users,
    GATEHOUSE_CHANNELS_FILE: rules,
    GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
    GATEHOUSE_ADMIN_PORT: String(adminPort),
  });
  const text = full.p.stderr;
  assert.match(text, `login      on, users file ${users}`);
  assert.match(text, `rules      channel rules from ${rules}`);
  assert.match(text, `state      shared through Redis at redis://:***@127.0.0.1:${redis.port}`);
  assert.match(text, `admin API  http://127.0.0.1:${adminPort}/admin/`);
  assert.match(text, `metrics    http://127.0.0.1:${adminPort}/metrics`);
  assert.not.match(text, 'hunter2');
  assert.not.match(text, ADMIN_KEY);
});

test.run();
