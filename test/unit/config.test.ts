import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type GatewayConfig } from '../../server/config';
import { defaultHandshakeRate } from '../../server/floods/settings';

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!!';
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
let fileNo = 0;

function file(content: string | Buffer): string {
  const path = join(dir, `f${fileNo++}`);
  writeFileSync(path, content);
  return path;
}

function load(env: Record<string, string>, configFile?: string): GatewayConfig {
  return loadConfig({ env, configFile });
}

/** The problems loadConfig reports; fails the test when it accepts the configuration. */
function problemsOf(env: Record<string, string>, configFile?: string): string[] {
  try {
    load(env, configFile);
  } catch (err) {
    assert.instance(err, ConfigError);
    return [...(err as ConfigError).problems];
  }
  assert.unreachable('the configuration was accepted');
  return [];
}

/** The names of the variables the problems are about (what precedes the first colon). */
const namesOf = (problems: string[]) => problems.map((p) => p.split(':')[0]).sort();

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('defaults', () => {
  const c = load({ GATEHOUSE_AUTH_KEY: SECRET });
  assert.is(c.port, 8000);
  assert.is(c.host, '0.0.0.0');
  assert.is(c.clockToleranceMs, 5000);
  assert.is(c.maxTokenLifetimeMs, 24 * 3600 * 1000);
  assert.is(c.tokenTtlMs, 15 * 60 * 1000);
  assert.is(c.maxPayload, 64 * 1024);
  assert.is(c.shutdownTimeoutMs, 10_000);
  assert.is(c.logLevel, 'info');
  assert.is(c.origins, undefined);
  assert.is(c.issuer, undefined);
  assert.is(c.audience, undefined);
  assert.is(c.redisUrl, undefined);
  assert.is(c.devMode, false);
  assert.is(c.authKey?.toString('utf8'), SECRET);
  assert.ok(Object.isFrozen(c));
});

test('every problem is listed at once, each naming its variable', () => {
  const problems = problemsOf({
    GATEHOUSE_PORT: '70000',
    GATEHOUSE_AUTH_KEY: 'short',
    GATEHOUSE_TOKEN_TTL: '15 minutes',
    GATEHOUSE_PROT: '8000',
  });
  assert.equal(namesOf(problems), ['GATEHOUSE_AUTH_KEY', 'GATEHOUSE_PORT', 'GATEHOUSE_PROT', 'GATEHOUSE_TOKEN_TTL']);
  // Each says what would be valid.
  assert.match(
    problems.find((p) => p.startsWith('GATEHOUSE_PORT'))!,
    '0 to 65535',
  );
  assert.match(
    problems.find((p) => p.startsWith('GATEHOUSE_AUTH_KEY'))!,
    'at least 32',
  );
  assert.match(
    problems.find((p) => p.startsWith('GATEHOUSE_TOKEN_TTL'))!,
    '15m',
  );
  assert.match(
    problems.find((p) => p.startsWith('GATEHOUSE_PROT'))!,
    'unknown setting',
  );
});

test('handshake pacing and the connection cap: defaults, 0 turns each off, and bad values name the setting and what is valid', () => {
  const c = load({ GATEHOUSE_AUTH_KEY: SECRET });
  assert.is(c.maxHandshakeRate, defaultHandshakeRate(availableParallelism(), 1));
  assert.is(load({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_MAX_HANDSHAKE_RATE: 'auto' }).maxHandshakeRate, c.maxHandshakeRate);
  assert.is(load({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_MAX_HANDSHAKE_RATE: '1600' }).maxHandshakeRate, 1600);
  assert.is(c.maxLoopDelayMs, 50);
  const off = load({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_MAX_HANDSHAKE_RATE: '0', GATEHOUSE_MAX_LOOP_DELAY: '0' });
  assert.is(off.maxHandshakeRate, 0);
  assert.is(off.maxLoopDelayMs, 0);
  assert.is(load({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_MAX_CONNECTIONS: '50000' }).maxConnections, 50_000);
  const problems = problemsOf({
    GATEHOUSE_AUTH_KEY: SECRET,
    GATEHOUSE_MAX_HANDSHAKE_RATE: 'fast',
    GATEHOUSE_MAX_LOOP_DELAY: '2 minutes',
    GATEHOUSE_MAX_CONNECTIONS: '-1',
  });
  assert.equal(namesOf(problems), ['GATEHOUSE_MAX_CONNECTIONS', 'GATEHOUSE_MAX_HANDSHAKE_RATE', 'GATEHOUSE_MAX_LOOP_DELAY']);
  assert.match(problems.join('\n'), 'whole number from 0');
  assert.match(problems.join('\n'), `or auto (here ${c.maxHandshakeRate}:`);
  assert.match(problems.join('\n'), '500ms');
});

