// budget: 90s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECRET, jwksOf, makeKeyPair } from '../helpers/gateway';
import { logLineProblems, logMessages } from '../helpers/log-lines';
import { GatehouseProcess, cleanEnv } from '../helpers/process';
import { freePort } from '../helpers/redis-server';

const ROOT = join(__dirname, '..', '..');
const children: ChildProcess[] = [];
const processes: GatehouseProcess[] = [];
const work = mkdtempSync(join(tmpdir(), 'gatehouse-npm-start-'));

test.after.each(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    // npm dies of SIGKILL without passing it on: its child, the gateway, goes first.
    for (const child of childrenOf(c.pid!)) process.kill(child.pid, 'SIGKILL');
    c.kill('SIGKILL');
  }
  await Promise.all(processes.splice(0).map((p) => p.stop()));
});
test.after(() => rmSync(work, { recursive: true, force: true }));

/** npm's run-script banner, which npm writes to stdout before the script's own output (no npm setting moves it alone). */
const BANNER = /^\n> gatehouse@[^\n]+ start\n> exec node bin\/gatehouse\.js start\n\n/;

/** A node's stdout under `npm start` without npm's banner: what the gateway wrote. */
function logOf(stdout: string): string {
  assert.match(stdout, BANNER, "npm's banner comes first");
  return stdout.replace(BANNER, '');
}

/** `npm ARGS` run to its end (failing after `ms`): its status and output. */
function npm(args: string[], opts: { cwd?: string; env?: Record<string, string>; ms?: number } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    // npm exec links this project into its cache's _npx folder; a run killed half-way leaves that folder broken for
    // every later run (ENOENT, status 254), so each test run has a cache of its own.
    const env = cleanEnv({ npm_config_cache: join(work, 'npm-cache'), ...opts.env });
    const child = spawn('npm', args, { cwd: opts.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => reject(new Error(`npm ${args.join(' ')} did not end within ${opts.ms ?? 60_000} ms\n${stderr}`)), opts.ms ?? 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The PIDs whose parent is `pid`, with their command lines (from /proc). */
function childrenOf(pid: number): { pid: number; args: string[] }[] {
  const out: { pid: number; args: string[] }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(name), args: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean) });
    } catch {
      // The process went away while we looked.
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function ready(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const status = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(500) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`npm start did not turn ready on ${port} within ${ms} ms`);
}

/**
 * `npm start` as a newcomer runs it (with the test's key unless `env` brings others); resolves once the node is ready,
 * with npm's PID and the one process it started.
 */
async function npmStart(env: Record<string, string> = { GATEHOUSE_AUTH_KEY: SECRET }) {
  const port = await freePort();
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: cleanEnv({ GATEHOUSE_PORT: String(port), GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_SHUTDOWN_TIMEOUT: '2s', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(npm);
  let stdout = '';
  let stderr = '';
  npm.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  npm.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    npm.once('close', (code, signal) => resolve({ code, signal }));
  });
  await ready(port, 20_000);
  return { npm, port, exited, output: () => ({ stdout, stderr }) };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to the PID of npm start ends the gateway with status 0 and frees the port; one process, JSON lines after npm's banner`, async () => {
    const { npm, port, exited, output } = await npmStart();
    // npm's script runs `exec node …`: npm's only child is the gateway itself, not a shell or a loader in between.
    const started = childrenOf(npm.pid!);
    assert.is(started.length, 1, JSON.stringify(started));
    assert.equal(started[0].args.slice(1), ['bin/gatehouse.js', 'start']);
    assert.equal(childrenOf(started[0].pid), [], 'the gateway starts no process of its own');

    npm.kill(signal);
    const exit = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('npm start did not exit')), 8000))]);
    assert.equal(exit, { code: 0, signal: null }, output().stderr);
    assert.not.ok(alive(started[0].pid), 'the gateway is gone');
    assert.ok(await portFree(port), 'the port is free');

    const { stdout, stderr } = output();
    assert.equal(logLineProblems(logOf(stdout)), [], 'after the banner stdout holds JSON lines only');
    assert.not.match(stderr, /npm (error|ERR)/);
    assert.equal(
      logMessages(stdout).filter((m) => /shut/.test(m)),
      ['shutting down', 'shut down'],
    );
    assert.match(stdout, `"signal":"${signal}"`);
  });
}

