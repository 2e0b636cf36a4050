// budget: 120s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config';
import { ADMIN_KEY } from '../helpers/admin';
import { SECRET, nextEvent, storedToken, type ConnectStatus } from '../helpers/gateway';
import { FAST_SCRYPT } from '../helpers/login';
import { GatehouseProcess, cleanEnv } from '../helpers/process';
import { freePort } from '../helpers/redis-server';
import { hashPassword } from '../../server/login/password-hash';
import * as socketClusterClient from 'socketcluster-client';

// Every code block in the README is marked: `<!-- readme-block: ID -->` is run here as written (with the port, the
// kid and the PID it names filled in), `<!-- readme-block: not run (why) -->` says why it cannot run.

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'gatehouse.js');
const scratch = join(ROOT, '.tmp', `readme-${process.pid}`);
const work = mkdtempSync(join(tmpdir(), 'gatehouse-readme-'));
const processes: GatehouseProcess[] = [];
mkdirSync(scratch, { recursive: true });

test.after.each(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop()));
});
test.after(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

interface Block {
  readonly marker: string | undefined;
  readonly lang: string;
  readonly code: string;
  readonly line: number;
}

function readmeBlocks(): Block[] {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    const marker = /^<!-- readme-block: (.+) -->$/.exec(lines[i - 1] ?? '')?.[1];
    blocks.push({ marker, lang: open[1], code: lines.slice(i + 1, end).join('\n'), line: i + 1 });
    i = end;
  }
  return blocks;
}

function block(id: string): Block {
  const found = readmeBlocks().filter((b) => b.marker === id);
  assert.is(found.length, 1, `one README block marked ${id}`);
  return found[0];
}

