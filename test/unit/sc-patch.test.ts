// budget: 30s
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as socketClusterClient from 'socketcluster-client';
import * as socketClusterServer from 'socketcluster-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { patchSocketMethods } from '../../server/sc/patch';
import { SEAMS, seamProblems, type Seam, type SeamOwner } from '../../server/sc/seams';

const seam = { name: `test-seam-${Math.random()}`, file: 'server/x.ts' };

test('patches once per seam, handing the original methods to the patch', () => {
  class Socket {
    greet(name: string) {
      return `hello ${name}`;
    }
  }
  let calls = 0;
  const install = () =>
    patchSocketMethods(Socket, seam, ['greet'], (original) => {
      calls++;
      return {
        greet(name: string) {
          return `${String(original.greet.call(this, name))}!`;
        },
      };
    });
  install();
  install();
  assert.is(calls, 1);
  assert.is(new Socket().greet('ann'), 'hello ann!');
});

test('a missing seam fails loudly, naming the method and the file to review, and patches nothing', () => {
  class Socket {
    kept() {
      return 1;
    }
  }
  assert.throws(
    () => patchSocketMethods(Socket, { name: 'gone', file: 'server/y.ts' }, ['kept', 'moved' as 'kept'], () => ({ kept: () => 2 })),
    /AGServerSocket#moved; review server\/y\.ts/,
  );
  assert.is(new Socket().kept(), 1);
});

/**
 * One of each owner the seams table names, from the installed socketcluster-server and ws (nothing patched: this file
 * installs no seam): a real AGServer on 127.0.0.1 and the server socket of a real client connected to it.
 */
async function liveOwners(): Promise<{ owners: Record<SeamOwner, object>; close(): Promise<void> }> {
  const http = createServer();
  const server = socketClusterServer.attach(http);
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as AddressInfo;
  const connected = (async () => {
    for await (const { socket } of server.listener('connection')) return socket;
    throw new Error('the server closed before a socket connected');
  })();
  const client = socketClusterClient.create({ hostname: '127.0.0.1', port, autoReconnect: false });
  const socket = await connected;
  return {
    owners: {
      'AGServerSocket.prototype': socketClusterServer.AGServerSocket.prototype,
      AGServerSocket: socket,
      AGServer: server,
      'WebSocketServer.options': server.wsServer.options,
      'WebSocket.prototype': WebSocket.prototype,
      WebSocket: socket.socket,
      Sender: (WebSocket as unknown as { Sender: object }).Sender,
      'Sender.prototype': (WebSocket as unknown as { Sender: { prototype: object } }).Sender.prototype,
      AGSimpleBroker: server.brokerEngine,
    },
    async close() {
      client.disconnect();
      await server.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

test('every member the seams table names is in the installed SocketCluster and ws, of the expected arity', async () => {
  const live = await liveOwners();
  try {
    assert.equal(seamProblems(live.owners), []);
  } finally {
    await live.close();
  }
});

test('the seams table: unique names, members named, a why and a file for each, an installer for each replacement', () => {
  const names = SEAMS.map((seam) => seam.name);
  assert.equal([...new Set(names)], names);
  for (const seam of SEAMS) {
    assert.ok(seam.members.length > 0, `${seam.name} names no member`);
    assert.ok(seam.why.length > 0 && seam.file.startsWith('server/sc/'), `${seam.name} lacks a why or a file in server/sc/`);
    assert.ok(seam.kind === 'reads' || seam.install !== undefined, `${seam.name} replaces members but has no installer`);
  }
});

test('the check names each member missing, no longer a function, or of another arity', () => {
  const seam: Seam = {
    name: 'probe',
    kind: 'reads',
    why: 'a test',
    file: 'server/sc/probe.ts',
    members: [
      { owner: 'AGServer', name: 'gone' },
      { owner: 'AGServer', name: 'field', arity: 0 },
      { owner: 'AGServer', name: 'two', arity: 1 },
      { owner: 'AGServer', name: 'one', arity: 1 },
      { owner: 'AGSimpleBroker', name: 'not checked: no owner given' },
    ],
  };
  const owner = { field: 1, two: (a: unknown, b: unknown) => [a, b], one: (a: unknown) => a };
  assert.equal(seamProblems({ AGServer: owner }, [seam]), [
    'AGServer.gone (seam probe, server/sc/probe.ts) is missing',
    'AGServer.field (seam probe, server/sc/probe.ts) is no longer a function',
    'AGServer.two (seam probe, server/sc/probe.ts) takes 2 parameters, not 1',
  ]);
});

test.run();
