import { createServer, connect, type Server, type Socket } from 'node:net';

/** The first bytes a client sent on a connection that the proxy keeps, to tell connections apart (see `stallReplies`). */
const SENT_KEPT = 64 * 1024;

/** One client connection through the proxy. */
interface Pair {
  readonly inbound: Socket;
  readonly outbound: Socket;
  /** The first SENT_KEPT characters the client sent (latin1). */
  sent: string;
  /** Redis→client traffic, Redis' close included, is dropped: the client hears nothing and is never told. */
  stalled: boolean;
}

/** Whether a connection has subscribed: its client sent SUBSCRIBE or SSUBSCRIBE (RESP spells each argument alone). */
export const isSubscriber = (sent: string): boolean => /\r\ns?subscribe\r\n/i.test(sent);

/**
 * A TCP proxy on 127.0.0.1 in front of Redis.
 *
 * - `delayMs` holds every chunk that long in each direction (order kept): a slow link to Redis, so a race between two
 *   nodes' Redis commands is decided by the code under test, not by luck.
 * - `stallReplies` makes chosen connections dead one way, as a half-dead NAT entry or a stalled load balancer does:
 *   what the client sends still reaches Redis, nothing Redis sends (its close included) reaches the client.
 */
export class SlowProxy {
  private readonly pairs = new Set<Pair>();
  private stallNew?: (sent: string) => boolean;

  private constructor(private readonly server: Server) {}

  static async start(targetPort: number, delayMs = 0): Promise<SlowProxy> {
    const server = createServer();
    const proxy = new SlowProxy(server);
    server.on('connection', (inbound) => {
      const outbound = connect(targetPort, '127.0.0.1');
      const pair: Pair = { inbound, outbound, sent: '', stalled: false };
      proxy.pairs.add(pair);
      for (const s of [inbound, outbound]) {
        s.on('close', () => proxy.pairs.delete(pair));
        s.on('error', () => {});
      }
      const later = (fn: () => void) => {
        if (delayMs === 0) fn();
        else setTimeout(fn, delayMs).unref();
      };
      inbound.on('data', (chunk: Buffer) => {
        if (pair.sent.length < SENT_KEPT) pair.sent += chunk.toString('latin1', 0, SENT_KEPT - pair.sent.length);
        // Decided before the chunk goes on, so the answer to the command that made it a match is dropped too.
        if (!pair.stalled && proxy.stallNew?.(pair.sent)) pair.stalled = true;
        later(() => {
          if (!outbound.destroyed) outbound.write(chunk);
        });
      });
      outbound.on('data', (chunk: Buffer) => {
        if (pair.stalled) return;
        later(() => {
          if (!pair.stalled && !inbound.destroyed) inbound.write(chunk);
        });
      });
      inbound.on('close', () => later(() => outbound.destroy()));
      outbound.on('close', () =>
        later(() => {
          if (!pair.stalled) inbound.destroy();
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Stops Redis→client traffic for good on every open connection whose client has sent what `match` accepts;
   * with `sticky`, also on every later connection once its client has sent it (until `stopStalling`). Returns how
   * many open connections it stalled.
   */
  stallReplies(match: (sent: string) => boolean, sticky = false): number {
    let stalled = 0;
    for (const pair of this.pairs) {
      if (pair.stalled || !match(pair.sent)) continue;
      pair.stalled = true;
      stalled += 1;
    }
    if (sticky) this.stallNew = match;
    return stalled;
  }

  /** New connections flow again; the ones already stalled stay dead one way. */
  stopStalling(): void {
    this.stallNew = undefined;
  }

  async close(): Promise<void> {
    for (const { inbound, outbound } of this.pairs) {
      inbound.destroy();
      outbound.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
