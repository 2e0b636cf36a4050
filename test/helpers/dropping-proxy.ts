import WebSocket, { WebSocketServer, type RawData } from 'ws';

/**
 * A WebSocket proxy on 127.0.0.1 in front of a gateway that passes every message both ways, except the next
 * gateway-to-client messages a test asks it to drop: a lost frame, as a client would meet it, without touching the
 * client or the gateway.
 */
const textOf = (data: RawData): string => (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)).toString('utf8');

export class DroppingProxy {
  private readonly links = new Set<WebSocket>();
  private drops: { match: (text: string) => boolean; dropped: (text: string) => void }[] = [];

  private constructor(private readonly server: WebSocketServer) {}

  static async start(targetPort: number): Promise<DroppingProxy> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const proxy = new DroppingProxy(server);
    server.on('connection', (client, request) => {
      const upstream = new WebSocket(`ws://127.0.0.1:${targetPort}${request.url ?? '/socketcluster/'}`);
      const queued: string[] = [];
      for (const ws of [client, upstream]) {
        proxy.links.add(ws);
        ws.on('error', () => {});
        ws.on('close', () => proxy.links.delete(ws));
      }
      client.on('close', () => upstream.close());
      upstream.on('close', (code) => client.close(code >= 3000 && code < 5000 ? code : 1000));
      upstream.on('open', () => {
        for (const text of queued.splice(0)) upstream.send(text);
      });
      client.on('message', (data) => {
        const text = textOf(data);
        if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
        else queued.push(text);
      });
      upstream.on('message', (data) => {
        const text = textOf(data);
        const index = proxy.drops.findIndex((d) => d.match(text));
        if (index >= 0) {
          proxy.drops.splice(index, 1)[0].dropped(text);
          return;
        }
        if (client.readyState === WebSocket.OPEN) client.send(text);
      });
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** Drops the next gateway-to-client message that `match` accepts; resolves with it once dropped. */
  dropNext(match: (text: string) => boolean): Promise<string> {
    return new Promise((resolve) => this.drops.push({ match, dropped: resolve }));
  }

  async close(): Promise<void> {
    for (const ws of this.links) ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
