// budget: 30s
// The broker's fan-out frames a publish once and writes that frame to every subscriber's WebSocket
// (server/sc/preframed-writes.ts): the stock client must receive byte for byte what ws' own `send` writes, a socket
// that negotiated permessage-deflate or is closing must take ws' `send` instead, and the slow-consumer budget and the
// write coalescing must see the pre-framed bytes as they see any other write.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as socketClusterClient from 'socketcluster-client';
import type { AGClientSocket } from 'socketcluster-client';
import * as socketClusterServer from 'socketcluster-server';
import type { AGServer } from 'socketcluster-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClusterBroker } from '../../server/cluster/broker';
import type { ServerSocket } from '../../server/sc/facade';
import { OutboundBudget } from '../../server/sc/outbound-budget';
import { SharedText, writeShared } from '../../server/sc/preframed-writes';
import { coalesceWritesOfTurn } from '../../server/sc/write-coalescing';
import { subscribe } from '../helpers/channels';
import { waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

const scope = useScope(test);

interface Node {
  readonly server: AGServer;
  readonly broker: ClusterBroker;
  readonly port: number;
}

/** A bare AGServer on 127.0.0.1:0 with the gateway's broker (no seam installed), closed with the test's scope. */
async function node(options: { perMessageDeflate?: boolean } = {}): Promise<Node> {
  const http = createServer();
  const broker = new ClusterBroker();
  const server = socketClusterServer.attach(http, { brokerEngine: broker, ...options });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  scope.defer(async () => {
    await server.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  }, 'server');
  return { server, broker, port: (http.address() as AddressInfo).port };
}

/** A stock socketcluster-client connected to `at`, and its socket on the server. */
async function connect(at: Node): Promise<{ client: AGClientSocket; socket: ServerSocket }> {
  const connected = (async () => {
    for await (const { socket } of at.server.listener('connection')) return socket;
    throw new Error('the server closed before a socket connected');
  })();
  const client = scope.own(socketClusterClient.create({ hostname: '127.0.0.1', port: at.port, autoReconnect: false }), (c) => c.disconnect(), 'client');
  return { client, socket: await connected };
}

/**
 * Records what is written to the socket's TCP connection (each chunk handed to `write`), and counts the calls of its
 * WebSocket's `send`, through which every frame but a pre-framed one passes.
 */
function tap(socket: ServerSocket): { take(): Buffer; readonly sends: number } {
  const tcp = socket.request.socket;
  const chunks: Buffer[] = [];
  const write = tcp.write.bind(tcp) as (...args: unknown[]) => boolean;
  tcp.write = (chunk: unknown, ...rest: unknown[]) => {
    chunks.push(Buffer.from(chunk as Buffer));
    return write(chunk, ...rest);
  };
  const ws = socket.socket;
  const send = ws.send.bind(ws) as (...args: unknown[]) => void;
  let sends = 0;
  ws.send = ((...args: unknown[]) => {
    sends++;
    send(...args);
  }) as typeof ws.send;
  return {
    take: () => Buffer.concat(chunks.splice(0)),
    get sends() {
      return sends;
    },
  };
}

/** The `#publish` packet the broker writes (sc-formatter's plain JSON). */
const packetOf = (channel: string, data: unknown) => JSON.stringify({ event: '#publish', data: { channel, data } });

// Payload sizes around ws' three length encodings and the one-buffer limit, and characters of 2 to 4 UTF-8 bytes.
const SAMPLES: unknown[] = ['short', { text: 'é ü 漢字 😀'.repeat(30) }, 'x'.repeat(2100), { big: 'y'.repeat(70_000) }];

test('a pre-framed publish puts on the wire exactly the bytes of ws’ send, and the stock client gets it', async () => {
  const at = await node();
  const { client, socket } = await connect(at);
  const inbox = await subscribe(client, 'room');
  const wire = tap(socket);
  for (const data of SAMPLES) {
    const sends = wire.sends;
    void at.broker.transmitPublish('room', data); // the fan-out writes synchronously
    const shared = wire.take();
    assert.is(wire.sends, sends, 'the publish was pre-framed');
    socket.send(packetOf('room', data), {}); // SocketCluster's own write of the same packet: ws frames it
    assert.ok(shared.length > 0);
    assert.ok(shared.equals(wire.take()), `the frames of ${JSON.stringify(data).slice(0, 40)} differ`);
  }
  await inbox.waitFor(2 * SAMPLES.length);
  assert.equal(
    inbox.messages,
    SAMPLES.flatMap((data) => [data, data]),
  );
});

test('one frame serves every subscriber', async () => {
  const at = await node();
  const a = await connect(at);
  const b = await connect(at);
  const inboxes = [await subscribe(a.client, 'room'), await subscribe(b.client, 'room')];
  const wires = [tap(a.socket), tap(b.socket)];
  void at.broker.transmitPublish('room', { n: 1 });
  const [first, second] = wires.map((w) => w.take());
  assert.ok(first.length > 0 && first.equals(second));
  assert.equal(
    wires.map((w) => w.sends),
    [0, 0],
  );
  for (const inbox of inboxes) await inbox.waitFor(1);
  assert.equal(
    inboxes.map((i) => i.messages),
    [[{ n: 1 }], [{ n: 1 }]],
  );
});

test('a socket with permessage-deflate negotiated gets the publish by ws’ send, compressed', async () => {
  const at = await node({ perMessageDeflate: true });
  const { client, socket } = await connect(at);
  assert.match(socket.socket.extensions, /permessage-deflate/);
  const inbox = await subscribe(client, 'room');
  const wire = tap(socket);
  assert.not.ok(writeShared(socket, new SharedText(Buffer.from(packetOf('room', 'x')))));
  assert.is(wire.take().length, 0, 'nothing written by the refused pre-framed write');
  for (const data of SAMPLES) void at.broker.transmitPublish('room', data);
  assert.is(wire.sends, SAMPLES.length);
  await inbox.waitFor(SAMPLES.length);
  assert.equal(inbox.messages, SAMPLES);
});

test('a closing WebSocket is left to ws’ send, which refuses the write as before', async () => {
  const at = await node();
  const { socket } = await connect(at);
  const wire = tap(socket);
  socket.socket.close(1000);
  wire.take(); // the close frame
  assert.not.ok(writeShared(socket, new SharedText(Buffer.from(packetOf('room', 'late')))));
  assert.is(wire.take().length, 0);
});

test('under the write coalescing, a pre-framed write waits for the uncork, counted by the slow-consumer budget', async () => {
  const at = await node();
  const { client, socket } = await connect(at);
  const inbox = await subscribe(client, 'room');
  const budget = new OutboundBudget(at.server, {
    perSocketBytes: 1 << 30,
    perNodeBytes: 1 << 30,
    behindBytes: 1 << 30,
    onSlow: () => assert.unreachable('no socket is slow here'),
  });
  at.broker.setDeliveryGate(budget);
  const tcp = socket.request.socket;
  assert.is(budget.measure(), 0);
  coalesceWritesOfTurn(socket);
  void at.broker.transmitPublish('room', 'held');
  const frameBytes = Buffer.byteLength(packetOf('room', 'held')) + 2;
  assert.is(tcp.writableLength, frameBytes, 'held in the corked TCP socket');
  assert.is(socket.socket.bufferedAmount, frameBytes);
  assert.is(budget.measure(), frameBytes, 'the budget visits the socket written to');
  await waitFor(() => inbox.messages.length === 1, 3000, 'the held message');
  assert.equal(inbox.messages, ['held']);
  assert.is(budget.measure(), 0);
});

test.run();
