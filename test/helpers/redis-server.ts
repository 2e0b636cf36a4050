import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';

/** A free TCP port on 127.0.0.1 (the kernel picks; a tiny race is accepted). */
export function freePort(): Promise<number> {
  return bindOnce(0);
}

/** Binds `port` on 127.0.0.1 (0: any) and lets it go: the port bound, or a rejection when it is taken. */
export function bindOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const bound = (srv.address() as { port: number }).port;
      srv.close(() => resolve(bound));
    });
  });
}

/**
 * The arguments every test redis-server starts with: its own port on loopback, nothing kept on disk but in `dir`,
 * only warnings logged (to stdout, which the tests ignore).
 */
export function isolatedRedisArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', '', '--loglevel', 'warning'];
}

/**
 * A private redis-server for one test file, on its own port with nothing on disk. Tests never touch a Redis that
 * happens to run on 6379. `stop()` and `start()` again let fault tests take it away and bring it back on the same port.
 */
export class TestRedis {
  private child?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  static async start(extraArgs: string[] = []): Promise<TestRedis> {
    const redis = new TestRedis(await freePort(), extraArgs);
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The running server's process id (undefined while stopped): the bench pins it to a core and kills it on abort. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn('redis-server', [...isolatedRedisArgs(this.port, this.dir), ...this.extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    const deadline = Date.now() + 5000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      const probe = new Redis(this.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start within 5s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Kills the server (SIGKILL: a crash, not a polite shutdown) and waits for it to be gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** A client for the test's own checks; disconnect it in the test's teardown. */
  client(): Redis {
    return new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
