import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { AGClientSocket } from 'socketcluster-client';
import { SECRET, connectWithToken, type Connected } from './gateway';
import { PROCESS_CLIENT_OPTIONS, PROCESS_HANDSHAKE_MS } from './gateway-process';
import { cleanEnv } from './process';
import { freePort } from './redis-server';

const ROOT = join(__dirname, '..', '..');

/** A `worker started` log line of the primary. */
interface Started {
  readonly worker: number;
  readonly pid: number;
}

/**
 * WorkerGroup is `node dist/server/main.js start` with GATEHOUSE_WORKERS, as an operator runs it: a primary and its
 * workers in a process group of their own, so `kill()` ends every one of them even when the primary is gone. Logs
 * are on (info): the primary's `worker started` lines tell which pid each worker has.
 */
export class WorkerGroup {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly port: number,
    readonly adminPort: number,
    private readonly child: ChildProcess,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.output += d;
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.output += d;
    });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Starts the group; resolves once /readyz answers 200 (every worker ready), else kills it and throws. */
  static async start(env: Record<string, string>, readyWithinMs = 30_000): Promise<WorkerGroup> {
    const group = WorkerGroup.spawn(await freePort(), await freePort(), env);
    try {
      await group.waitReady(readyWithinMs);
    } catch (err) {
      await group.kill();
      throw new Error(`${(err as Error).message}\n--- output ---\n${group.output}`, { cause: err });
    }
    return group;
  }

  /** Spawns the group without waiting for it. */
  static spawn(port: number, adminPort: number, env: Record<string, string>): WorkerGroup {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'server', 'main.js'), 'start'], {
      cwd: ROOT,
      env: cleanEnv({
        GATEHOUSE_HOST: '127.0.0.1',
        GATEHOUSE_PORT: String(port),
        GATEHOUSE_ADMIN_PORT: String(adminPort),
        GATEHOUSE_AUTH_KEY: SECRET,
        // A loaded test machine's slow event loop must not shed test connections; the pacing tests set their own.
        GATEHOUSE_MAX_HANDSHAKE_RATE: '0',
        GATEHOUSE_MAX_LOOP_DELAY: '0',
        GATEHOUSE_LOG_LEVEL: 'info',
        GATEHOUSE_SHUTDOWN_TIMEOUT: '3s',
        ...env,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    return new WorkerGroup(port, adminPort, child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The JSON log lines printed so far. */
  logLines(): Record<string, unknown>[] {
    return this.output.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** Every worker the primary started, in order (restarts included). */
  started(): Started[] {
    return this.logLines()
      .filter((l) => l.msg === 'worker started')
      .map((l) => ({ worker: l.worker as number, pid: l.pid as number }));
  }

  /** The pid of worker k's latest process. */
  workerPid(k: number): number | undefined {
    return this.started()
      .filter((s) => s.worker === k)
      .at(-1)?.pid;
  }

  async readyz(): Promise<{ status: number; body: { status?: string; reasons?: string[] } }> {
    const res = await fetch(`http://127.0.0.1:${this.port}/readyz`, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: (await res.json()) as { status?: string; reasons?: string[] } };
  }

  async waitReady(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    let last: number;
    for (;;) {
      if (!this.running) throw new Error(`the primary exited with ${this.child.exitCode ?? this.child.signalCode}`);
      last = await this.readyz().then(
        (r) => r.status,
        () => 0,
      );
      if (last === 200) return;
      if (Date.now() > deadline) throw new Error(`the group on ${this.port} was not ready within ${ms}ms (last /readyz: ${last || 'no answer'})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** A socketcluster-client connected with `token`; resolves once its handshake is done (see `connectWithToken`). */
  connect(token: string | null, opts: Partial<AGClientSocket.ClientOptions> = {}, own?: (client: AGClientSocket) => void): Promise<Connected> {
    return connectWithToken(this.port, token, { ...PROCESS_CLIENT_OPTIONS, ...opts }, PROCESS_HANDSHAKE_MS, own);
  }

  /** Sends a signal to the primary alone. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM to the primary; waits up to `ms` for it to exit, then kills the whole group. */
  async stop(ms = 10_000): Promise<void> {
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.exited,
      new Promise((r) => {
        timer = setTimeout(r, ms);
      }),
    ]);
    clearTimeout(timer);
    await this.kill();
  }

  /** SIGKILL to every process of the group (primary and workers); never throws. */
  async kill(): Promise<void> {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.exited,
      new Promise((r) => {
        timer = setTimeout(r, 3000);
      }),
    ]);
    clearTimeout(timer);
  }
}

/** Whether a process is alive (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
