import type { Test } from 'uvu';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { connectClient, connectWithToken, startGateway, type ClientTarget, type Connected } from './gateway';
import { GatewayProcess } from './gateway-process';
import { GatehouseProcess } from './process';
import { Raw } from './raw-socket';
import { TestRedisCluster } from './redis-cluster';
import { TestRedis } from './redis-server';

/** How long one owned thing may take to close before the scope reports it and moves on, in ms. */
const CLOSE_WITHIN_MS = 15_000;

/** A gateway in another process or a worker group: it connects its own clients, with its own timeouts. */
interface ConnectsClients {
  connect(token: string | null, opts?: Partial<AGClientSocket.ClientOptions>, own?: (client: AGClientSocket) => void): Promise<Connected>;
}

interface Owned {
  readonly what: string;
  readonly close: () => unknown;
}

/**
 * TestScope owns what a test creates (gateways, clients, Redis servers, child processes, raw sockets, timers) and
 * closes it all with `close()`: newest first, each bounded in time, every one tried even when another fails; the
 * failures are thrown together at the end. A closed scope is empty and can be used again.
 */
export class TestScope {
  private owned: Owned[] = [];

  /** Takes `thing` into the scope, closed by `close(thing)`; returns it. */
  own<T>(thing: T, close: (thing: T) => unknown, what = 'resource'): T {
    this.owned.push({ what, close: () => close(thing) });
    return thing;
  }

  /** Runs `close` when the scope closes, in its turn (newest first). */
  defer(close: () => unknown, what = 'clean-up'): void {
    this.owned.push({ what, close });
  }

  /** A real gateway on 127.0.0.1:0 (see `startGateway`), closed with the scope. */
  async gateway(env: Record<string, string | undefined> = {}): Promise<Gateway> {
    return this.own(await startGateway(env), (gw) => gw.close(), 'gateway');
  }

  /** Takes a gateway started elsewhere (a login gateway, one with its own logger) into the scope. */
  ownGateway(gateway: Gateway): Gateway {
    return this.own(gateway, (gw) => gw.close(), 'gateway');
  }

  /** A gateway in its own process (see `GatewayProcess.start`), stopped with the scope. */
  async process(env: Record<string, string>, readyWithinMs?: number, opts?: { clockOffsetMs?: number }): Promise<GatewayProcess> {
    return this.own(await GatewayProcess.start(env, readyWithinMs, opts), (node) => node.stop(), 'gateway process');
  }

  /** `gatehouse ARGS` in a child process (see `GatehouseProcess`), killed with the scope if it still runs. */
  gatehouse(args: string[], env: Record<string, string>, entry?: 'main' | 'bin', stdin?: string): GatehouseProcess {
    return this.own(new GatehouseProcess(args, env, entry, stdin), (p) => p.stop(), 'gatehouse process');
  }

  /** A private redis-server (see `TestRedis`), closed with the scope. */
  async redis(extraArgs: string[] = []): Promise<TestRedis> {
    return this.own(await TestRedis.start(extraArgs), (redis) => redis.close(), 'redis-server');
  }

  /** A private Redis Cluster of `masters` masters (see `TestRedisCluster`), closed with the scope. */
  async redisCluster(masters?: number): Promise<TestRedisCluster> {
    return this.own(await TestRedisCluster.start(masters), (cluster) => cluster.close(), 'redis cluster');
  }

  /** A socketcluster-client that is not connected yet (see `connectClient`), disconnected with the scope. */
  client(target: ClientTarget, opts: Partial<AGClientSocket.ClientOptions> = {}): AGClientSocket {
    return this.own(connectClient(target, opts), (client) => client.disconnect(), 'client');
  }

  /**
   * A client connected with `token` (see `connectWithToken`), disconnected with the scope. A gateway process or a
   * worker group connects it with the timeouts it needs.
   */
  connect(target: ClientTarget | ConnectsClients, token: string | null, opts: Partial<AGClientSocket.ClientOptions> = {}, waitMs?: number): Promise<Connected> {
    const own = (client: AGClientSocket) => {
      this.own(client, (c) => c.disconnect(), 'client');
    };
    if (typeof target === 'object' && 'connect' in target) return target.connect(token, opts, own);
    return connectWithToken(target, token, opts, waitMs, own);
  }

  /** A raw WebSocket to a gateway's port (see `Raw`), terminated with the scope. */
  raw(port: number, headers: Record<string, string> = {}): Raw {
    return this.own(new Raw(port, headers), (raw) => raw.ws.terminate(), 'raw socket');
  }

  /** A timer or interval, cleared with the scope. */
  timer<T extends NodeJS.Timeout>(timer: T): T {
    return this.own(timer, (t) => clearTimeout(t), 'timer');
  }

  /** Closes everything the scope owns, newest first; throws the failures (and what did not close in time) at the end. */
  async close(): Promise<void> {
    const owned = this.owned.reverse();
    this.owned = [];
    const failures: string[] = [];
    for (const { what, close } of owned) {
      try {
        await withinTime(close, CLOSE_WITHIN_MS, what);
      } catch (err) {
        failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (failures.length > 0) throw new Error(`the test scope did not close cleanly:\n${failures.join('\n')}`);
  }
}

async function withinTime(close: () => unknown, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not close within ${ms}ms`)), ms);
  });
  const closing = Promise.resolve().then(close);
  // A close that loses the race still settles later: its failure was reported as the timeout, not as a crash.
  closing.catch(() => undefined);
  try {
    await Promise.race([closing, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a client's channels (so no consumer of them waits on) and then the client. */
export function closeWithChannels(client: AGClientSocket): void {
  client.killAllChannels();
  client.disconnect();
}

/**
 * A scope tied to a uvu suite: closed after each test (`'test'`, the default) or once after the whole suite
 * (`'suite'`, for what `before` starts).
 */
export function useScope<T>(suite: Test<T>, lifetime: 'test' | 'suite' = 'test'): TestScope {
  const scope = new TestScope();
  if (lifetime === 'test') suite.after.each(() => scope.close());
  else suite.after(() => scope.close());
  return scope;
}