test('SIGHUP to the PID the summary prints reloads the keys under npm start; npm and the gateway keep running', async () => {
  const jwks = join(work, 'jwks.json');
  writeFileSync(jwks, jwksOf(makeKeyPair('ES256', 'first')));
  const { npm, output } = await npmStart({ GATEHOUSE_JWKS_FILE: jwks });
  const [gateway] = childrenOf(npm.pid!);
  const printed = /^ {2}pid +(\d+) /m.exec(output().stderr);
  assert.ok(printed, output().stderr);
  assert.is(Number(printed[1]), gateway.pid, "the summary names the gateway's PID, npm's child");
  assert.match(output().stderr, /^ {2}verifies +JWK Set kids first \(ES256\)$/m);

  writeFileSync(jwks, jwksOf(makeKeyPair('ES256', 'first'), makeKeyPair('ES256', 'second')));
  process.kill(gateway.pid, 'SIGHUP');
  const deadline = Date.now() + 8000;
  while (!output().stdout.includes('JWK Set reloaded') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const reloaded = logOf(output().stdout)
    .split('\n')
    .find((l) => l.includes('JWK Set reloaded'));
  assert.ok(reloaded, output().stdout);
  assert.equal((JSON.parse(reloaded) as { kids: string[] }).kids, ['first', 'second']);
  assert.ok(alive(npm.pid!) && alive(gateway.pid), 'both still run');
});

test('npm start runs in a shell where the development-mode sample exports were pasted, and so does gatehouse token', async () => {
  const port = await freePort();
  const dev = new GatehouseProcess(['start'], { GATEHOUSE_PORT: String(port) }, 'bin');
  processes.push(dev);
  await dev.waitForStderr(/^export \w+_RESTRICTED=\S+$/m, 15_000);
  const pasted = Object.fromEntries([...dev.stderr.matchAll(/^export (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));

  const { output } = await npmStart({ ...pasted, GATEHOUSE_AUTH_KEY: SECRET });
  assert.not.match(output().stderr, 'unknown setting');
  const token = await npm(['exec', '--', 'gatehouse', 'token', '--sub', 'pasted'], { env: { ...pasted, GATEHOUSE_AUTH_KEY: SECRET } });
  assert.is(token.code, 0, token.stderr);
  assert.match(token.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  assert.equal(Object.keys(pasted), ['SAMPLE_TOKEN', 'SAMPLE_TOKEN_RESTRICTED']);
});

test('a failing npm start or npx gatehouse writes no JSON error to stdout (npm is not in JSON mode); npm ci prints text', async () => {
  const bad = await npm(['start'], { env: { GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_PORTT: '9000' } });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, 'GATEHOUSE_PORTT: unknown setting; did you mean GATEHOUSE_PORT?');
  assert.is(logOf(bad.stdout), '', 'nothing but the banner on stdout');

  const token = await npm(['exec', '--', 'gatehouse', 'token', '--sub', 'x']);
  assert.is(token.code, 2);
  assert.is(token.stdout, '', 'what $(npx gatehouse token) captures is empty');
  assert.match(token.stderr, 'no key is configured');

  assert.is((await npm(['config', 'get', 'json'])).stdout.trim(), 'false');
});

test('npm start without a build says to run npm run build: one line, status 2, no stack trace', async () => {
  const dir = join(work, 'unbuilt');
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  copyFileSync(join(ROOT, 'bin', 'gatehouse.js'), join(dir, 'bin', 'gatehouse.js'));
  const r = await npm(['start'], { cwd: dir, env: { GATEHOUSE_AUTH_KEY: SECRET } });
  assert.is(r.code, 2);
  assert.match(r.stderr, /^gatehouse: \S+dist\/server\/main\.js is missing; run `npm run build`/m);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
});

test.run();
