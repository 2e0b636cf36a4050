// budget: 90s
// How often the client (client/) reconnects to an endpoint that closes every socket right after its handshake, for
// every close code: each reconnect goes through the backoff, and the backoff does not start over on each connect.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { attach, type AGServer } from 'socketcluster-server';
import { CloseCode, createClient, memoryStorage, storageKey, type GatehouseClient } from '../../client';
import { CLOSE_CODES } from '../../shared/close-codes';
import { mintHs256, SECRET, sleep } from '../helpers/gateway';

/** How long each client is watched, and the most connections the backoff allows in that time (README). */
const WATCH_MS = 10_000;
const MAX_IN_10_S = 5;

interface Endpoint {
  readonly port: number;
  connections: number;
  close(): Promise<void>;
}

/** A SocketCluster server that accepts each handshake (verifying tokens with the test secret), then closes with `code`. */
async function closingEndpoint(code: number): Promise<Endpoint> {
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
      socket.disconnect(code, 'closed by the test endpoint');
    }
  })();
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  endpoint.port = (http.address() as { port: number }).port;
  return endpoint;
}

test(`against an endpoint that closes after every handshake, at most ${MAX_IN_10_S} connections in 10 s for any close code`, async () => {
  const cases: { label: string; code: number; stops: boolean; loggedOutElsewhere?: boolean }[] = [
    ...CLOSE_CODES.map((c) => ({ label: `${c.code} ${c.name}`, code: c.code, stops: ['TokenRevoked', 'DisconnectedByAdmin', 'SlowConsumer', 'OriginNotAllowed'].includes(c.name) })),
    // Another tab's logout revoked the session: the tab comes back anonymous, which this endpoint closes again.
    { label: '4500 after a logout in another tab', code: CloseCode.TokenRevoked, stops: false, loggedOutElsewhere: true },
    { label: '4000 (SocketCluster)', code: 4000, stops: false },
    { label: '4300 (unknown, reconnect range)', code: 4300, stops: false },
    { label: '4600 (unknown, final range)', code: 4600, stops: true },
    { label: '1011 (server error)', code: 1011, stops: false },
  ];
  const endpoints: Endpoint[] = [];
  const clients: GatehouseClient[] = [];
  try {
    for (const c of cases) {
      const endpoint = await closingEndpoint(c.code);
      endpoints.push(endpoint);
      const storage = memoryStorage();
      const url = `http://127.0.0.1:${endpoint.port}`;
      const client = createClient({ url, storage, ackTimeout: 3000 });
      const key = storageKey(url);
      await storage.set(key, mintHs256({ sub: 'alice', sid: 's1' }));
      if (c.loggedOutElsewhere) await storage.set(`${key}:logout`, JSON.stringify({ at: Date.now(), sub: 'alice', sid: 's1', everywhere: false }));
      clients.push(client);
    }
    await sleep(WATCH_MS);
    const counts = cases.map((c, i) => `${c.label}: ${endpoints[i].connections}`);
    for (const [i, c] of cases.entries()) {
      const n = endpoints[i].connections;
      assert.ok(n >= 1, `${counts[i]}: never connected`);
      if (c.stops) assert.is(n, 1, `${counts[i]} (a final code: no reconnect)`);
      else assert.ok(n <= MAX_IN_10_S, `${counts[i]} connections in 10 s (all: ${counts.join('; ')})`);
    }
  } finally {
    for (const client of clients) client.close();
    for (const endpoint of endpoints) await endpoint.close();
  }
});

test.run();
