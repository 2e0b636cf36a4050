// budget: 90s
// GATEHOUSE_MAX_BUFFERED bounds the memory held for a client that does not read. A publisher's
// burst (100 messages of up to 64 KiB) is checked per message as it is queued, not by a sweep after the fact; the
// slow consumer's connection is destroyed at once (its send buffer freed), not left to ws's 30 s close timeout; and
// GATEHOUSE_MAX_BUFFERED_TOTAL bounds the node's total, visible in /metrics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import type { ServerSocket } from '../../server/sc/facade';
import { CloseCode } from '../../shared';
import { exchangeCollect, rawSocket, subscribe, type RawSocket } from '../helpers/channels';
import { mintHs256, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

const KiB = 1024;
const MiB = 1024 * KiB;
const MAX_PAYLOAD = 80 * KiB;
/** A publisher's burst: 100 messages of up to 64 KiB (sizes vary, most near the top). */
const BURST = Array.from({ length: 100 }, (_, i) => 'm'.repeat(64 * KiB - (i % 7) * 1500));

let gw: Gateway | undefined;
const scope = useScope(test);

async function client(sub: string): Promise<AGClientSocket> {
  const { client: c } = await scope.connect(gw!, mintHs256({ sub, channels: ['*'] }));
  return c;
}

/** A subscriber that stops reading its TCP connection once subscribed. */
async function stalledSubscriber(sub: string, channel: string): Promise<RawSocket & { server: ServerSocket }> {
  const raw = scope.own(await rawSocket(gw!, mintHs256({ sub, channels: ['*'] })), (r) => r.close(), 'raw socket');
  const answer = await raw.call('#subscribe', { channel });
  assert.is(answer.error, undefined);
  raw.pauseReading();
  return Object.assign(raw, { server: gw!.agServer.clients[raw.id] });
}

/** Samples every socket's WebSocket buffer on every turn of the event loop: the largest seen, per socket and summed. */
function sampleBuffers(gateway: Gateway) {
  const perSocket = new Map<string, number>();
  let maxTotal = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    let total = 0;
    for (const [id, socket] of Object.entries(gateway.agServer.clients)) {
      const buffered = socket.socket?.bufferedAmount ?? 0;
      total += buffered;
      perSocket.set(id, Math.max(perSocket.get(id) ?? 0, buffered));
    }
    maxTotal = Math.max(maxTotal, total);
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    perSocket,
    get maxTotal() {
      return maxTotal;
    },
    stop() {
      running = false;
    },
  };
}

/** How each server socket closed, by id (the code SocketCluster records, not what a stalled client can read). */
function closeCodes(gateway: Gateway): Map<string, number> {
  const codes = new Map<string, number>();
  const server = gateway.agServer as unknown as { listener(n: string): AsyncIterable<{ socket: { id: string }; code: number }> };
  void (async () => {
    for await (const { socket, code } of server.listener('disconnection')) codes.set(socket.id, code);
  })();
  return codes;
}

test('a publisher burst to a client that does not read: checked as queued, and the buffer freed at the close', async () => {
  gw = await scope.gateway({ GATEHOUSE_MAX_PAYLOAD: `${MAX_PAYLOAD}`, GATEHOUSE_MAX_BUFFERED: '1MiB', GATEHOUSE_PUBLISH_BURST: '200' });
  const codes = closeCodes(gw);
  const slow = await stalledSubscriber('slow', 'burst');
  const reader = await subscribe(await client('reader'), 'burst');
  const publisher = await client('publisher');
  const sampler = sampleBuffers(gw);

  for (const message of BURST) void publisher.transmitPublish('burst', message);
  await reader.waitFor(BURST.length, 15_000);
  await waitFor(() => slow.server.state === slow.server.CLOSED, 5000, 'the slow consumer to be closed');
  sampler.stop();

  const peak = sampler.perSocket.get(slow.id) ?? 0;
  assert.ok(peak <= 1 * MiB, `the slow socket's buffer peaked at ${(peak / MiB).toFixed(2)} MiB, over the 1 MiB limit`);
  // Destroyed, not closing: ws would otherwise keep the send buffer until the peer answers or 30 s pass.
  const ws = slow.server.socket as unknown as { readyState: number; _socket?: { destroyed: boolean; writableLength: number } };
  await waitFor(() => ws.readyState === 3, 500, 'the connection to be destroyed at once');
  assert.ok(ws._socket === undefined || ws._socket.destroyed);
  assert.is(codes.get(slow.id), CloseCode.SlowConsumer);
  assert.is(gw.channels.denials.get('slow_consumer'), 1);
  assert.is(gw.channels.outbound.measure(), 0, 'nothing is held for anyone once the burst is read');

  // The client that did not read sees its connection dropped (it never reads the close frame).
  slow.resumeReading();
  assert.is(await slow.closed, 1006);
  // The reader and the publisher were never touched.
  assert.equal(reader.messages, BURST);
  assert.is(publisher.state, publisher.OPEN);
});

