// budget: 60s
// The node's handshake pacing (server/floods/handshake-pacer.ts) at the upgrade: past its handshake rate, or while its
// event loop is late, an upgrade is answered HTTP 503 with Retry-After before any WebSocket is made, it is counted by
// reason, it counts against no address, and a crowd of client-library clients all come back by backing off.
import { request } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createClient, memoryStorage, storageKey } from '../../client';
import type { Gateway } from '../../server/gateway';
import { mintHs256, waitFor, type Connected } from '../helpers/gateway';
import { upgradeRequest } from '../helpers/raw-socket';
import { useScope } from '../helpers/scope';

const scope = useScope(test);

type Answer = { status: number; retryAfter?: string };

/** One WebSocket upgrade request as a browser sends it: 101, or the HTTP status it was refused with. */
function upgrade(port: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/socketcluster/',
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64') },
    });
    req.setTimeout(10_000, () => req.destroy(new Error('upgrade timed out')));
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
    });
    req.on('error', reject);
    req.end();
  });
}

async function metrics(g: Gateway): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${g.address().port}/metrics`, { signal: AbortSignal.timeout(3000) });
  return res.text();
}

function counter(text: string, name: string, reason: string): number {
  const m = new RegExp(`^${name}\\{reason="${reason}"[^}]*\\} (\\d+)`, 'm').exec(text);
  return Number(m?.[1] ?? NaN);
}

function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('past GATEHOUSE_MAX_HANDSHAKE_RATE an upgrade gets HTTP 503 with Retry-After, counted as node_rate and against no address', async () => {
  // 2 a slice, and a per-address rate that most of these would pass if shed upgrades counted against it.
  const CROWD = 120;
  const PER_IP = 100;
  const g = await scope.gateway({ GATEHOUSE_MAX_HANDSHAKE_RATE: '100', GATEHOUSE_HANDSHAKE_RATE_PER_IP: String(PER_IP) });
  const answers = await Promise.all(Array.from({ length: CROWD }, () => upgrade(g.address().port)));
  const shed = answers.filter((a) => a.status === 503);
  // 101 includes an upgrade the address limit diverts (accepted, then closed with 4102).
  const upgraded = answers.filter((a) => a.status === 101).length;
  assert.is(shed.length + upgraded, CROWD, JSON.stringify(answers));
  assert.ok(upgraded >= 2 && shed.length >= 10, `${upgraded} upgraded, ${shed.length} shed`);
  assert.ok(
    shed.every((a) => a.retryAfter === '1'),
    'every 503 says Retry-After: 1',
  );
  const text = await metrics(g);
  assert.is(counter(text, 'gatehouse_upgrades_refused_total', 'node_rate'), shed.length);
  const byAddress = counter(text, 'gatehouse_flood_refusals_total', 'handshake_rate');
  assert.ok(byAddress <= Math.max(0, upgraded - PER_IP), `${byAddress} refused by the address limit: shed upgrades were counted against it`);
});

test('while the event loop is late, one upgrade of the slice goes through and the rest get 503, counted as loop_delay', async () => {
  const g = await scope.gateway({ GATEHOUSE_MAX_LOOP_DELAY: '30ms' });
  const port = g.address().port;
  assert.is((await upgrade(port)).status, 101, 'on time, the first starts the sampling');
  const sockets: Socket[] = [];
  for (let i = 0; i < 10; i++) {
    const socket = scope.own(tcpConnect(port, '127.0.0.1'), (s) => s.destroy(), 'raw socket');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    sockets.push(socket);
  }
  const answers = sockets.map(
    (socket) =>
      new Promise<number>((resolve) => {
        let head = '';
        socket.on('data', (chunk) => {
          head += chunk.toString('latin1');
          const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
          if (m) resolve(Number(m[1]));
        });
        socket.on('close', () => resolve(0));
      }),
  );
  for (const socket of sockets) {
    socket.write(upgradeRequest(port));
  }
  // The requests are in the node's socket buffers; the loop (the node's and this test's) is held past the limit.
  block(150);
  const statuses = await Promise.all(answers);
  const shed = statuses.filter((s) => s === 503).length;
  assert.ok(shed >= 8, `statuses: ${statuses.join(',')}`);
  assert.is(shed + statuses.filter((s) => s === 101).length, 10, statuses.join(','));
  assert.is(counter(await metrics(g), 'gatehouse_upgrades_refused_total', 'loop_delay'), shed);
  await waitFor(async () => (await upgrade(port)).status === 101, 5000, 'the loop on time again admits');
});

test('a node holding GATEHOUSE_MAX_CONNECTIONS answers the next upgrade 503 (node_full); a freed place is taken again', async () => {
  const g = await scope.gateway({ GATEHOUSE_MAX_CONNECTIONS: '3' });
  const held: Connected[] = [];
  for (let i = 0; i < 3; i++) held.push(await scope.connect(g, mintHs256({ sub: `full-${i}` })));
  const refused = await upgrade(g.address().port);
  assert.equal(refused, { status: 503, retryAfter: '1' });
  assert.is(counter(await metrics(g), 'gatehouse_upgrades_refused_total', 'node_full'), 1);
  held[0].client.disconnect();
  await waitFor(async () => (await upgrade(g.address().port)).status === 101, 5000, 'the freed place');
});

test('a crowd of 40 client-library clients arriving at once on a node pacing 50 a second all end authenticated', async () => {
  const g = await scope.gateway({ GATEHOUSE_MAX_HANDSHAKE_RATE: '50' });
  const url = `http://127.0.0.1:${g.address().port}`;
  const clients = await Promise.all(
    Array.from({ length: 40 }, async (_, i) => {
      const storage = memoryStorage();
      await storage.set(storageKey(url), mintHs256({ sub: `crowd-${i}` }));
      return scope.own(createClient({ url, storage, ackTimeout: 3000 }), (c) => c.close(), 'client');
    }),
  );
  await waitFor(() => clients.every((c) => c.state.authenticated), 20_000, 'every client authenticated');
  assert.ok(counter(await metrics(g), 'gatehouse_upgrades_refused_total', 'node_rate') > 0, 'some were shed on the way');
});

test.run();
