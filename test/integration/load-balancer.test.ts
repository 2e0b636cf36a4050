// budget: 90s
// The README's nginx block ("Running several nodes") in front of two real nodes sharing a Redis: a client connects
// through it, its node stops, and it is back, authenticated, on the other node. Without nginx installed (it is not
// among what .ci/run installs) only the block's own checks run, and the test says so.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CloseCode } from '../../shared';
import { mintHs256, nextEvent, storedToken, testConfig, waitFor, type ConnectStatus } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { GatewayProcess } from '../helpers/gateway-process';
import { freePort } from '../helpers/redis-server';

const ROOT = join(__dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const block = /<!-- readme-block: not run \(nginx[^\n]*-->\n```nginx\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
const nginx = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'].map((dir) => join(dir, 'nginx')).find((path) => existsSync(path));

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-nginx-'));
const scope = useScope(test);
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Stops nginx politely (SIGTERM), and outright if it is still there after 5 s. */
async function stopProxy(proxy: ChildProcess): Promise<void> {
  if (proxy.exitCode !== null || proxy.signalCode !== null) return;
  const gone = new Promise((resolve) => proxy.once('exit', resolve));
  proxy.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([gone, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
  clearTimeout(timer);
  if (proxy.exitCode === null && proxy.signalCode === null) proxy.kill('SIGKILL');
}

/** The address the block's comment tells every node to trust. */
function trustedProxy(): string {
  const m = /GATEHOUSE_TRUST_PROXY=(\S+?)(?=[\s(])/.exec(block);
  assert.ok(m, 'the block names GATEHOUSE_TRUST_PROXY');
  return m[1];
}

test('the README block upgrades WebSockets, keeps idle sockets, forwards the client address, and trusts its own address', () => {
  assert.ok(block, 'README has the nginx block');
  for (const line of [
    'proxy_http_version 1.1;',
    'proxy_set_header Upgrade $http_upgrade;',
    'proxy_set_header Connection $connection_upgrade;',
    'proxy_set_header Host $host;',
    'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
  ]) {
    assert.match(block, line);
  }
  const idle = /proxy_read_timeout (\d+)([smh]);/.exec(block);
  assert.ok(idle && Number(idle[1]) * { s: 1, m: 60, h: 3600 }[idle[2] as 's' | 'm' | 'h'] > 60, 'idle sockets outlive 60 s');
  // Every node allows its own origin (scheme and Host), so a proxy that passed any name on would make a page on a name
  // an attacker points at the proxy (DNS rebinding) same-origin: the block answers its own name only.
  assert.match(block, /server_name \S+;/, 'the block names its host');
  assert.match(block, /listen 80 default_server;\s*return 444;/, 'any other name is closed without an answer');
  // The node setting is valid as written, and names the address the block says the proxy has.
  assert.is(testConfig({ GATEHOUSE_TRUST_PROXY: trustedProxy() }).trustProxy.length, 1);
  assert.match(readme, `With nginx (here on ${trustedProxy()}`);
});

test("two nodes behind the README's nginx: a client connects through it, and when its node stops it is back on the other", async () => {
  if (!nginx) {
    // CI installs nginx (.ci/run): there a missing one is a broken install step, not a reason to skip.
    assert.not.ok(process.env.CI, 'nginx is missing on CI: .ci/run installs nginx-light');
    console.log('  (nginx is not installed: the two-node run is skipped; apt-get install nginx-light runs it)');
    return;
  }
  const redis = await scope.redis();
  // The nodes see the proxy at 127.0.0.1, where the README's proxy is 10.0.0.5.
  const env = { GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_TRUST_PROXY: trustedProxy().replace('10.0.0.5', '127.0.0.1') };
  const nodes = await Promise.all([scope.process({ ...env, GATEHOUSE_NODE_ID: 'lb-a' }, 40_000), scope.process({ ...env, GATEHOUSE_NODE_ID: 'lb-b' }, 40_000)]);
  const [a, b] = nodes;
  const port = await freePort();
  const site = block
    .replace('10.0.0.11:8000', `127.0.0.1:${a.port}`)
    .replace('10.0.0.12:8000', `127.0.0.1:${b.port}`)
    .replace(/listen 80( default_server)?;/g, `listen 127.0.0.1:${port}$1;`)
    .replace(/server_name \S+;/, 'server_name 127.0.0.1;');
  // nginx's workers may run as another user (nobody, when the test runs as root): they write their temp files here.
  chmodSync(dir, 0o777);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'daemon off;',
      'events { worker_connections 64; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
      site,
      '}',
    ].join('\n'),
  );
  const args = ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf];
  const syntax = spawnSync(nginx, ['-t', ...args], { encoding: 'utf8', timeout: 10_000 });
  assert.is(syntax.status, 0, syntax.stderr);

  const proxy = scope.own(spawn(nginx, args, { stdio: ['ignore', 'ignore', 'pipe'] }), stopProxy, 'nginx');
  let proxyErrors = '';
  proxy.stderr.setEncoding('utf8').on('data', (d: string) => {
    proxyErrors += d;
  });
  await waitFor(
    async () =>
      (await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status,
        () => 0,
      )) === 200,
    10_000,
    `nginx on ${port}: ${proxyErrors}`,
  );

  const client = scope.client(port, {
    autoReconnect: true,
    connectTimeout: 5000,
    ackTimeout: 3000,
    authEngine: storedToken(mintHs256({ sub: 'behind-nginx' })),
    autoReconnectOptions: { initialDelay: 200, randomness: 100, multiplier: 1, maxDelay: 500 },
  });
  assert.is((await nextEvent<ConnectStatus>(client, 'connect', 10_000)).isAuthenticated, true, 'upgraded and authenticated through nginx');

  // A name the block does not serve (a DNS rebinding attacker's) gets no answer, so no page on it reaches a node.
  const otherName = await new Promise<string>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/healthz', headers: { host: 'rebound.evil.example' } }, (res) => {
      res.resume();
      resolve(`answered ${res.statusCode}`);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.setTimeout(5000, () => req.destroy(new Error('no answer in 5 s')));
    req.end();
  });
  assert.is(otherName, 'ECONNRESET', 'another Host is closed unanswered');

  const connections = async (node: GatewayProcess) => {
    const text = await (await fetch(`http://127.0.0.1:${node.port}/metrics`)).text();
    return Number(/^gatehouse_connections(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? NaN);
  };
  const counts = await Promise.all(nodes.map(connections));
  assert.equal([...counts].sort(), [0, 1], `one node holds the client: ${counts.join(', ')}`);
  const [serving, other] = counts[0] === 1 ? [a, b] : [b, a];

  const closed = nextEvent<{ code: number }>(client, 'close', 10_000);
  const back = nextEvent<ConnectStatus>(client, 'connect', 20_000);
  await serving.stop();
  assert.is((await closed).code, CloseCode.ShuttingDown);
  assert.is((await back).isAuthenticated, true, 'back, authenticated, through nginx');
  assert.is(await connections(other), 1, 'on the other node');
});

test.run();
