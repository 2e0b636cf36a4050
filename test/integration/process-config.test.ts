// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/process';

const SECRET = 'process-secret-process-secret-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-proc-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** The variables named at the start of the problem lines on stderr. */
const namedOn = (stderr: string) => [...stderr.matchAll(/^ {2}- (\S+?):/gm)].map((m) => m[1]).sort();

test('config errors exit with status 2 and name every variable on stderr', async () => {
  const r = await runCli(['start'], {
    GATEHOUSE_PORT: '99999',
    GATEHOUSE_AUTH_KEY: 'too-short',
    GATEHOUSE_CLOCK_TOLERANCE: 'a while',
    GATEHOUSE_SHUTDOWN_TIMOUT: '5s',
  });
  assert.is(r.code, 2);
  assert.equal(namedOn(r.stderr), ['GATEHOUSE_AUTH_KEY', 'GATEHOUSE_CLOCK_TOLERANCE', 'GATEHOUSE_PORT', 'GATEHOUSE_SHUTDOWN_TIMOUT']);
  assert.not.match(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace for a configuration error');
  assert.is(r.stdout, '');
});

test('start is the default command', async () => {
  const r = await runCli([], { GATEHOUSE_LOG_LEVEL: 'chatty', GATEHOUSE_AUTH_KEY: SECRET });
  assert.is(r.code, 2);
  assert.equal(namedOn(r.stderr), ['GATEHOUSE_LOG_LEVEL']);
});

test('NODE_ENV=production with no key exits 2, naming GATEHOUSE_AUTH_KEY', async () => {
  const r = await runCli(['start'], { NODE_ENV: 'production' });
  assert.is(r.code, 2);
  assert.equal(namedOn(r.stderr), ['GATEHOUSE_AUTH_KEY']);
  assert.not.match(r.stderr, 'DEVELOPMENT MODE');
});

test('NODE_ENV=production with login on and GATEHOUSE_ORIGINS unset exits 2, naming GATEHOUSE_ORIGINS', async () => {
  const r = await runCli(['start'], { NODE_ENV: 'production', GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_LOGIN_URL: 'http://127.0.0.1:9/login' });
  assert.is(r.code, 2);
  assert.equal(namedOn(r.stderr), ['GATEHOUSE_ORIGINS']);
  assert.match(r.stderr, 'GATEHOUSE_ORIGINS=*');
});

test('--config: problems in the file exit 2 naming the setting and the file', async () => {
  const path = join(dir, 'bad.json');
  writeFileSync(path, JSON.stringify({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_MAX_PAYLOAD: 'lots', GATEHOUSE_PORTT: 1 }));
  const r = await runCli(['start', '--config', path], {});
  assert.is(r.code, 2);
  assert.match(r.stderr, /GATEHOUSE_MAX_PAYLOAD: "lots"/);
  assert.match(r.stderr, `GATEHOUSE_PORTT in ${path}`);
});

test('an unreadable --config file exits 2', async () => {
  const r = await runCli(['start', '--config', join(dir, 'missing.json')], { GATEHOUSE_AUTH_KEY: SECRET });
  assert.is(r.code, 2);
  assert.match(r.stderr, 'missing.json');
});

test.run();
