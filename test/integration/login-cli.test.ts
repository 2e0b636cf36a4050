// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { parsePasswordHash, verifyPassword } from '../../server/login/password-hash';
import { SECRET, waitFor } from '../helpers/gateway';
import { writeUsersFile } from '../helpers/login';
import { GatehouseProcess, runCli } from '../helpers/process';
import { useScope } from '../helpers/scope';

/** `gatehouse hash-password` as the operator runs it, with `stdin` as its input. */
const hashPasswordCli = (stdin: string) => runCli(['hash-password'], {}, { entry: 'bin', stdin, ms: 20_000 });

const scope = useScope(test);

test('hash-password prints a PHC scrypt hash of the first line that verifies', async () => {
  const { code, stdout } = await hashPasswordCli('correct horse battery staple\nsecond line ignored\n');
  assert.is(code, 0);
  const phc = stdout.trim();
  assert.match(phc, /^\$scrypt\$ln=17,r=8,p=1\$/);
  const parsed = parsePasswordHash(phc);
  assert.ok(await verifyPassword('correct horse battery staple', parsed));
  assert.not.ok(await verifyPassword('correct horse battery staple\n', parsed));
});

test('hash-password takes a CRLF line and a last line without newline', async () => {
  const crlf = await hashPasswordCli('pw-crlf\r\n');
  assert.ok(await verifyPassword('pw-crlf', parsePasswordHash(crlf.stdout.trim())));
});

for (const [name, input] of [
  ['empty input', ''],
  ['an empty line', '\n'],
  ['over 256 characters', `${'x'.repeat(257)}\n`],
] as const) {
  test(`hash-password refuses ${name} (exit 2, nothing on stdout)`, async () => {
    const { code, stdout, stderr } = await hashPasswordCli(input);
    assert.is(code, 2);
    assert.is(stdout, '');
    assert.match(stderr, /password/);
  });
}

test('SIGHUP makes a running node re-read its users file; a bad file keeps the old users', async () => {
  const file = await writeUsersFile([{ username: 'ann', password: 'ann-pw', sub: 'user-ann' }]);
  const node = scope.own(
    new GatehouseProcess(
      ['start'],
      {
        GATEHOUSE_HOST: '127.0.0.1',
        GATEHOUSE_PORT: '0',
        GATEHOUSE_AUTH_KEY: SECRET,
        GATEHOUSE_USERS_FILE: file,
        GATEHOUSE_LOG_LEVEL: 'info',
        GATEHOUSE_SHUTDOWN_TIMEOUT: '2s',
      },
      'bin',
    ),
    (p) => p.terminate(),
    'gatehouse process',
  );
  const port = await node.listeningPort(15_000);
  const login = async (username: string, password: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
      signal: AbortSignal.timeout(3000),
    });
    await res.text();
    return res.status;
  };
  assert.is(await login('ann', 'ann-pw'), 200);
  assert.is(await login('ben', 'ben-pw'), 401);

  await writeUsersFile([{ username: 'ben', password: 'ben-pw', sub: 'user-ben' }], file);
  node.signal('SIGHUP');
  await waitFor(async () => (await login('ben', 'ben-pw')) === 200, 5000, 'ben to be able to log in');
  assert.is(await login('ann', 'ann-pw'), 401);

  writeFileSync(file, '[{"username": "broken"}]');
  node.signal('SIGHUP');
  await waitFor(() => node.stdout.includes('users file reload failed'), 5000, 'the reload failure to be logged');
  assert.is(await login('ben', 'ben-pw'), 200);
  assert.not.ok(node.stdout.includes('ben-pw'), 'no password in the log');
  assert.not.ok(/eyJ[\w-]+\.eyJ/.test(node.stdout), 'no token in the log');
});

test.run();