/** Runs a program to its end (failing after `ms`): its status and output. */
function run(command: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; ms?: number } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd ?? ROOT, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not end within ${opts.ms ?? 15_000} ms\n${stderr}`));
    }, opts.ms ?? 15_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A shell block as written, but on the test's port and with `npx gatehouse` meaning this checkout's CLI. */
function shell(code: string, port: number, extra: Record<string, string> = {}): string {
  let text = code.replaceAll('127.0.0.1:8000', `127.0.0.1:${port}`).replaceAll('npx gatehouse', `node ${BIN}`);
  for (const [from, to] of Object.entries(extra)) text = text.replaceAll(from, to);
  return `set -euo pipefail\n${text}\n`;
}

async function node(env: Record<string, string>) {
  const port = await freePort();
  const p = new GatehouseProcess(['start'], { GATEHOUSE_PORT: String(port), GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_LOG_LEVEL: 'info', ...env }, 'bin');
  processes.push(p);
  await p.listeningPort(15_000);
  return { p, port };
}

async function authenticates(port: number, token: string): Promise<boolean> {
  const client = socketClusterClient.create({
    hostname: '127.0.0.1',
    port,
    autoReconnect: false,
    connectTimeout: 3000,
    authEngine: storedToken(token),
  });
  try {
    return (await nextEvent<ConnectStatus>(client, 'connect')).isAuthenticated;
  } finally {
    client.disconnect();
  }
}

const RUNNERS: Record<string, () => Promise<void>> = {
  async quickstart() {
    const { p, port } = await node({});
    await p.waitForStderr(/^export \w+_RESTRICTED=\S+$/m);
    // The printed export lines, as pasted into the shell that runs the quick start (and whatever comes next there).
    const pasted = Object.fromEntries([...p.stderr.matchAll(/^export (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
    const file = join(scratch, 'quickstart.mjs');
    writeFileSync(file, block('quickstart').code.replace('port: 8000', `port: ${port}`));
    const r = await run(process.execPath, [file], { env: pasted });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'authenticated\n');
    // The same shell still starts a gateway and mints tokens: no pasted name is one the config reader refuses.
    const next = await node({ ...pasted, GATEHOUSE_AUTH_KEY: SECRET });
    assert.not.match(next.p.stderr, 'unknown setting');
    const minted = await run(process.execPath, [BIN, 'token', '--sub', 'after-quickstart'], { env: { ...pasted, GATEHOUSE_AUTH_KEY: SECRET } });
    assert.is(minted.code, 0, minted.stderr);
  },

  async 'mint-hs256'() {
    const { port } = await node({ GATEHOUSE_AUTH_KEY: SECRET });
    const file = join(scratch, 'mint-hs256.js');
    writeFileSync(file, `${block('mint-hs256').code}\nconsole.log(token);\n`);
    const r = await run(process.execPath, [file], { env: { GATEHOUSE_AUTH_KEY: SECRET } });
    assert.is(r.code, 0, r.stderr);
    assert.ok(await authenticates(port, r.stdout.trim()));
  },

  async 'mint-rs256'() {
    const dir = join(work, 'mint');
    mkdirSync(dir);
    const generated = await run(process.execPath, [BIN, 'keys', 'generate', '--alg', 'RS256', '--out', 'keys/'], { cwd: dir, ms: 30_000 });
    assert.is(generated.code, 0, generated.stderr);
    const kid = (JSON.parse(readFileSync(join(dir, 'keys', 'jwks.json'), 'utf8')) as { keys: { kid: string }[] }).keys[0].kid;
    const { port } = await node({ GATEHOUSE_JWKS_FILE: join(dir, 'keys', 'jwks.json') });
    // The backend's script lives in the backend (here: beside keys/), requiring jsonwebtoken from its node_modules.
    const file = join(scratch, 'mint-rs256.js');
    writeFileSync(file, `process.chdir(${JSON.stringify(dir)});\n${block('mint-rs256').code.replace('KID-FROM-JWKS', kid)}\nconsole.log(token);\n`);
    const r = await run(process.execPath, [file]);
    assert.is(r.code, 0, r.stderr);
    assert.ok(await authenticates(port, r.stdout.trim()));
  },

  async rotation() {
    const dir = join(work, 'rotation');
    mkdirSync(dir);
    assert.is((await run(process.execPath, [BIN, 'keys', 'generate', '--alg', 'ES256', '--out', 'keys/'], { cwd: dir })).code, 0);
    const oldKid = (JSON.parse(readFileSync(join(dir, 'keys', 'jwks.json'), 'utf8')) as { keys: { kid: string }[] }).keys[0].kid;
    const { p, port } = await node({ GATEHOUSE_JWKS_FILE: join(dir, 'keys', 'jwks.json') });
    const r = await run('bash', ['-c', shell(block('rotation').code, port, { '<gateway pid>': String(p.pid), 'OLD-KID': oldKid })], { cwd: dir, ms: 60_000 });
    assert.is(r.code, 0, r.stderr);
    await p.waitForStdout(/JWK Set reloaded[\s\S]*JWK Set reloaded/);
    const kids = (JSON.parse(readFileSync(join(dir, 'keys', 'jwks.json'), 'utf8')) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    assert.is(kids.length, 1);
    assert.is.not(kids[0], oldKid);
    const signed = await run(process.execPath, [BIN, 'token', '--sub', 'rotated'], {
      env: { GATEHOUSE_SIGNING_KEY_FILE: join(dir, 'keys', 'next', 'signing-key.pem') },
      ms: 30_000,
    });
    assert.is(signed.code, 0, signed.stderr);
    assert.ok(await authenticates(port, signed.stdout.trim()), 'the new key verifies after the rotation');
  },

  async 'rules-file'() {
    const file = join(work, 'channels.json');
    writeFileSync(file, block('rules-file').code);
    const config = loadConfig({ env: { GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_CHANNELS_FILE: file } });
    assert.is(config.channelsFile, file);
  },

  'rules-file-presence'() {
    const file = join(work, 'channels-presence.json');
    writeFileSync(file, block('rules-file-presence').code);
    const config = loadConfig({ env: { GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_CHANNELS_FILE: file } });
    assert.equal(config.channelRules.presence, ['room:*']);
    return Promise.resolve();
  },

  async 'login-curl'() {
    const users = join(work, 'users.json');
    writeFileSync(users, JSON.stringify([{ username: 'alice', passwordHash: await hashPassword('correct horse', FAST_SCRYPT), sub: 'user-42' }]));
    const { port } = await node({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_USERS_FILE: users });
    const r = await run('bash', ['-c', shell(block('login-curl').code, port)]);
    assert.is(r.code, 0, r.stderr);
    const answer = JSON.parse(r.stdout) as { token: string; expiresAt: number };
    assert.ok(await authenticates(port, answer.token));
  },

  async 'admin-curl'() {
    const { port } = await node({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_NODE_ID: 'readme-node' });
    const r = await run('bash', ['-c', shell(block('admin-curl').code, port)], { env: { GATEHOUSE_ADMIN_KEY: ADMIN_KEY } });
    assert.is(r.code, 0, r.stderr);
    const answers = r.stdout
      .replaceAll('}{', '}\n{')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.is(answers.length, 3, r.stdout);
    assert.equal(
      (answers[0].nodes as { nodeId: string }[]).map((n) => n.nodeId),
      ['readme-node'],
    );
    assert.is((answers[1].revoked as { kind: string }).kind, 'sub');
    assert.not.ok('error' in answers[2], r.stdout);
  },
};

test('every README code block is either run here or says why it cannot run', () => {
  const blocks = readmeBlocks();
  assert.ok(blocks.length >= 10);
  for (const b of blocks) assert.ok(b.marker, `README line ${b.line}: a \`\`\`${b.lang} block without a readme-block marker`);
  const runnable = blocks.map((b) => b.marker!).filter((m) => !m.startsWith('not run ('));
  assert.equal([...runnable].sort(), Object.keys(RUNNERS).sort());
});

for (const [id, runner] of Object.entries(RUNNERS)) test(`README block "${id}" runs as written`, runner);

test('the scripts this test writes into the checkout sit where git ignores them', () => {
  assert.is(execFileSync('git', ['check-ignore', scratch], { cwd: ROOT, encoding: 'utf8' }).trim(), scratch);
});

test.run();
