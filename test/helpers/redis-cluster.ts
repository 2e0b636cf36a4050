import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { bindOnce, isolatedRedisArgs } from './redis-server';

/** Redis Cluster's bus listens on the data port plus this offset; both must be free. */
const CLUSTER_BUS_OFFSET = 10_000;

/**
 * A private Redis Cluster for one test file: three masters, no replicas, every slot assigned, on free loopback ports,
 * with its node files in a temp directory. `close()` kills every process and removes the directory.
 */
export class TestRedisCluster {
  private readonly children: ChildProcess[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-cluster-'));

  private constructor(readonly ports: readonly number[]) {}

  /** Starts `masters` redis-server processes in cluster mode and joins them; resolves once cluster_state is ok. */
  static async start(masters = 3): Promise<TestRedisCluster> {
    const ports: number[] = [];
    while (ports.length < masters) {
      const port = await freeClusterPort();
      if (!ports.includes(port)) ports.push(port);
    }
    const cluster = new TestRedisCluster(ports);
    try {
      await cluster.boot();
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /** The seed list as GATEHOUSE_REDIS_CLUSTER takes it: `host:port,host:port,…`. */
  get seeds(): string {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(',');
  }

  /** A cluster client for the test's own checks; disconnect it in the test's teardown. */
  client(): InstanceType<typeof Redis.Cluster> {
    return new Redis.Cluster(
      this.ports.map((port) => ({ host: '127.0.0.1', port })),
      { redisOptions: { maxRetriesPerRequest: 1 } },
    );
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.splice(0).map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async boot(): Promise<void> {
    for (const port of this.ports) {
      const child = spawn(
        'redis-server',
        [
          ...isolatedRedisArgs(port, this.dir),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(this.dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '2000',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      this.children.push(child);
    }
    await Promise.all(this.ports.map((port) => waitForPing(port, 5000)));
    await run('redis-cli', ['--cluster', 'create', ...this.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], 20_000);
    await Promise.all(this.ports.map((port) => waitForClusterOk(port, 10_000)));
  }
}

/** A free loopback port whose cluster-bus companion (port + 10000) is free as well. */
async function freeClusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bindOnce(0);
    if (port + CLUSTER_BUS_OFFSET > 65_535) continue;
    try {
      await bindOnce(port + CLUSTER_BUS_OFFSET);
      return port;
    } catch {
      // The bus port is taken; try another.
    }
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function probe<T>(port: number, ask: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return await ask(r);
  } finally {
    r.disconnect();
  }
}

async function waitForPing(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await probe(port, (r) => r.ping());
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start within ${ms}ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function waitForClusterOk(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const info = await probe(port, (r) => r.cluster('INFO')).catch(() => '');
    if (info.includes('cluster_state:ok')) return;
    if (Date.now() > deadline) throw new Error(`Redis Cluster node ${port} not ok within ${ms}ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
