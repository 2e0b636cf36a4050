// budget: 60s
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import type { Gateway } from '../../server/gateway';
import type { GatehouseClaims } from '../../shared';
import { SECRET } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { run } from '../../server/cli/run';
import { runCli } from '../helpers/process';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
const scope = useScope(test);

test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Connects to the gateway with a token: whether it authenticated, the claims, and the error name if not. */
async function tryToken(gw: Gateway, token: string) {
  const { client, status } = await scope.connect(gw, token);
  return { ok: status.isAuthenticated, error: status.authError?.name, claims: client.authToken as GatehouseClaims | null };
}

test('gatehouse token prints a token the gateway accepts, with the claims asked for', async () => {
  const gw = await scope.gateway();
  const r = await runCli(['token', '--sub', 'x', '--ttl', '5m', '--channels', '["a"]', '--claim', 'role=admin', '--claim', 'level=3', '--claim', 'beta=true'], {
    GATEHOUSE_AUTH_KEY: SECRET,
  });
  assert.is(r.code, 0, r.stderr);
  const token = r.stdout.trim();
  assert.is(r.stdout, `${token}\n`, 'only the token, on one line');

  const { ok, claims } = await tryToken(gw, token);
  assert.ok(ok);
  assert.is(claims!.sub, 'x');
  assert.equal(claims!.channels, ['a']);
  assert.is(claims!.role, 'admin');
  assert.is(claims!.level, 3);
  assert.is(claims!.beta, true);
  assert.is(claims!.exp - claims!.iat!, 300);
  assert.ok(Math.abs(claims!.iat! - Date.now() / 1000) < 5);
  assert.ok(claims!.jti && claims!.sid);
});

test('gatehouse token stamps the configured issuer and audience; the TTL defaults to GATEHOUSE_TOKEN_TTL', async () => {
  const env = { GATEHOUSE_ISSUER: 'https://cli.test', GATEHOUSE_AUDIENCE: 'chat', GATEHOUSE_TOKEN_TTL: '2m', GATEHOUSE_RENEW_INTERVAL: '1m' };
  const gw = await scope.gateway(env);
  const r = await runCli(['token', '--sub', 'y'], { GATEHOUSE_AUTH_KEY: SECRET, ...env });
  assert.is(r.code, 0, r.stderr);
  const { ok, claims } = await tryToken(gw, r.stdout.trim());
  assert.ok(ok);
  assert.is(claims!.iss, 'https://cli.test');
  assert.is(claims!.aud, 'chat');
  assert.is(claims!.exp - claims!.iat!, 120);
});

test('npx gatehouse (bin/gatehouse.js) runs the same CLI; --config supplies the key', async () => {
  const gw = await scope.gateway();
  const config = join(dir, 'gatehouse.json');
  writeFileSync(config, JSON.stringify({ GATEHOUSE_AUTH_KEY: SECRET }));
  const r = await runCli(['token', '--sub', 'z', '--config', config], {}, { entry: 'bin' });
  assert.is(r.code, 0, r.stderr);
  assert.ok((await tryToken(gw, r.stdout.trim())).ok);
});

