/**
 * The processes a bench run starts, each owned and stopped by it: a benchmarked server (pinned to the server core),
 * the load generator (pinned to the other core, driven over IPC), and a redis-server (pinned beside the load generator).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { freePort, TestRedis } from '../test/helpers/redis-server';
import { cpuMicros } from './proc';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every child the bench started and has not seen exit, so an aborted run can still end them all. */
const live = new Set<ChildProcess>();
/** The run's redis-servers, which the test helpers start and own: an aborted run kills them by process id. */
const redises = new Set<TestRedis>();

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Kills every child still running (SIGKILL): for a run that is being aborted. */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
  for (const { pid } of redises) {
    try {
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  redises.clear();
}

export { freePort };

/** The command line that runs `argv` pinned to `cpu` (when pinning is possible). */
function pinned(cpu: number | undefined, argv: string[]): [string, string[]] {
  return cpu === undefined ? [argv[0], argv.slice(1)] : ['taskset', ['-c', String(cpu), ...argv]];
}

/** Sends a request over a child's IPC channel and waits for the answer with the same id. */
class IpcClient {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(
    private readonly child: ChildProcess,
    private readonly name: string,
  ) {
    child.on('message', (m: { id?: number; result?: unknown; error?: string; mem?: unknown }) => {
      const w = m.id === undefined ? undefined : this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id!);
      if (m.error !== undefined) w.reject(new Error(`${this.name}: ${m.error}`));
      else w.resolve(m.result ?? m.mem);
    });
    child.once('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`${this.name} exited (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  call<T>(message: Record<string, unknown>, timeoutMs: number): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: no answer to ${String(message.cmd)} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      // Without a callback a send on a closed channel (a child that died at start) is an unhandled 'error' event,
      // which would end the run before it stops the processes it started.
      this.child.send({ ...message, id }, (err) => {
        if (!err) return;
        this.waiting.get(id)?.reject(new Error(`${this.name}: ${err.message}`));
        this.waiting.delete(id);
      });
    });
  }
}

export interface MemoryFigures {
  readonly heapUsed: number;
  readonly rss: number;
}

/** One benchmarked server process. */
export class ServerProcess {
  private readonly child: ChildProcess;
  private readonly ipc: IpcClient;
  private stderr = '';

  constructor(
    readonly name: string,
    readonly port: number,
    argv: string[],
    env: Record<string, string>,
    cpu: number | undefined,
  ) {
    const [cmd, args] = pinned(cpu, argv);
    this.child = track(
      spawn(cmd, args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }),
    );
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.ipc = new IpcClient(this.child, name);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** What the server wrote on stderr lately (for error messages). */
  get errors(): string {
    return this.stderr;
  }

  /** Waits until GET /readyz answers 200. */
  async ready(withinMs = 20_000): Promise<void> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      if (this.exited) throw new Error(`${this.name} exited at start-up:\n${this.stderr}`);
      const status = await fetch(`http://127.0.0.1:${this.port}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
        async (r) => {
          await r.body?.cancel();
          return r.status;
        },
        () => 0,
      );
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`${this.name} not ready within ${withinMs / 1000} s (last /readyz: ${status || 'no answer'})\n${this.stderr}`);
      await sleep(50);
    }
  }

  cpuMicros(): number {
    return cpuMicros(this.pid);
  }

  /** Heap (after a full GC) and RSS, from the preloaded probe. */
  memory(): Promise<MemoryFigures> {
    return this.ipc.call<MemoryFigures>({ cmd: 'mem' }, 30_000);
  }

  /** Starts a CPU profile in the server (sampling every `intervalUs`). */
  startProfile(intervalUs = 200): Promise<unknown> {
    return this.ipc.call({ cmd: 'profile-start', intervalUs }, 10_000);
  }

  /** Stops the CPU profile and has the server write it to `file`. */
  stopProfile(file: string): Promise<unknown> {
    return this.ipc.call({ cmd: 'profile-stop', file }, 60_000);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}

/** The load generator process. */
export class LoadGenerator {
  private readonly child: ChildProcess;
  private readonly ipc: IpcClient;

  /** `nice` (0–19) lowers its CPU priority: clients that stand in for other machines yield the cores to the server. */
  constructor(script: string, cpu: number | undefined, nice = 0) {
    const [cmd, args] = pinned(cpu, [process.execPath, script]);
    this.child = track(spawn(cmd, args, { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    if (nice !== 0 && this.child.pid !== undefined) setPriority(this.child.pid, nice);
    this.ipc = new IpcClient(this.child, 'load generator');
  }

  get pid(): number {
    return this.child.pid!;
  }

  call<T>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> {
    return this.ipc.call<T>({ cmd, ...args }, timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}

/**
 * A redis-server for the run: the test helpers' own (a free port on 127.0.0.1, nothing on disk), pinned to `cpu` with
 * its threads, beside the load generator, so that it never takes the server's core. An aborted run kills it too.
 */
export async function startRedis(cpu: number | undefined): Promise<TestRedis> {
  const redis = await TestRedis.start();
  redises.add(redis);
  try {
    if (cpu !== undefined) execFileSync('taskset', ['--all-tasks', '--pid', '--cpu-list', String(cpu), String(redis.pid)], { stdio: 'ignore' });
  } catch (err) {
    await stopRedis(redis);
    throw err;
  }
  return redis;
}

/** Stops a redis-server from `startRedis` and removes what it left on disk. */
export async function stopRedis(redis: TestRedis | undefined): Promise<void> {
  if (!redis) return;
  redises.delete(redis);
  await redis.close();
}
