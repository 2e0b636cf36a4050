// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SECRET } from '../helpers/gateway';
import { logLineProblems, logMessages } from '../helpers/log-lines';
import { cleanEnv } from '../helpers/process';
import { freePort } from '../helpers/redis-server';

const ROOT = join(__dirname, '..', '..');
const children: ChildProcess[] = [];

test.after.each(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

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
    const status = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(500) }).then((r) => r.status, () => 0);
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`npm start did not turn ready on ${port} within ${ms} ms`);
}

/** `npm start` as a newcomer runs it; resolves once the node is ready, with npm's PID and the one process it started. */
async function npmStart() {
  const port = await freePort();
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: cleanEnv({ GATEHOUSE_PORT: String(port), GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_SHUTDOWN_TIMEOUT: '2s' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(npm);
  let stdout = '';
  let stderr = '';
  npm.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  npm.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    npm.once('close', (code, signal) => resolve({ code, signal }));
  });
  await ready(port, 20_000);
  return { npm, port, exited, output: () => ({ stdout, stderr }) };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to the PID of npm start ends the gateway with status 0 and frees the port; one process, no banner on stdout`, async () => {
    const { npm, port, exited, output } = await npmStart();
    // npm's script runs `exec node …`: npm's only child is the gateway itself, not a shell or a loader in between.
    const started = childrenOf(npm.pid!);
    assert.is(started.length, 1, JSON.stringify(started));
    assert.equal(started[0].args.slice(1), ['dist/server/main.js', 'start']);
    assert.equal(childrenOf(started[0].pid), [], 'the gateway starts no process of its own');

    npm.kill(signal);
    const exit = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('npm start did not exit')), 8000))]);
    assert.equal(exit, { code: 0, signal: null }, output().stderr);
    assert.not.ok(alive(started[0].pid), 'the gateway is gone');
    assert.ok(await portFree(port), 'the port is free');

    const { stdout, stderr } = output();
    assert.equal(logLineProblems(stdout), [], 'stdout holds JSON lines only');
    assert.match(stderr, '> gatehouse@', "npm's banner went to stderr");
    assert.equal(logMessages(stdout).filter((m) => /shut/.test(m)), ['shutting down', 'shut down']);
    assert.match(stdout, `"signal":"${signal}"`);
  });
}

test.run();
