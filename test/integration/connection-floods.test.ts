import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import { Gateway } from '../../server/gateway';
import { createLogger } from '../../server/log';
import { CLOSE_CODES, CloseCode } from '../../shared';
import { httpRequest, mintHs256, nextEvent, sleep, testConfig, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

// Connection floods (server/floods/connection-limits.ts): per client address, a cap on open connections and on
// handshakes a second. A refused connection is accepted and closed at once with a named code, so the stock client
// reports why.
const FLOODER = '203.0.113.9';
const NEIGHBOUR = '198.51.100.20';
const scope = useScope(test);

async function gateway(env: Record<string, string>): Promise<Gateway> {
  return scope.gateway({ GATEHOUSE_TRUST_PROXY: '127.0.0.1', ...env });
}

/** Connects a stock client from `ip` (through the trusted proxy's X-Forwarded-For): 'connect', or the close code. */
async function connectFrom(g: Gateway, ip: string): Promise<{ client: AGClientSocket; outcome: number | 'connected' }> {
  const client = scope.client(g, { wsOptions: { headers: { 'x-forwarded-for': ip } } });
  const connected = nextEvent(client, 'connect').then(() => 'connected' as const);
  const aborted = nextEvent<{ code: number }>(client, 'connectAbort').then((e) => e.code);
  const outcome = await Promise.race([connected, aborted]);
  return { client, outcome };
}

async function metric(g: Gateway, reason: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${g.address().port}/metrics`, { signal: AbortSignal.timeout(3000) });
  const m = new RegExp(`^gatehouse_flood_refusals_total\\{reason="${reason}"[^}]*\\} (\\d+)`, 'm').exec(await res.text());
  return Number(m?.[1] ?? NaN);
}

test('past GATEHOUSE_MAX_CONNECTIONS_PER_IP an address is closed with TooManyConnections; others connect; a freed place is reusable', async () => {
  const g = await gateway({ GATEHOUSE_MAX_CONNECTIONS_PER_IP: '3' });
  const held: AGClientSocket[] = [];
  for (let i = 0; i < 3; i++) {
    const { client, outcome } = await connectFrom(g, FLOODER);
    assert.is(outcome, 'connected');
    held.push(client);
  }
  const refused = await connectFrom(g, FLOODER);
  assert.is(refused.outcome, CloseCode.TooManyConnections);
  assert.is(CLOSE_CODES.find((c) => c.code === refused.outcome)?.name, 'TooManyConnections');
  assert.is((await connectFrom(g, NEIGHBOUR)).outcome, 'connected', 'another address is served');
  assert.is(await metric(g, 'connections_per_ip'), 1);

  held[0].disconnect();
  await waitFor(async () => (await connectFrom(g, FLOODER)).outcome === 'connected', 3000, 'the freed place');
});

test('past GATEHOUSE_HANDSHAKE_RATE_PER_IP an address is closed with HandshakeRateLimited; a neighbour connects throughout', async () => {
  const g = await gateway({ GATEHOUSE_HANDSHAKE_RATE_PER_IP: '5' });
  const flood = Promise.all(Array.from({ length: 40 }, () => connectFrom(g, FLOODER).then((r) => r.outcome)));
  const neighbour = await connectFrom(g, NEIGHBOUR);
  const outcomes = await flood;
  assert.is(neighbour.outcome, 'connected');
  const limited = outcomes.filter((o) => o === CloseCode.HandshakeRateLimited).length;
  const connected = outcomes.filter((o) => o === 'connected').length;
  assert.is(limited + connected, 40, outcomes.join(','));
  // A one-second window: at most two windows' worth can fall in the test's span.
  assert.ok(connected >= 5 && connected <= 10, `${connected} connected`);
  assert.is(await metric(g, 'handshake_rate'), limited);
  assert.is((await httpRequest(g.address().port, '/readyz')).status, 200);
});

test('X-Forwarded-For is not believed without GATEHOUSE_TRUST_PROXY: every client counts as its peer', async () => {
  const g = await scope.gateway({ GATEHOUSE_MAX_CONNECTIONS_PER_IP: '2' });
  assert.is((await connectFrom(g, '192.0.2.1')).outcome, 'connected');
  assert.is((await connectFrom(g, '192.0.2.2')).outcome, 'connected');
  assert.is((await connectFrom(g, '192.0.2.3')).outcome, CloseCode.TooManyConnections);
});

test('a refused connection never reaches SocketCluster: its #handshake is not answered and no socket is made', async () => {
  const g = await gateway({ GATEHOUSE_MAX_CONNECTIONS_PER_IP: '1' });
  assert.is((await connectFrom(g, FLOODER)).outcome, 'connected');
  const sockets = () => g.agServer.clientsCount + g.agServer.pendingClientsCount;
  assert.is(sockets(), 1);
  const raw = await scope.raw(g.address().port, { 'x-forwarded-for': FLOODER }).open();
  assert.is(sockets(), 1, 'no SocketCluster socket was made for it');
  raw.send(JSON.stringify({ event: '#handshake', data: { authToken: mintHs256({ sub: 'flooder' }) }, cid: 1 }));
  assert.is(await raw.closeCode(), CloseCode.TooManyConnections);
  await sleep(50);
  assert.equal(raw.received, [], 'nothing was answered');
  assert.is(sockets(), 1);
});

test('refused origins count against the address limits: of 300 bad-origin upgrades from one address, the limits refuse all but a few, and the log gets one line of each kind', async () => {
  const lines: string[] = [];
  const config = testConfig({
    GATEHOUSE_TRUST_PROXY: '127.0.0.1',
    GATEHOUSE_ORIGINS: 'https://app.example.com',
    GATEHOUSE_LOG_LEVEL: 'info',
    GATEHOUSE_MAX_CONNECTIONS_PER_IP: '5',
    GATEHOUSE_HANDSHAKE_RATE_PER_IP: '5',
  });
  const g = scope.ownGateway(new Gateway(config, { log: createLogger('info', {}, { write: (line) => void lines.push(line) }) }));
  await g.listen();
  // Raw sockets that never send: each refused one is held open for the whole grace period, as an attacker would.
  const started = performance.now();
  const flood = Array.from({ length: 300 }, () =>
    scope.raw(g.address().port, { 'x-forwarded-for': FLOODER, origin: 'https://evil.example/' + 'x'.repeat(150) }),
  );
  const codes = await Promise.all(flood.map((r) => r.closeCode(15_000)));
  const count = (code: number) => codes.filter((c) => c === code).length;
  const byOrigin = count(CloseCode.OriginNotAllowed);
  // At most 5 a second get as far as the Origin check, whatever the machine's load spreads the flood over.
  const seconds = Math.ceil((performance.now() - started) / 1000);
  assert.ok(byOrigin >= 1 && byOrigin <= 5 * (seconds + 1) && byOrigin < 100, `${byOrigin} closed for their origin in ${seconds}s`);
  assert.is(byOrigin + count(CloseCode.TooManyConnections) + count(CloseCode.HandshakeRateLimited), 300, codes.join(','));
  assert.is(g.upgrades.refusals.origin, byOrigin);
  assert.is((await metric(g, 'connections_per_ip')) + (await metric(g, 'handshake_rate')), 300 - byOrigin);
  assert.is((await connectFrom(g, NEIGHBOUR)).outcome, 'connected', 'another address is served');
  const logged = lines.map((l) => JSON.parse(l) as { msg: string; count?: number });
  const originLines = logged.filter((l) => l.msg === 'WebSocket refused: origin not allowed');
  assert.is(originLines.length, 1, 'one line a minute');
  assert.is(originLines[0].count, 1);
  assert.is(logged.filter((l) => l.msg.startsWith('refusing connections from an address')).length, 1);
  assert.ok(lines.join('').length < 4096, `${lines.join('').length} bytes logged`);
});

test('0 turns the limits off', async () => {
  const g = await gateway({ GATEHOUSE_MAX_CONNECTIONS_PER_IP: '0', GATEHOUSE_HANDSHAKE_RATE_PER_IP: '0' });
  const outcomes = await Promise.all(Array.from({ length: 30 }, () => connectFrom(g, FLOODER).then((r) => r.outcome)));
  assert.ok(outcomes.every((o) => o === 'connected'));
});

test.run();
