// Measures how long a revocation takes to close a socket on another node: a gateway runs as a child process
// (`gatehouse start`), this process revokes through Redis as another node or the CLI would, and times from the revoke
// call to the client's `close` event. Everything runs on 127.0.0.1 with a private redis-server.
//   npx tsx scripts/revocation-latency.ts [samples=200] [burst=200]
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import * as socketClusterClient from 'socketcluster-client';
import type { AGClientSocket } from 'socketcluster-client';
import { RedisRevocationStore } from '../server/revocation/redis-store';
import { mintHs256, nextEvent, SECRET, storedToken, waitFor } from '../test/helpers/gateway';
import { freePort, TestRedis } from '../test/helpers/redis-server';

const samples = Number(process.argv[2] ?? 200);
const burst = Number(process.argv[3] ?? 200);
const ROOT = new URL('..', `file://${__filename}`).pathname;

async function startNode(redisUrl: string, port: number): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
  Object.assign(env, {
    GATEHOUSE_HOST: '127.0.0.1',
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_AUTH_KEY: SECRET,
    GATEHOUSE_REDIS_URL: redisUrl,
    GATEHOUSE_LOG_LEVEL: process.env.NODE_LOG ?? 'warn',
  });
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', 'start'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', process.env.NODE_LOG ? 'inherit' : 'ignore', 'ignore'],
  });
  await waitFor(
    async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
    20_000,
    'the node to be ready',
  );
  return child;
}

async function connect(port: number, claims: Record<string, unknown>): Promise<AGClientSocket> {
  const client = socketClusterClient.create({
    hostname: '127.0.0.1',
    port,
    autoReconnect: false,
    authEngine: storedToken(mintHs256(claims)),
  });
  const status = await nextEvent<{ isAuthenticated: boolean }>(client, 'connect');
  if (!status.isAuthenticated) throw new Error('client not authenticated');
  return client;
}

function summary(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(2);
  return `n=${s.length} min=${at(0)} median=${at(0.5)} p95=${at(0.95)} p99=${at(0.99)} max=${s[s.length - 1].toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const redis = await TestRedis.start();
  const port = await freePort();
  const node = await startNode(redis.url, port);
  const store = new RedisRevocationStore({
    target: { url: redis.url },
    timeoutMs: 500,
    origin: 'bench',
    subscribe: false,
    policy: { maxTokenLifetimeMs: 86_400_000, clockToleranceMs: 5000 },
  });
  try {
    await store.ready(3000);
    // One socket at a time: revoke its session, wait for its close.
    const single: number[] = [];
    for (let i = 0; i < samples; i += 1) {
      const client = await connect(port, { sub: `user-${i}`, sid: `sid-${i}`, jti: `jti-${i}` });
      await new Promise((r) => setTimeout(r, 5)); // let the node index it
      const closed = nextEvent(client, 'close', 5000);
      const started = performance.now();
      await store.revoke({ kind: 'sid', id: `sid-${i}` });
      await closed;
      single.push(performance.now() - started);
    }
    // Many sockets of one user at once: revoke the user, wait for the last close.
    const clients = await Promise.all(Array.from({ length: burst }, (_, i) => connect(port, { sub: 'crowd', sid: `crowd-${i}`, jti: `c-${i}` })));
    await new Promise((r) => setTimeout(r, 100));
    const closes: number[] = [];
    const started = performance.now();
    const all = Promise.all(clients.map((c) => nextEvent(c, 'close', 10_000).then(() => closes.push(performance.now() - started))));
    await store.revoke({ kind: 'sub', id: 'crowd' });
    await all;
    process.stdout.write(`revoke → close on another node, one socket at a time: ${summary(single)}\n`);
    process.stdout.write(`revoke a user with ${burst} sockets on another node → each close: ${summary(closes)}\n`);
  } finally {
    await store.close();
    node.kill('SIGTERM');
    await new Promise((r) => node.once('exit', r));
    await redis.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
