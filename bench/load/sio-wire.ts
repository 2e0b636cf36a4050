/**
 * A minimal Socket.IO 4 client on raw `ws` (Engine.IO protocol 4, WebSocket transport only), the counterpart of
 * ./sc-wire.ts: connect to the main namespace with `auth: {token}`, `subscribe` with an ack, `publish`, and the
 * server's `publish` events. Pings (`2`) are answered with pongs (`3`).
 */
import WebSocket from 'ws';
import type { WireOptions } from './sc-wire';

export class SioWire {
  private ackId = 0;
  private readonly acks = new Map<number, { resolve(data: unknown): void; reject(err: Error): void }>();
  onPublish?: (channel: string, data: unknown) => void;
  readonly closed: Promise<number>;
  private connected?: { resolve(ok: boolean): void };

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.once('close', (code: number) => {
        for (const a of this.acks.values()) a.reject(new Error(`closed (${code})`));
        this.acks.clear();
        this.connected?.resolve(false);
        resolve(code);
      }),
    );
    ws.on('error', () => undefined);
    ws.on('message', (raw: Buffer) => this.receive(raw.toString()));
  }

  /** `url` is the server's base, `ws://host:port`. */
  static async open(
    url: string,
    token: string | null,
    timeoutMs = 10_000,
    options: WireOptions = {},
  ): Promise<{ wire: SioWire; status: { isAuthenticated: boolean } }> {
    const ws = new WebSocket(`${url}/socket.io/?EIO=4&transport=websocket`, { localAddress: options.localAddress, perMessageDeflate: false });
    const wire = new SioWire(ws);
    const ok = await new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error('connect timeout'));
      }, timeoutMs);
      wire.connected = {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
      };
      ws.once('open', () => ws.send(`40${JSON.stringify({ token })}`));
    });
    return { wire, status: { isAuthenticated: ok } };
  }

  subscribe(channel: string, timeoutMs = 10_000): Promise<unknown> {
    const id = ++this.ackId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(id);
        reject(new Error('subscribe: no ack'));
      }, timeoutMs);
      this.acks.set(id, {
        resolve: (d) => {
          clearTimeout(timer);
          const answer = d as { error?: string } | undefined;
          if (answer?.error) reject(new Error(answer.error));
          else resolve(d);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.ws.send(`42${id}${JSON.stringify(['subscribe', channel])}`);
    });
  }

  publish(channel: string, data: unknown): void {
    this.ws.send(`42${JSON.stringify(['publish', { channel, data }])}`);
  }

  close(): void {
    this.ws.close(1000);
  }

  terminate(): void {
    this.ws.terminate();
  }

  private receive(text: string): void {
    switch (text[0]) {
      case '0': // Engine.IO open: the namespace connect goes out on 'open' already
        return;
      case '2':
        this.ws.send('3');
        return;
      case '4':
        this.packet(text.slice(1));
        return;
      default:
    }
  }

  private packet(text: string): void {
    const type = text[0];
    if (type === '0') {
      this.connected?.resolve(true);
      this.connected = undefined;
    } else if (type === '4') {
      this.connected?.resolve(false);
      this.connected = undefined;
    } else if (type === '2') {
      const [event, payload] = JSON.parse(text.slice(1)) as [string, { channel: string; data: unknown }];
      if (event === 'publish') this.onPublish?.(payload.channel, payload.data);
    } else if (type === '3') {
      const m = /^(\d+)/.exec(text.slice(1));
      if (!m) return;
      const id = Number(m[1]);
      const waiter = this.acks.get(id);
      if (!waiter) return;
      this.acks.delete(id);
      const args = JSON.parse(text.slice(1 + m[1].length)) as unknown[];
      waiter.resolve(args[0]);
    }
  }
}
