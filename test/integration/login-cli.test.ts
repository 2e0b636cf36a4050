// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePasswordHash, verifyPassword } from '../../server/login/password-hash';
import { SECRET, waitFor } from '../helpers/gateway';
import { writeUsersFile } from '../helpers/login';

const BIN = join(__dirname, '..', '..', 'bin', 'gatehouse.js');

/** The environment without any GATEHOUSE_* setting of the machine running the tests. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
  return { ...env, ...extra };
}

function hashPasswordCli(stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'hash-password'], { env: cleanEnv({}), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

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

for (const [name, input] of [['empty input', ''], ['an empty line', '\n'], ['over 256 characters', `${'x'.repeat(257)}\n`]] as const) {
  test(`hash-password refuses ${name} (exit 2, nothing on stdout)`, async () => {
    const { code, stdout, stderr } = await hashPasswordCli(input);
    assert.is(code, 2);
    assert.is(stdout, '');
    assert.match(stderr, /password/);
  });
}

test('SIGHUP makes a running node re-read its users file; a bad file keeps the old users', async () => {
  const file = await writeUsersFile([{ username: 'ann', password: 'ann-pw', sub: 'user-ann' }]);
  const child = spawn(process.execPath, [BIN, 'start'], {
    env: cleanEnv({
      GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_PORT: '0', GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_USERS_FILE: file,
      GATEHOUSE_LOG_LEVEL: 'info', GATEHOUSE_SHUTDOWN_TIMEOUT: '2s',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  try {
    await waitFor(() => /listening on ws:\/\/127\.0\.0\.1:(\d+)/.test(stderr), 15_000, 'the node to listen');
    const port = Number(/listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    const login = async (username: string, password: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/auth/login`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }),
        signal: AbortSignal.timeout(3000),
      });
      await res.text();
      return res.status;
    };
    assert.is(await login('ann', 'ann-pw'), 200);
    assert.is(await login('ben', 'ben-pw'), 401);

    await writeUsersFile([{ username: 'ben', password: 'ben-pw', sub: 'user-ben' }], file);
    child.kill('SIGHUP');
    await waitFor(async () => (await login('ben', 'ben-pw')) === 200, 5000, 'ben to be able to log in');
    assert.is(await login('ann', 'ann-pw'), 401);

    writeFileSync(file, '[{"username": "broken"}]');
    child.kill('SIGHUP');
    await waitFor(() => stdout.includes('users file reload failed'), 5000, 'the reload failure to be logged');
    assert.is(await login('ben', 'ben-pw'), 200);
    assert.not.ok(stdout.includes('ben-pw'), 'no password in the log');
    assert.not.ok(/eyJ[\w-]+\.eyJ/.test(stdout), 'no token in the log');
  } finally {
    await stop(child);
  }
});

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

test.run();
