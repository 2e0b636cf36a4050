import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request, type IncomingHttpHeaders } from 'node:http';
import { Gateway } from '../../server/gateway';
import { createLogger } from '../../server/log';
import { httpRequest, testConfig } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { writeUsersFile } from '../helpers/login';

let gw: Gateway;
let noList: Gateway;

const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  const usersFile = await writeUsersFile([{ username: 'bob', password: 'bob-password', sub: 'user-bob' }]);
  gw = await suiteScope.gateway({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_ORIGINS: 'https://app.example.com' });
  noList = await suiteScope.gateway({ GATEHOUSE_USERS_FILE: usersFile });
});

function send(
  target: Gateway,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: target.address().port, path: '/auth/login', method, headers, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const preflight = (origin: string, method = 'POST') => ({ origin, 'access-control-request-method': method, 'access-control-request-headers': 'content-type' });
const login = JSON.stringify({ username: 'bob', password: 'bob-password' });

test('a preflight from an allowed origin is answered: POST with Content-Type, cached', async () => {
  const res = await send(gw, 'OPTIONS', preflight('https://app.example.com'));
  assert.is(res.status, 204);
  assert.is(res.headers['access-control-allow-origin'], 'https://app.example.com');
  assert.is(res.headers['access-control-allow-methods'], 'POST');
  assert.is(res.headers['access-control-allow-headers'], 'Content-Type');
  assert.ok(Number(res.headers['access-control-max-age']) > 0);
  assert.match(String(res.headers.vary), /Origin/);
  assert.is(res.headers['access-control-allow-credentials'], undefined);
});

test('the login answer from an allowed origin carries Access-Control-Allow-Origin, and expiresIn', async () => {
  const res = await send(gw, 'POST', { origin: 'https://app.example.com', 'content-type': 'application/json' }, login);
  assert.is(res.status, 200);
  assert.is(res.headers['access-control-allow-origin'], 'https://app.example.com');
  const body = JSON.parse(res.body) as { expiresIn: number };
  assert.ok(body.expiresIn > 15 * 60 - 3 && body.expiresIn <= 15 * 60);
});

test('a failed login from an allowed origin is readable too (its error name)', async () => {
  const res = await send(
    gw,
    'POST',
    { origin: 'https://app.example.com', 'content-type': 'application/json' },
    JSON.stringify({ username: 'bob', password: 'nope' }),
  );
  assert.is(res.status, 401);
  assert.is(res.headers['access-control-allow-origin'], 'https://app.example.com');
  assert.is((JSON.parse(res.body) as { error: { name: string } }).error.name, 'LoginError');
});

for (const origin of ['https://evil.example', 'http://app.example.com', 'null', 'https://app.example.com.evil.example']) {
  test(`origin ${origin} gets no CORS header, on the preflight or the answer`, async () => {
    const pre = await send(gw, 'OPTIONS', preflight(origin));
    assert.is(pre.status, 204);
    assert.equal(
      Object.keys(pre.headers).filter((h) => h.startsWith('access-control-')),
      [],
    );
    const res = await send(gw, 'POST', { origin, 'content-type': 'application/json' }, login);
    assert.equal(
      Object.keys(res.headers).filter((h) => h.startsWith('access-control-')),
      [],
    );
  });
}

test('a preflight for another method gets no CORS header', async () => {
  const res = await send(gw, 'OPTIONS', preflight('https://app.example.com', 'DELETE'));
  assert.equal(
    Object.keys(res.headers).filter((h) => h.startsWith('access-control-')),
    [],
  );
});

test('without GATEHOUSE_ORIGINS no origin gets CORS headers (same-origin pages only)', async () => {
  const pre = await send(noList, 'OPTIONS', preflight('https://app.example.com'));
  assert.equal(
    Object.keys(pre.headers).filter((h) => h.startsWith('access-control-')),
    [],
  );
});

test('login with GATEHOUSE_ORIGINS unset (outside production) warns at start and in /readyz, naming GATEHOUSE_ORIGINS and *', async () => {
  const lines: string[] = [];
  const usersFile = await writeUsersFile([{ username: 'bob', password: 'bob-password', sub: 'user-bob' }]);
  const config = testConfig({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_LOG_LEVEL: 'warn' });
  const open = scope.ownGateway(new Gateway(config, { log: createLogger('warn', {}, { write: (line) => void lines.push(line) }) }));
  await open.listen();
  const warned = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.msg.includes('GATEHOUSE_ORIGINS is unset'));
  assert.is(warned.length, 1);
  assert.is(warned[0].level, 40);
  assert.match(warned[0].msg, 'GATEHOUSE_ORIGINS=*');
  const ready = await httpRequest(open.address().port, '/readyz');
  assert.is(ready.status, 200, 'a warning, not a refusal');
  assert.match((ready.body as { warnings: string[] }).warnings.join('\n'), /login is on and GATEHOUSE_ORIGINS is unset.*GATEHOUSE_ORIGINS=\*/);
});

test('no such warning with a list, with an explicit *, or without login', async () => {
  const usersFile = await writeUsersFile([{ username: 'bob', password: 'bob-password', sub: 'user-bob' }]);
  const any = await scope.gateway({ GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_ORIGINS: '*' });
  const noLogin = await scope.gateway({});
  for (const target of [gw, any, noLogin]) assert.equal(target.warnings(), []);
  assert.equal(noList.warnings().length, 1);
});

test.run();
