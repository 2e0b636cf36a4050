/**
 * A minimal SocketCluster v20 client on raw `ws`, for the load generator: the handshake with a token, `#subscribe`,
 * `#publish`, invoked procedures, pong replies, and the `#setAuthToken` / `#removeAuthToken` / `#publish` events. It
 * keeps the client side cheap (no streams, no reconnection) so the load generator's core is never the bottleneck.
 */
import WebSocket from 'ws';

export interface WireOptions {
  /** Source address on the loopback (127.0.0.x), to spread many sockets over more ephemeral ports. */
  readonly localAddress?: string;
}

interface Packet {
  readonly event?: string;
  readonly data?: unknown;
  readonly cid?: number;
  readonly rid?: number;
  readonly error?: { name?: string; message?: string };
}

export interface PublishEvent {
  readonly channel: string;
  readonly data: unknown;
}

/** One SocketCluster connection. */
export class ScWire {
  private cid = 0;
  private readonly pending = new Map<number, { resolve(data: unknown): void; reject(err: Error): void }>();
  onPublish?: (channel: string, data: unknown) => void;
  onEvent?: (event: string, data: unknown) => void;
  /** Resolves with the close code once the connection is gone. */
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.once('close', (code: number) => {
        for (const p of this.pending.values()) p.reject(new Error(`closed (${code})`));
        this.pending.clear();
        resolve(code);
      }),
    );
    ws.on('error', () => undefined);
    ws.on('message', (raw: Buffer, isBinary: boolean) => this.receive(isBinary ? raw : raw.toString()));
  }

  /**
   * Opens a connection and sends `#handshake` with the token. Resolves with the socket and the server's answer
   * (`isAuthenticated`, `authError`); rejects when the connection fails or the answer does not come in `timeoutMs`.
   */
  static async open(
    url: string,
    token: string | null,
    timeoutMs = 10_000,
    options: WireOptions = {},
  ): Promise<{ wire: ScWire; status: { isAuthenticated?: boolean; authError?: unknown } }> {
    const ws = new WebSocket(url, { localAddress: options.localAddress, perMessageDeflate: false });
    const wire = new ScWire(ws);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        const err = new Error('connect timeout');
        err.name = 'ConnectTimeout';
        reject(err);
      }, timeoutMs);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
      let failure: (Error & { code?: string }) | undefined;
      ws.once('error', (err: Error & { code?: string }) => {
        failure = err;
      });
      ws.once('close', (code) => {
        clearTimeout(timer);
        // Named by the socket error when there was one (ECONNREFUSED, ECONNRESET…), so a run can count failures by kind.
        const err = new Error(`closed before open (${code}${failure ? `: ${failure.message}` : ''})`);
        err.name = failure?.code ?? (failure?.message.startsWith('Unexpected server response') ? 'UnexpectedResponse' : `Close${code}`);
        reject(err);
      });
    });
    const status = (await wire.invoke('#handshake', { authToken: token }, timeoutMs)) as { isAuthenticated?: boolean; authError?: unknown };
    return { wire, status };
  }

  invoke(event: string, data: unknown, timeoutMs = 10_000): Promise<unknown> {
    const cid = ++this.cid;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(cid);
        const err = new Error(`${event}: no answer within ${timeoutMs} ms`);
        err.name = 'NoAnswer';
        reject(err);
      }, timeoutMs);
      this.pending.set(cid, {
        resolve: (d) => {
          clearTimeout(timer);
          resolve(d);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.ws.send(JSON.stringify({ event, data, cid }));
    });
  }

  transmit(event: string, data: unknown): void {
    this.ws.send(JSON.stringify({ event, data }));
  }

  subscribe(channel: string): Promise<unknown> {
    return this.invoke('#subscribe', { channel });
  }

  /** A fire-and-forget publish (SocketCluster's transmitPublish). */
  publish(channel: string, data: unknown): void {
    this.transmit('#publish', { channel, data });
  }

  close(): void {
    this.ws.close(1000);
  }

  terminate(): void {
    this.ws.terminate();
  }

  private receive(text: string | Buffer): void {
    if (text === '') {
      this.ws.send(''); // SocketCluster v20's ping is an empty message; the pong is one too
      return;
    }
    if (text === '#1') {
      this.ws.send('#2');
      return;
    }
    let parsed: Packet | Packet[];
    try {
      parsed = JSON.parse(text.toString()) as Packet | Packet[];
    } catch {
      return;
    }
    if (Array.isArray(parsed)) for (const p of parsed) this.handle(p);
    else this.handle(parsed);
  }

  private handle(packet: Packet): void {
    if (typeof packet.rid === 'number') {
      const waiter = this.pending.get(packet.rid);
      if (!waiter) return;
      this.pending.delete(packet.rid);
      if (packet.error) {
        const err = new Error(packet.error.message ?? 'error');
        err.name = packet.error.name ?? 'Error';
        waiter.reject(err);
      } else {
        waiter.resolve(packet.data);
      }
      return;
    }
    if (packet.event === '#publish') {
      const { channel, data } = packet.data as PublishEvent;
      this.onPublish?.(channel, data);
      return;
    }
    if (packet.event) {
      this.onEvent?.(packet.event, packet.data);
      // A server invoke (rejectOnFailedDelivery) needs an answer.
      if (typeof packet.cid === 'number') this.ws.send(JSON.stringify({ rid: packet.cid }));
    }
  }
}