test('the default handshake rate is 750 a second per core a node has to itself, never below 50', () => {
  assert.is(defaultHandshakeRate(1, 1), 750);
  assert.is(defaultHandshakeRate(8, 1), 750, 'one node is one event loop: more cores do not raise its rate');
  assert.is(defaultHandshakeRate(8, 8), 750);
  assert.is(defaultHandshakeRate(2, 6), 250, 'six workers on two cores: a third of a core each');
  assert.is(defaultHandshakeRate(1, 256), 50);
  assert.is(defaultHandshakeRate(0, 0), 750, 'a machine that reports no cores counts as one');
});

test('several workers share the cores: the default handshake rate of each is its share, and a number set wins', () => {
  const env = { GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_REDIS_URL: 'redis://127.0.0.1:6390' };
  const workers = availableParallelism() * 3;
  assert.is(load({ ...env, GATEHOUSE_WORKERS: String(workers) }).maxHandshakeRate, defaultHandshakeRate(availableParallelism(), workers));
  assert.is(load({ ...env, GATEHOUSE_WORKERS: String(workers), GATEHOUSE_MAX_HANDSHAKE_RATE: '900' }).maxHandshakeRate, 900);
});

test('the ConfigError message lists every problem on its own line', () => {
  try {
    load({ GATEHOUSE_PORT: 'x', GATEHOUSE_LOG_LEVEL: 'loud', GATEHOUSE_AUTH_KEY: SECRET });
    assert.unreachable();
  } catch (err) {
    const lines = (err as Error).message.split('\n').filter((l) => l.startsWith('  - '));
    assert.is(lines.length, 2);
  }
});

const invalid: [string, Record<string, string>][] = [
  ['GATEHOUSE_PORT', { GATEHOUSE_PORT: '-1' }],
  ['GATEHOUSE_PORT', { GATEHOUSE_PORT: 'http' }],
  ['GATEHOUSE_HOST', { GATEHOUSE_HOST: 'example.com' }],
  ['GATEHOUSE_CLOCK_TOLERANCE', { GATEHOUSE_CLOCK_TOLERANCE: '1h' }],
  ['GATEHOUSE_MAX_TOKEN_LIFETIME', { GATEHOUSE_MAX_TOKEN_LIFETIME: 'forever' }],
  ['GATEHOUSE_TOKEN_TTL', { GATEHOUSE_TOKEN_TTL: '500ms' }],
  ['GATEHOUSE_ORIGINS', { GATEHOUSE_ORIGINS: 'https://ok.example,app.example.com' }],
  ['GATEHOUSE_ORIGINS', { GATEHOUSE_ORIGINS: 'https://app.example.com/path' }],
  ['GATEHOUSE_MAX_PAYLOAD', { GATEHOUSE_MAX_PAYLOAD: '1GiB' }],
  ['GATEHOUSE_MAX_PAYLOAD', { GATEHOUSE_MAX_PAYLOAD: '10' }],
  ['GATEHOUSE_MAX_PAYLOAD', { GATEHOUSE_MAX_PAYLOAD: '8KiB' }],
  ['GATEHOUSE_REDIS_URL', { GATEHOUSE_REDIS_URL: 'localhost:6379' }],
  ['GATEHOUSE_SHUTDOWN_TIMEOUT', { GATEHOUSE_SHUTDOWN_TIMEOUT: '0' }],
  ['GATEHOUSE_PING_INTERVAL', { GATEHOUSE_PING_INTERVAL: '500ms' }],
  ['GATEHOUSE_PING_INTERVAL', { GATEHOUSE_PING_INTERVAL: '2m' }],
  ['GATEHOUSE_PING_INTERVAL', { GATEHOUSE_PING_INTERVAL: 'often' }],
  ['GATEHOUSE_LOG_LEVEL', { GATEHOUSE_LOG_LEVEL: 'verbose' }],
  ['GATEHOUSE_SIGNING_KEY_ID', { GATEHOUSE_SIGNING_KEY_ID: 'k1' }],
];
for (const [name, env] of invalid) {
  test(`${name}=${Object.values(env)[0]} is refused, naming ${name}`, () => {
    assert.equal(namesOf(problemsOf({ GATEHOUSE_AUTH_KEY: SECRET, ...env })), [name]);
  });
}

