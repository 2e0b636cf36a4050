import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** The environment a child gateway gets: PATH and HOME only, plus the settings a test gives. Nothing leaks in. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  if (process.env.PATH) env.PATH = process.env.PATH;
  if (process.env.HOME) env.HOME = process.env.HOME;
  return { ...env, ...extra };
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * GatehouseProcess is `node --import tsx server/main.ts ARGS` run as a child with a clean environment, its output
 * collected. Every test that starts one stops it in its teardown (`stop()` kills it if it still runs).
 */
export class GatehouseProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();

  /** `entry` 'bin' runs `bin/gatehouse.js` instead, as `npx gatehouse` does; `stdin`, when given, is its whole input. */
  constructor(args: string[], env: Record<string, string>, entry: 'main' | 'bin' = 'main', stdin?: string) {
    const command = entry === 'bin' ? [join(ROOT, 'bin', 'gatehouse.js')] : ['--import', 'tsx', join(ROOT, 'server', 'main.ts')];
    this.child = spawn(process.execPath, [...command, ...args], {
      cwd: ROOT,
      env: cleanEnv(env),
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (stdin !== undefined) this.child.stdin!.end(stdin);
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.wake();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.wake();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until stderr matches; fails after `ms` or when the process exits first. */
  waitForStderr(pattern: RegExp, ms = 8000): Promise<RegExpMatchArray> {
    return this.waitFor('stderr', pattern, ms);
  }

  /** Waits until stdout (the JSON log) matches; fails after `ms` or when the process exits first. */
  waitForStdout(pattern: RegExp, ms = 8000): Promise<RegExpMatchArray> {
    return this.waitFor('stdout', pattern, ms);
  }

  private async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = pattern.exec(this[stream]);
      if (m) return m;
      if (!this.running) throw new Error(`process exited before ${stream} matched ${pattern}:\n${this.stderr}\n${this.stdout}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${stream} did not match ${pattern} within ${ms}ms:\n${this.stderr}\n${this.stdout}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 200));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  /** The port from the "listening on ws://host:port/" line. */
  async listeningPort(ms = 8000): Promise<number> {
    const m = await this.waitForStderr(/listening on ws:\/\/[^:]+:(\d+)\//, ms);
    return Number(m[1]);
  }

  /** Closes this side of the child's stdout and stderr, as a log collector that died would: its writes then fail (EPIPE). */
  closePipes(): void {
    this.child.stdout!.destroy();
    this.child.stderr!.destroy();
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  /** Waits for the exit, failing after `ms`. */
  async exit(ms = 8000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`process did not exit within ${ms}ms:\n${this.stderr}`)), ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process as an operator would (SIGTERM), killing it if it has not exited within `ms`. */
  async terminate(ms = 5000): Promise<void> {
    if (this.running) this.signal('SIGTERM');
    await this.exit(ms).catch(() => undefined);
    await this.stop();
  }

  /** Kills the process if it still runs and waits for it to be gone. */
  async stop(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      w();
    }
  }
}

/** Runs a short CLI command to its end (failing after `ms`): its exit code and output. */
export async function runCli(args: string[], env: Record<string, string> = {}, opts: { ms?: number; entry?: 'main' | 'bin'; stdin?: string } = {}) {
  const { ms = 10_000, entry = 'main', stdin } = opts;
  const p = new GatehouseProcess(args, env, entry, stdin);
  try {
    const { code } = await p.exit(ms);
    return { code, stdout: p.stdout, stderr: p.stderr };
  } finally {
    await p.stop();
  }
}
