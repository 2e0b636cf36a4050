import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { waitFor } from './gateway';

/** A WebSocket message as text (ws hands over a Buffer, an ArrayBuffer or fragments). */
export function textOf(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** The bytes of a WebSocket upgrade request for SocketCluster's path, as a client writes them on a bare TCP socket. */
export function upgradeRequest(port: number): string {
  return [
    'GET /socketcluster/ HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    '',
    '',
  ].join('\r\n');
}

/** A raw WebSocket speaking (or not) SocketCluster's protocol by hand. */
export class Raw {
  readonly ws: WebSocket;
  readonly received: unknown[] = [];
  readonly closed: Promise<{ code: number }>;
  private cid = 0;

  /** Opens a connection to a gateway's port; the test's scope terminates it (`scope.raw`). */
  constructor(port: number, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(`ws://127.0.0.1:${port}/socketcluster/`, { headers });
    this.ws.on('error', () => {});
    this.ws.on('message', (data) => {
      const text = textOf(data);
      if (text === '') {
        this.ws.send(''); // SocketCluster's ping → pong
        return;
      }
      try {
        this.received.push(JSON.parse(text));
      } catch {
        this.received.push(text);
      }
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve({ code })));
  }

  /** The close code, failing after `ms`. */
  async closeCode(ms = 3000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the socket was not closed within ${ms}ms`)), ms);
    });
    try {
      return (await Promise.race([this.closed, timeout])).code;
    } finally {
      clearTimeout(timer);
    }
  }

  async open(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    return this;
  }

  send(frame: string | Buffer): void {
    this.ws.send(frame);
  }

  /** Sends an RPC and waits for its answer. */
  async call(event: string, data: unknown): Promise<{ rid: number; data?: unknown; error?: { name: string } }> {
    const cid = ++this.cid;
    this.send(JSON.stringify({ event, data, cid }));
    let answer: unknown;
    await waitFor(
      () => {
        answer = this.received.find((m) => (m as { rid?: number })?.rid === cid);
        return answer !== undefined;
      },
      3000,
      `the answer to ${event}`,
    );
    return answer as { rid: number; data?: unknown; error?: { name: string } };
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }
}