test('valid settings are read into their units', () => {
  const c = load({
    GATEHOUSE_AUTH_KEY: SECRET,
    GATEHOUSE_PORT: '9001',
    GATEHOUSE_HOST: '::1',
    GATEHOUSE_ISSUER: 'https://auth.example',
    GATEHOUSE_AUDIENCE: 'a, b',
    GATEHOUSE_CLOCK_TOLERANCE: '500ms',
    GATEHOUSE_MAX_TOKEN_LIFETIME: '1h',
    GATEHOUSE_TOKEN_TTL: '30',
    GATEHOUSE_RENEW_INTERVAL: '10s',
    GATEHOUSE_ORIGINS: 'https://app.example.com:443, http://localhost:3000',
    GATEHOUSE_MAX_PAYLOAD: '1MiB',
    GATEHOUSE_REDIS_URL: 'redis://127.0.0.1:6390',
    GATEHOUSE_SHUTDOWN_TIMEOUT: '3s',
    GATEHOUSE_PING_INTERVAL: '25s',
    GATEHOUSE_LOG_LEVEL: 'warn',
  });
  assert.is(c.pingIntervalMs, 25_000);
  assert.is(c.pingTimeoutMs, 47_000);
  assert.is(c.port, 9001);
  assert.is(c.host, '::1');
  assert.is(c.issuer, 'https://auth.example');
  assert.equal(c.audience, ['a', 'b']);
  assert.is(c.clockToleranceMs, 500);
  assert.is(c.maxTokenLifetimeMs, 3_600_000);
  assert.is(c.tokenTtlMs, 30_000);
  // Normalised to what browsers send: the default port dropped.
  assert.equal(c.origins, ['https://app.example.com', 'http://localhost:3000']);
  assert.is(c.maxPayload, 1_048_576);
  assert.is(c.redisUrl, 'redis://127.0.0.1:6390');
  assert.is(c.shutdownTimeoutMs, 3000);
  assert.is(c.logLevel, 'warn');
});

test("the ping interval defaults to SocketCluster's own: every 8 s, a socket silent for 30 s dropped", () => {
  const c = load({ GATEHOUSE_AUTH_KEY: SECRET });
  assert.is(c.pingIntervalMs, 8000);
  assert.is(c.pingTimeoutMs, 30_000);
});

test('GATEHOUSE_ORIGINS=* allows any origin', () => {
  assert.is(load({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_ORIGINS: '*' }).origins, undefined);
});

test('an empty variable counts as unset', () => {
  const c = load({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_PORT: '', GATEHOUSE_ISSUER: '' });
  assert.is(c.port, 8000);
  assert.is(c.issuer, undefined);
});

test('variables outside GATEHOUSE_ are not ours to judge', () => {
  assert.is(load({ GATEHOUSE_AUTH_KEY: SECRET, PATH: '/bin', GATEHOUSEX: '1' }).port, 8000);
});

// --- secrets ---

test('the secret is taken as UTF-8 bytes', () => {
  const secret = 'ключ-ключ-ключ-ключ-ключ-ключ-ключ'; // 33 characters, more bytes
  assert.equal(load({ GATEHOUSE_AUTH_KEY: secret }).authKey, Buffer.from(secret, 'utf8'));
});