test('a node-wide cap: the furthest-behind readers are closed first, readers that keep up get everything', async () => {
  gw = await scope.gateway({
    GATEHOUSE_MAX_PAYLOAD: `${MAX_PAYLOAD}`,
    GATEHOUSE_MAX_BUFFERED: '2MiB',
    GATEHOUSE_MAX_BUFFERED_TOTAL: '3MiB',
    GATEHOUSE_PUBLISH_BURST: '200',
  });
  const stalled: (RawSocket & { server: ServerSocket })[] = [];
  for (let i = 0; i < 4; i++) stalled.push(await stalledSubscriber(`stalled-${i}`, 'burst'));
  const reader = await subscribe(await client('reader'), 'burst');
  const publisher = await client('publisher');
  const sampler = sampleBuffers(gw);

  // Ten at a time, each ten acknowledged: a reader in this process can keep up only if the node gives it turns (the
  // whole burst at once held it 2 MiB behind, and it was closed as slow like the stalled ones). The stalled readers
  // still take all 100 messages (6 MiB) against a 3 MiB node cap.
  for (let i = 0; i < BURST.length; i += 10) await Promise.all(BURST.slice(i, i + 10).map((m) => publisher.invokePublish('burst', m)));
  await reader.waitFor(BURST.length, 15_000);
  await waitFor(() => stalled.every((s) => s.server.state === s.server.CLOSED), 5000, 'every stalled reader to be closed');
  sampler.stop();

  // The total stays within the cap, plus at most one message for each socket not yet behind.
  const slack = 6 * (MAX_PAYLOAD + 64 * KiB);
  assert.ok(sampler.maxTotal <= 3 * MiB + slack, `the node held ${(sampler.maxTotal / MiB).toFixed(2)} MiB`);
  for (const s of stalled) assert.ok((sampler.perSocket.get(s.id) ?? 0) <= 2 * MiB);
  assert.ok(gw.channels.denials.get('node_buffer_full') >= 1, 'the node cap, not only the per-socket one, closed someone');
  assert.equal(reader.messages, BURST);

  const text = await (await fetch(`http://127.0.0.1:${gw.address().port}/metrics`)).text();
  const gauge = /^gatehouse_outbound_buffered_bytes\{[^}]*\} (\d+)$/m.exec(text);
  assert.ok(gauge, 'the gauge is exported');
  assert.ok(Number(gauge[1]) < MAX_PAYLOAD, `after the close the node holds ${gauge[1]} bytes`);
  assert.match(text, /gatehouse_denials_total\{reason="node_buffer_full"[^}]*\} [1-9]/);
});

test('a server-side exchange subscriber is not a socket: it gets every message, however many bytes pass', async () => {
  gw = await scope.gateway({ GATEHOUSE_MAX_PAYLOAD: `${MAX_PAYLOAD}`, GATEHOUSE_MAX_BUFFERED: '1MiB' });
  const { seen, stop } = exchangeCollect(gw, 'server-side');
  try {
    for (let round = 0; round < 3; round++) {
      for (const message of BURST) await gw.agServer.exchange.invokePublish('server-side', message);
    }
    await waitFor(() => seen.length === 3 * BURST.length, 5000, `every message (${seen.length} of ${3 * BURST.length})`);
  } finally {
    stop();
  }
});

test.run();
