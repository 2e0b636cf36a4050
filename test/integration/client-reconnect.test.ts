// budget: 90s
// How often the client (client/) reconnects to an endpoint that closes every socket right after its handshake, for
// every close code: each reconnect goes through the backoff, and the backoff does not start over on each connect.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CloseCode, createClient, memoryStorage, storageKey } from '../../client';
import { CLOSE_CODES } from '../../shared/close-codes';
import { closingEndpoint, MAX_IN_10_S, WATCH_MS, type ClosingEndpoint } from '../helpers/closing-endpoint';
import { mintHs256, sleep } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

const scope = useScope(test);

test(`against an endpoint that closes after every handshake, at most ${MAX_IN_10_S} connections in 10 s for any close code`, async () => {
  const cases: { label: string; code: number; stops: boolean; loggedOutElsewhere?: boolean }[] = [
    ...CLOSE_CODES.map((c) => ({
      label: `${c.code} ${c.name}`,
      code: c.code,
      stops: ['TokenRevoked', 'DisconnectedByAdmin', 'SlowConsumer', 'OriginNotAllowed'].includes(c.name),
    })),
    // Another tab's logout revoked the session: the tab comes back anonymous, which this endpoint closes again.
    { label: '4500 after a logout in another tab', code: CloseCode.TokenRevoked, stops: false, loggedOutElsewhere: true },
    { label: '4000 (SocketCluster)', code: 4000, stops: false },
    { label: '4300 (unknown, reconnect range)', code: 4300, stops: false },
    { label: '4600 (unknown, final range)', code: 4600, stops: true },
    { label: '4234 (unknown, reconnect range)', code: 4234, stops: false },
    { label: '4567 (unknown, final range)', code: 4567, stops: true },
    { label: '1011 (server error)', code: 1011, stops: false },
  ];
  const endpoints: ClosingEndpoint[] = [];
  for (const c of cases) {
    const endpoint = scope.own(await closingEndpoint(c.code), (e) => e.close(), 'closing endpoint');
    endpoints.push(endpoint);
    const storage = memoryStorage();
    const url = `http://127.0.0.1:${endpoint.port}`;
    scope.own(createClient({ url, storage, ackTimeout: 3000 }), (client) => client.close(), 'client');
    const key = storageKey(url);
    await storage.set(key, mintHs256({ sub: 'alice', sid: 's1' }));
    if (c.loggedOutElsewhere) await storage.set(`${key}:logout`, JSON.stringify({ at: Date.now(), sub: 'alice', sid: 's1', everywhere: false }));
  }
  await sleep(WATCH_MS);
  const counts = cases.map((c, i) => `${c.label}: ${endpoints[i].connections}`);
  for (const [i, c] of cases.entries()) {
    const n = endpoints[i].connections;
    assert.ok(n >= 1, `${counts[i]}: never connected`);
    if (c.stops) assert.is(n, 1, `${counts[i]} (a final code: no reconnect)`);
    else assert.ok(n <= MAX_IN_10_S, `${counts[i]} connections in 10 s (all: ${counts.join('; ')})`);
  }
});

test.run();
