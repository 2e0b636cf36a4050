import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that holds every chunk for `delayMs` in each direction (order kept): a slow link to Redis,
 * so a race between two nodes' Redis commands is decided by the code under test, not by luck.
 */
export class SlowProxy {
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  static async start(targetPort: number, delayMs: number): Promise<SlowProxy> {
    const server = createServer();
    const proxy = new SlowProxy(server);
    server.on('connection', (inbound) => {
      const outbound = connect(targetPort, '127.0.0.1');
      for (const s of [inbound, outbound]) {
        proxy.sockets.add(s);
        s.on('close', () => proxy.sockets.delete(s));
        s.on('error', () => {});
      }
      const relay = (from: Socket, to: Socket) => {
        from.on('data', (chunk) => {
          const t = setTimeout(() => { if (!to.destroyed) to.write(chunk); }, delayMs);
          t.unref();
        });
        from.on('close', () => setTimeout(() => to.destroy(), delayMs).unref());
      };
      relay(inbound, outbound);
      relay(outbound, inbound);
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

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