test('gatehouse keys generate --alg ES256 writes a PEM and a JWK Set a gateway can use', async () => {
  const out = join(dir, 'es256');
  const r = await runCli(['keys', 'generate', '--alg', 'ES256', '--out', out]);
  assert.is(r.code, 0, r.stderr);
  const keyFile = join(out, 'signing-key.pem');
  const jwksFile = join(out, 'jwks.json');
  assert.match(readFileSync(keyFile, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  assert.is(statSync(keyFile).mode & 0o777, 0o600);
  const jwks = JSON.parse(readFileSync(jwksFile, 'utf8')) as { keys: { kid: string; alg: string; kty: string; d?: string }[] };
  assert.is(jwks.keys.length, 1);
  const [{ kid, alg, kty, d }] = jwks.keys;
  assert.is(alg, 'ES256');
  assert.is(kty, 'EC');
  assert.is(d, undefined, 'no private part in the JWK Set');
  assert.match(r.stdout, kid);

  // A gateway that verifies with the JWK Set only, and one that signs with the PEM.
  const verifier = await scope.gateway({ GATEHOUSE_AUTH_KEY: '', GATEHOUSE_JWKS_FILE: jwksFile });
  const signer = await scope.gateway({ GATEHOUSE_SIGNING_KEY_FILE: keyFile, GATEHOUSE_JWKS_FILE: jwksFile });
  const issued = signer.engine.issue({ sub: 'k' }).token;
  assert.is(jwt.decode(issued, { complete: true })!.header.kid, kid);
  assert.ok((await tryToken(verifier, issued)).ok, 'the JWK Set verifies what the PEM signs');
  assert.ok((await tryToken(signer, issued)).ok);

  // The CLI signs with the PEM too, under its kid.
  const cli = await runCli(['token', '--sub', 'k2'], { GATEHOUSE_SIGNING_KEY_FILE: keyFile });
  assert.is(cli.code, 0, cli.stderr);
  assert.is(jwt.decode(cli.stdout.trim(), { complete: true })!.header.kid, kid);
  assert.ok((await tryToken(verifier, cli.stdout.trim())).ok);
});

test('gatehouse keys generate --alg RS256 --kid: an RSA key under the given kid', async () => {
  const out = join(dir, 'rs256');
  const r = await runCli(['keys', 'generate', '--alg', 'RS256', '--out', out, '--kid', 'rsa-2024'], {}, { ms: 30_000 });
  assert.is(r.code, 0, r.stderr);
  const jwksFile = join(out, 'jwks.json');
  assert.equal(
    (JSON.parse(readFileSync(jwksFile, 'utf8')) as { keys: { kid: string; alg: string }[] }).keys.map((k) => [k.kid, k.alg]),
    [['rsa-2024', 'RS256']],
  );
  const verifier = await scope.gateway({ GATEHOUSE_JWKS_FILE: jwksFile });
  const cli = await runCli(['token', '--sub', 'r'], {
    GATEHOUSE_SIGNING_KEY_FILE: join(out, 'signing-key.pem'),
    GATEHOUSE_SIGNING_KEY_ID: 'rsa-2024',
  });
  assert.is(cli.code, 0, cli.stderr);
  assert.ok((await tryToken(verifier, cli.stdout.trim())).ok);

  // It never overwrites a key.
  const again = await runCli(['keys', 'generate', '--alg', 'RS256', '--out', out]);
  assert.is(again.code, 2);
  assert.match(again.stderr, 'refusing to overwrite');
});

const badArgs: [string, string[], Record<string, string>][] = [
  ['an unknown option', ['start', '--bogus'], {}],
  ['a stray positional argument', ['start', 'now'], {}],
  ['token without --sub', ['token'], { GATEHOUSE_AUTH_KEY: SECRET }],
  ['token --sub without a value', ['token', '--sub'], { GATEHOUSE_AUTH_KEY: SECRET }],
  ['token with a bad --ttl', ['token', '--sub', 'x', '--ttl', 'soon'], { GATEHOUSE_AUTH_KEY: SECRET }],
  ['token with --ttl beyond GATEHOUSE_MAX_TOKEN_LIFETIME', ['token', '--sub', 'x', '--ttl', '2d'], { GATEHOUSE_AUTH_KEY: SECRET }],
  ['token with --ttl 0', ['token', '--sub', 'x', '--ttl', '0'], { GATEHOUSE_AUTH_KEY: SECRET }],
  ['token with --channels that is not JSON', ['token', '--sub', 'x', '--channels', '[a'], { GATEHOUSE_AUTH_KEY: SECRET }],
  ['token with a --claim without =', ['token', '--sub', 'x', '--claim', 'role'], { GATEHOUSE_AUTH_KEY: SECRET }],
  ['token with no key configured', ['token', '--sub', 'x'], {}],
  ['keys without a verb', ['keys'], {}],
  ['keys with an unknown verb', ['keys', 'rotate'], {}],
  ['keys generate without --alg', ['keys', 'generate', '--out', 'unused'], {}],
  ['keys generate with HS256', ['keys', 'generate', '--alg', 'HS256', '--out', 'unused'], {}],
];

/** Runs the CLI in this process (as main.ts does) with the given environment, capturing what it writes. */
async function runInProcess(args: string[], env: Record<string, string>) {
  let stdout = '';
  let stderr = '';
  const code = await run(args, env, {
    stdout: {
      write: (t: string) => {
        stdout += t;
      },
    },
    stderr: {
      write: (t: string) => {
        stderr += t;
      },
    },
  });
  return { code, stdout, stderr };
}

for (const [name, args, env] of badArgs) {
  test(`bad arguments print one line and that command's usage, and exit 2: ${name}`, async () => {
    const r = await runInProcess(args, env);
    const command = args[0];
    assert.is(r.code, 2, `${name}: exit ${r.code}\n${r.stderr}`);
    const [first, blank, usage] = r.stderr.split('\n');
    assert.match(first, new RegExp(`^gatehouse ${command}: .+`));
    assert.is(blank, '');
    assert.match(usage, new RegExp(`^Usage: gatehouse ${command} `));
    assert.not.match(r.stderr, 'Commands:', 'not the whole usage');
    for (const other of ['token --sub', 'revoke --jti', 'keys generate', 'hash-password']) {
      if (!other.startsWith(command)) assert.not.match(r.stderr, other, `only the usage of ${command}`);
    }
    assert.is(r.stdout, '');
  });
}

test('an unknown command is one line naming the commands, status 2', async () => {
  const r = await runInProcess(['frobnicate'], {});
  assert.is(r.code, 2);
  assert.is(r.stderr, 'gatehouse: unknown command "frobnicate" (commands: start, token, revoke, keys, hash-password; see gatehouse --help)\n');
  assert.is(r.stdout, '');
});

test('bad arguments exit the real process with status 2', async () => {
  const results = await Promise.all([runCli(['frobnicate']), runCli(['token', '--sub'], { GATEHOUSE_AUTH_KEY: SECRET })]);
  for (const r of results) {
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /^gatehouse/);
    assert.is(r.stdout, '');
  }
  assert.match(results[1].stderr, 'Usage: gatehouse token');
  assert.not.ok(existsSync(join(process.cwd(), 'unused')), 'nothing was written for refused arguments');
});

test('help prints usage and exits 0', async () => {
  const r = await runInProcess(['--help'], {});
  assert.is(r.code, 0);
  assert.match(r.stdout, 'Usage: gatehouse');
  for (const command of ['start', 'token', 'revoke', 'keys', 'hash-password']) assert.match(r.stdout, `  ${command}`);
});

for (const command of ['start', 'token', 'revoke', 'keys', 'hash-password']) {
  test(`gatehouse ${command} --help prints that command's usage and exits 0, doing nothing else`, async () => {
    for (const args of [
      [command, '--help'],
      [command, '-h'],
      ['help', command],
    ]) {
      const r = await runInProcess(args, {});
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Usage: gatehouse ${command}`));
      assert.not.match(r.stdout, 'Commands:');
      assert.is(r.stderr, '');
    }
  });
}

test('gatehouse start --check: a valid configuration is one line and status 0, without listening or reaching Redis', async () => {
  // The port is taken and Redis is not there: a start would stop with status 2, a check does not try either.
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  try {
    const taken = (blocker.address() as { port: number }).port;
    const r = await runCli(
      ['start', '--check'],
      {
        GATEHOUSE_AUTH_KEY: SECRET,
        GATEHOUSE_HOST: '127.0.0.1',
        GATEHOUSE_PORT: String(taken),
        GATEHOUSE_REDIS_URL: `redis://127.0.0.1:${taken}`,
      },
      { entry: 'bin' },
    );
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, `gatehouse: the configuration is valid (keys configured); a start would listen on 127.0.0.1:${taken}\n`);
    assert.is(r.stderr, '', 'no start-up summary, no development-mode notice');
  } finally {
    blocker.close();
  }
  const dev = await runInProcess(['start', '--check'], {});
  assert.is(dev.code, 0);
  assert.match(dev.stdout, 'valid (development mode: no key is configured); a start would listen on 127.0.0.1:8000');
});

test('gatehouse start --check lists every problem, as a start does, and exits 2', async () => {
  const r = await runInProcess(['start', '--check'], { GATEHOUSE_AUTH_KEY: 'short', GATEHOUSE_PORT: 'eighty', GATEHOUSE_ORIGNS: 'x' });
  assert.is(r.code, 2);
  assert.match(r.stderr, 'GATEHOUSE_AUTH_KEY');
  assert.match(r.stderr, 'GATEHOUSE_PORT');
  assert.match(r.stderr, 'GATEHOUSE_ORIGNS: unknown setting; did you mean GATEHOUSE_ORIGINS?');
  assert.is(r.stdout, '');
  const help = await runInProcess(['--help'], {});
  assert.match(help.stdout, '  start [--config FILE] [--check]');
  assert.match((await runInProcess(['start', '--help'], {})).stdout, /--check +validates the configuration/);
});

test('gatehouse --version prints the package version, in the real process and through the bin', async () => {
  const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  for (const entry of ['main', 'bin'] as const) {
    const r = await runCli(['--version'], {}, { entry });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, `${version}\n`);
  }
});

test.run();
