import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { AGClientSocket } from 'socketcluster-client';
import { SECRET, connectWithToken, type Connected } from './gateway';
import { freePort } from './redis-server';

const ROOT = join(__dirname, '..', '..');

/** Client timeouts for a gateway in another process (it starts and answers slower than one in the test's). */
export const PROCESS_CLIENT_OPTIONS = { ackTimeout: 3000, connectTimeout: 5000 } as const;
/** How long a client waits for the handshake of a gateway in another process, in ms. */
export const PROCESS_HANDSHAKE_MS = 5000;

/**
 * A gateway node in its own process (`node --import tsx server/main.ts start`), as an operator runs it: its own port
 * on 127.0.0.1, the test's HS256 secret, logs silent. `start` resolves once /readyz answers 200. `stop()` sends
 * SIGTERM (then SIGKILL after 3 s); `kill()` is a crash.
 */
export class GatewayProcess {
  private output = '';

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d) => {
      this.output += d;
    });
    child.stderr?.on('data', (d) => {
      this.output += d;
    });
  }

  /**
   * `clockOffsetMs` runs the process's clock (Date.now) that far off the machine's, as a node whose clock is wrong
   * (test/helpers/clock-offset.mjs, preloaded).
   */
  static async start(env: Record<string, string>, readyWithinMs = 15_000, opts: { clockOffsetMs?: number } = {}): Promise<GatewayProcess> {
    const port = await freePort();
    const skew = opts.clockOffsetMs ? ['--import', join(ROOT, 'test', 'helpers', 'clock-offset.mjs')] : [];
    const child = spawn(process.execPath, [...skew, '--import', 'tsx', join(ROOT, 'server', 'main.ts'), 'start'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        GATEHOUSE_HOST: '127.0.0.1',
        GATEHOUSE_PORT: String(port),
        GATEHOUSE_AUTH_KEY: SECRET,
        // A loaded test machine's slow event loop must not shed test connections; the pacing tests set their own.
        GATEHOUSE_MAX_HANDSHAKE_RATE: '0',
        GATEHOUSE_MAX_LOOP_DELAY: '0',
        GATEHOUSE_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        GATEHOUSE_SHUTDOWN_TIMEOUT: '2s',
        ...(opts.clockOffsetMs ? { TEST_CLOCK_OFFSET_MS: String(opts.clockOffsetMs) } : {}),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const node = new GatewayProcess(port, child);
    try {
      await node.waitReady(readyWithinMs);
    } catch (err) {
      await node.kill();
      throw new Error(`${(err as Error).message}\n--- node output ---\n${node.output}`, { cause: err });
    }
    return node;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** What the process printed (for failure messages). */
  get log(): string {
    return this.output;
  }

  /**
   * A socketcluster-client connected to this node with a token; resolves once the handshake is done, with the client's
   * token storage (`auth.current`). A node in its own process answers slower than one in the test's, so the client
   * waits longer. `own` is given the client as soon as it exists (see `connectWithToken`).
   */
  connect(token: string | null, opts: Partial<AGClientSocket.ClientOptions> = {}, own?: (client: AGClientSocket) => void): Promise<Connected> {
    return connectWithToken(this.port, token, { ...PROCESS_CLIENT_OPTIONS, ...opts }, PROCESS_HANDSHAKE_MS, own);
  }

  /** Freezes the process (SIGSTOP), as an event loop that stalls; `resume()` thaws it. */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM', 3000);
    await this.kill();
  }

  async kill(): Promise<void> {
    await this.signal('SIGKILL', 3000);
  }

  private signal(signal: NodeJS.Signals, waitMs: number): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill(signal);
    });
  }

  private async waitReady(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.exited) throw new Error(`gateway process exited with ${this.child.exitCode ?? this.child.signalCode}`);
      const status = await fetch(`http://127.0.0.1:${this.port}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
        async (r) => {
          await r.body?.cancel();
          return r.status;
        },
        () => 0,
      );
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`gateway on ${this.port} not ready within ${ms}ms (last /readyz: ${status || 'no answer'})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