test('the 32-byte minimum counts bytes, not characters', () => {
  const shortInChars = 'é'.repeat(16); // 16 characters, 32 bytes
  assert.is(load({ GATEHOUSE_AUTH_KEY: shortInChars }).authKey?.length, 32);
  assert.equal(namesOf(problemsOf({ GATEHOUSE_AUTH_KEY: 'x'.repeat(31) })), ['GATEHOUSE_AUTH_KEY']);
});

test('GATEHOUSE_AUTH_KEY_FILE: one trailing newline is trimmed', () => {
  assert.equal(load({ GATEHOUSE_AUTH_KEY_FILE: file(`${SECRET}\n`) }).authKey, Buffer.from(SECRET));
  assert.equal(load({ GATEHOUSE_AUTH_KEY_FILE: file(`${SECRET}\r\n`) }).authKey, Buffer.from(SECRET));
  assert.equal(load({ GATEHOUSE_AUTH_KEY_FILE: file(SECRET) }).authKey, Buffer.from(SECRET));
});

test('GATEHOUSE_AUTH_KEY_FILE: only one newline is trimmed, other whitespace is part of the secret', () => {
  assert.equal(load({ GATEHOUSE_AUTH_KEY_FILE: file(`${SECRET}\n\n`) }).authKey, Buffer.from(`${SECRET}\n`));
  assert.equal(load({ GATEHOUSE_AUTH_KEY_FILE: file(` ${SECRET} \n`) }).authKey, Buffer.from(` ${SECRET} `));
});

test('GATEHOUSE_AUTH_KEY_FILE: binary content is taken as it is', () => {
  const bytes = Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 37) % 256).map((b) => (b === 0x0a ? 0x0b : b)));
  assert.equal(load({ GATEHOUSE_AUTH_KEY_FILE: file(bytes) }).authKey, bytes);
});

test('GATEHOUSE_AUTH_KEY_FILE: an unreadable file is an error naming it (and is not development mode)', () => {
  const problems = problemsOf({ GATEHOUSE_AUTH_KEY_FILE: '/nonexistent/gatehouse-secret' });
  assert.equal(namesOf(problems), ['GATEHOUSE_AUTH_KEY_FILE']);
  assert.match(problems[0], '/nonexistent/gatehouse-secret');
});

test('GATEHOUSE_AUTH_KEY_FILE: a short secret in the file is refused', () => {
  const path = file('short\n');
  assert.equal(namesOf(problemsOf({ GATEHOUSE_AUTH_KEY_FILE: path })), [`GATEHOUSE_AUTH_KEY_FILE (${path})`]);
});

test('GATEHOUSE_AUTH_KEY and GATEHOUSE_AUTH_KEY_FILE together are an error', () => {
  const problems = problemsOf({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_AUTH_KEY_FILE: file(SECRET) });
  assert.equal(namesOf(problems), ['GATEHOUSE_AUTH_KEY']);
  assert.match(problems[0], 'GATEHOUSE_AUTH_KEY_FILE');
});

// --- the --config file ---

test('--config: the file sets settings and the environment wins over it', () => {
  const path = file(JSON.stringify({ GATEHOUSE_PORT: 9100, GATEHOUSE_ISSUER: 'from-file', GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_AUDIENCE: ['x', 'y'] }));
  const c = load({ GATEHOUSE_PORT: '9200' }, path);
  assert.is(c.port, 9200);
  assert.is(c.issuer, 'from-file');
  assert.equal(c.audience, ['x', 'y']);
  assert.is(c.devMode, false);
});

test('--config: an unknown key in the file is an error', () => {
  const path = file(JSON.stringify({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_PROT: 9000, port: 1 }));
  const problems = problemsOf({}, path);
  assert.equal(
    namesOf(problems).map((n) => n.split(' ')[0]),
    ['GATEHOUSE_PROT', 'port'],
  );
  for (const p of problems) assert.match(p, path);
});

test('--config: values in the file are validated like the environment', () => {
  const path = file(JSON.stringify({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_PORT: 'eighty' }));
  assert.equal(namesOf(problemsOf({}, path)), ['GATEHOUSE_PORT']);
});

