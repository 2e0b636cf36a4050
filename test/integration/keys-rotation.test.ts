// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { runCli } from '../helpers/process';
import { useScope } from '../helpers/scope';
import { freePort } from '../helpers/redis-server';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rotation-'));
const scope = useScope(test);
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI as `npx gatehouse` runs it: bin/gatehouse.js on the build (npm test builds first). */
async function cli(args: string[], env: Record<string, string> = {}) {
  const r = await runCli(args, env, { entry: 'bin', ms: 30_000 });
  assert.is(r.code, 0, `gatehouse ${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** Whether the node accepts the token at the handshake, or the error's name. */
async function handshake(port: number, token: string): Promise<string> {
  const { status } = await scope.connect(port, token);
  return status.isAuthenticated ? 'authenticated' : (status.authError?.name ?? 'anonymous');
}

const kidsOf = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
const kidOf = (token: string) => jwt.decode(token, { complete: true })!.header.kid;

test('a full key rotation with the CLI alone: generate, add, SIGHUP, sign with the new kid, remove the old, SIGHUP', async () => {
  const jwks = join(dir, 'jwks.json');
  const oldDir = join(dir, 'old');
  const newDir = join(dir, 'new');
  await cli(['keys', 'generate', '--alg', 'ES256', '--out', oldDir]);
  const oldKid = kidsOf(join(oldDir, 'jwks.json'))[0];
  await cli(['keys', 'add', '--jwks', jwks, join(oldDir, 'jwks.json')]);
  assert.equal(kidsOf(jwks), [oldKid]);

  const port = await freePort();
  const node = scope.gatehouse(['start'], {
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_HOST: '127.0.0.1',
    GATEHOUSE_JWKS_FILE: jwks,
    GATEHOUSE_LOG_LEVEL: 'info',
  });
  await node.listeningPort();
  const signWith = async (keyDir: string) =>
    (
      await cli(['token', '--sub', 'rotating'], {
        GATEHOUSE_SIGNING_KEY_FILE: join(keyDir, 'signing-key.pem'),
      })
    ).stdout.trim();
  const oldToken = await signWith(oldDir);
  assert.is(kidOf(oldToken), oldKid);
  assert.is(await handshake(port, oldToken), 'authenticated');

  // The successor: a new key pair, its public half added to the live set, the node told.
  await cli(['keys', 'generate', '--alg', 'RS256', '--out', newDir]);
  const newKid = kidsOf(join(newDir, 'jwks.json'))[0];
  const added = await cli(['keys', 'add', '--jwks', jwks, join(newDir, 'signing-key.pem')]);
  assert.match(added.stdout, newKid, 'a PEM is named by its thumbprint, as keys generate named it');
  assert.equal(kidsOf(jwks), [oldKid, newKid]);
  const newToken = await signWith(newDir);
  assert.is(kidOf(newToken), newKid);
  assert.is(await handshake(port, newToken), 'AuthTokenInvalidError', 'not before SIGHUP');
  node.signal('SIGHUP');
  await node.waitForStdout(new RegExp(`"kids":\\["${oldKid}","${newKid}"\\].*JWK Set reloaded`));
  assert.is(await handshake(port, newToken), 'authenticated');
  assert.is(await handshake(port, oldToken), 'authenticated', 'old tokens still valid during the overlap');

  // The old key retired.
  await cli(['keys', 'remove', '--jwks', jwks, '--kid', oldKid]);
  assert.equal(kidsOf(jwks), [newKid]);
  node.signal('SIGHUP');
  await node.waitForStdout(new RegExp(`"kids":\\["${newKid}"\\].*JWK Set reloaded`));
  assert.is(await handshake(port, oldToken), 'AuthTokenInvalidError');
  assert.is(await handshake(port, newToken), 'authenticated');
});

test('keys add and remove refuse what would break the set, and change nothing', async () => {
  const jwks = join(dir, 'guarded.json');
  const a = join(dir, 'a');
  await cli(['keys', 'generate', '--alg', 'ES256', '--out', a, '--kid', 'k1']);
  await cli(['keys', 'add', '--jwks', jwks, join(a, 'jwks.json')]);
  const before = readFileSync(jwks, 'utf8');
  const b = join(dir, 'b');
  await cli(['keys', 'generate', '--alg', 'ES256', '--out', b]);

  const refusals: [string[], RegExp][] = [
    [['keys', 'remove', '--jwks', jwks, '--kid', 'k1'], /last key/],
    [['keys', 'remove', '--jwks', jwks, '--kid', 'nope'], /has no kid "nope" \(it has k1\)/],
    [['keys', 'add', '--jwks', jwks, '--kid', 'k1', join(b, 'signing-key.pem')], /kid "k1" already names another key/],
    [['keys', 'add', '--jwks', jwks, join(a, 'jwks.json')], /already holds k1; nothing to add/],
    [['keys', 'add', '--jwks', jwks, join(dir, 'missing.pem')], /cannot read .*missing\.pem \(ENOENT\)/],
    [['keys', 'add', '--jwks', jwks], /at least one SOURCE/],
  ];
  for (const [args, message] of refusals) {
    const r = await runCli(args, {}, { entry: 'bin' });
    assert.is(r.code, 2, args.join(' '));
    assert.match(r.stderr.split('\n')[0], message);
    assert.match(r.stderr, 'Usage: gatehouse keys');
    assert.is(readFileSync(jwks, 'utf8'), before, `${args.join(' ')} changed nothing`);
  }

  // A private key is never copied into the set: only the public half goes in.
  await cli(['keys', 'add', '--jwks', jwks, '--kid', 'k2', join(b, 'signing-key.pem')]);
  const set = JSON.parse(readFileSync(jwks, 'utf8')) as { keys: Record<string, unknown>[] };
  assert.equal(
    set.keys.map((k) => [k.kid, 'd' in k]),
    [
      ['k1', false],
      ['k2', false],
    ],
  );
});

test('keys generate warns when the private key lands where git would pick it up, and not where git ignores it', async () => {
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  execFileSync('git', ['init', '-q', repo]);
  const exposed = await cli(['keys', 'generate', '--alg', 'ES256', '--out', join(repo, 'secrets')]);
  assert.match(exposed.stderr, /^gatehouse keys: warning: .*secrets\/signing-key\.pem is inside the git work tree .*repo and git does not ignore it/);

  writeFileSync(join(repo, '.gitignore'), 'keys/\n');
  const ignored = await cli(['keys', 'generate', '--alg', 'ES256', '--out', join(repo, 'keys')]);
  assert.is(ignored.stderr, '');
  const outside = await cli(['keys', 'generate', '--alg', 'ES256', '--out', join(dir, 'outside')]);
  assert.is(outside.stderr, '');
});

test("the repository ignores keys/, where the README's keys generate writes", () => {
  const gitignore = readFileSync(join(__dirname, '..', '..', '.gitignore'), 'utf8').split('\n');
  assert.ok(gitignore.includes('keys/'));
});

test('keys generate advises what the README says: the gateway verifies with the JWK Set, the backend signs with the PEM', async () => {
  const out = join(dir, 'advice');
  const r = await cli(['keys', 'generate', '--alg', 'RS256', '--out', out]);
  const kid = kidsOf(join(out, 'jwks.json'))[0];
  assert.match(r.stdout, `GATEHOUSE_JWKS_FILE=${join(out, 'jwks.json')}`);
  assert.match(r.stdout, `keyid "${kid}"`);
  assert.match(r.stdout, `GATEHOUSE_SIGNING_KEY_FILE=${join(out, 'signing-key.pem')}\n`, 'no GATEHOUSE_SIGNING_KEY_ID needed for the default kid');
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  assert.match(readme, 'npx gatehouse keys generate --alg RS256 --out keys/');
  assert.match(readme, 'GATEHOUSE_JWKS_FILE=keys/jwks.json');
  assert.match(readme, "keyid: 'KID-FROM-JWKS'");
  assert.match(readme, 'npx gatehouse keys add --jwks');
});

test('a kid that starts with a dash (one thumbprint in 64 does) is taken as written after --kid', async () => {
  const jwks = join(dir, 'dashed.json');
  const dashed = join(dir, 'dashed');
  const other = join(dir, 'other');
  await cli(['keys', 'generate', '--alg', 'ES256', '--out', dashed, '--kid', '-dash']);
  await cli(['keys', 'generate', '--alg', 'ES256', '--out', other, '--kid', 'k9']);
  await cli(['keys', 'add', '--jwks', jwks, join(dashed, 'jwks.json'), join(other, 'jwks.json')]);
  assert.equal(kidsOf(jwks), ['-dash', 'k9']);
  await cli(['keys', 'remove', '--jwks', jwks, '--kid', '-dash']);
  assert.equal(kidsOf(jwks), ['k9']);
});

test.run();
