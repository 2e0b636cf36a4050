import { createServer, type Server } from 'node:http';
import { attach, type AGServer } from 'socketcluster-server';
import { SECRET } from './gateway';

/** How long a reconnecting client is watched, and the most connections the backoff allows in that time (README). */
export const WATCH_MS = 10_000;
export const MAX_IN_10_S = 5;

export interface ClosingEndpoint {
  readonly port: number;
  /** Handshakes completed so far. */
  connections: number;
  close(): Promise<void>;
}

/** A SocketCluster server that accepts each handshake (verifying tokens with the test secret), then closes with `code`. */
export async function closingEndpoint(code: number): Promise<ClosingEndpoint> {
  const http: Server = createServer();
  const server: AGServer = attach(http, { authKey: SECRET });
  const endpoint = {
    port: 0,
    connections: 0,
    close: async () => {
      server.closeAllListeners();
      await server.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  void (async () => {
    for await (const { socket } of server.listener('connection')) {
      endpoint.connections++;
      void socket.disconnect(code, 'closed by the test endpoint');
    }
  })();
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  endpoint.port = (http.address() as { port: number }).port;
  return endpoint;
}