test('--config: a file that is not a JSON object, or a value of the wrong type, is an error naming the file', () => {
  for (const content of ['{not json', '[1,2]', '"text"', 'null']) {
    const path = file(content);
    const problems = problemsOf({ GATEHOUSE_AUTH_KEY: SECRET }, path);
    assert.is(problems.length, 1);
    assert.match(problems[0], path);
  }
  const nested = file(JSON.stringify({ GATEHOUSE_PORT: { value: 1 } }));
  assert.equal(
    namesOf(problemsOf({ GATEHOUSE_AUTH_KEY: SECRET }, nested)).map((n) => n.split(' ')[0]),
    ['GATEHOUSE_PORT'],
  );
});

test('--config: a missing file is an error naming it', () => {
  const problems = problemsOf({ GATEHOUSE_AUTH_KEY: SECRET }, join(dir, 'missing.json'));
  assert.match(problems[0], 'missing.json');
});

// --- production and development mode ---

test('NODE_ENV=production without a key refuses, naming GATEHOUSE_AUTH_KEY', () => {
  const problems = problemsOf({ NODE_ENV: 'production' });
  assert.equal(namesOf(problems), ['GATEHOUSE_AUTH_KEY']);
  assert.match(problems[0], 'GATEHOUSE_AUTH_KEY');
});

test('NODE_ENV=production with a key starts as configured', () => {
  const c = load({ NODE_ENV: 'production', GATEHOUSE_AUTH_KEY: SECRET });
  assert.is(c.production, true);
  assert.is(c.devMode, false);
  assert.is(c.host, '0.0.0.0');
});

test('NODE_ENV=production with login on and GATEHOUSE_ORIGINS unset refuses, naming GATEHOUSE_ORIGINS and how to allow any', () => {
  const login = { NODE_ENV: 'production', GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_LOGIN_URL: 'http://127.0.0.1:3000/login' };
  const problems = problemsOf(login);
  assert.equal(namesOf(problems), ['GATEHOUSE_ORIGINS']);
  assert.match(problems[0], 'GATEHOUSE_ORIGINS=*');
  assert.match(problems[0], 'GATEHOUSE_ORIGINS=https://app.example.com');
  const any = load({ ...login, GATEHOUSE_ORIGINS: '*' });
  assert.is(any.origins, undefined, '* allows any origin');
  assert.is(any.originsConfigured, true);
  assert.equal(load({ ...login, GATEHOUSE_ORIGINS: 'https://app.example.com' }).origins, ['https://app.example.com']);
  assert.is(load({ ...login, NODE_ENV: 'development' }).originsConfigured, false, 'outside production: a warning, not a refusal');
  assert.is(load({ NODE_ENV: 'production', GATEHOUSE_AUTH_KEY: SECRET }).originsConfigured, false, 'without login nothing to refuse');
});

test('development mode: no key at all makes an ephemeral key and forces 127.0.0.1', () => {
  const a = load({ GATEHOUSE_HOST: '0.0.0.0' });
  const b = load({});
  assert.is(a.devMode, true);
  assert.is(a.host, '127.0.0.1');
  assert.is(b.host, '127.0.0.1');
  assert.ok(a.authKey && a.authKey.length >= 32);
  assert.not.equal(a.authKey, b.authKey, 'each process gets its own random key');
});

test('a short key is an error, not development mode', () => {
  assert.equal(namesOf(problemsOf({ GATEHOUSE_AUTH_KEY: 'short' })), ['GATEHOUSE_AUTH_KEY']);
});

test('GATEHOUSE_TOKEN_TTL longer than GATEHOUSE_MAX_TOKEN_LIFETIME is refused', () => {
  const problems = problemsOf({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_TOKEN_TTL: '2h', GATEHOUSE_MAX_TOKEN_LIFETIME: '1h' });
  assert.equal(namesOf(problems), ['GATEHOUSE_TOKEN_TTL']);
  assert.match(problems[0], 'GATEHOUSE_MAX_TOKEN_LIFETIME');
  assert.is(load({ GATEHOUSE_AUTH_KEY: SECRET, GATEHOUSE_TOKEN_TTL: '1h', GATEHOUSE_MAX_TOKEN_LIFETIME: '1h' }).tokenTtlMs, 3_600_000);
});

test.run();
