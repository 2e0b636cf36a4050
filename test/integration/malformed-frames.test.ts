import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import type { AGClientSocket } from 'socketcluster-client';
import { MIN_MAX_PAYLOAD } from '../../server/config';
import type { Gateway } from '../../server/gateway';
import { CloseCode, ErrorName } from '../../shared';
import { httpRequest, mintHs256, waitFor } from '../helpers/gateway';
import type { Raw } from '../helpers/raw-socket';
import { useScope } from '../helpers/scope';

let gw: Gateway;
let bystander: AGClientSocket;
let connections = 0;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  gw = await suiteScope.gateway({ GATEHOUSE_MAX_PAYLOAD: '16KiB' });
  gw.procedures.register('echo', async (data) => data);
  gw.onConnection(() => {
    connections++;
  });
  bystander = (await suiteScope.connect(gw, mintHs256({ sub: 'bystander' }))).client;
});
test.after.each(async () => {
  // After every storm: the node still serves, the bystander still works, and a newcomer can connect.
  assert.is(gw.state, 'ready');
  assert.is((await httpRequest(gw.address().port, '/healthz')).status, 200);
  assert.is(await bystander.invoke('echo', 'ping'), 'ping');
  const { client, status } = await scope.connect(gw, mintHs256({ sub: 'newcomer' }));
  assert.is(status.isAuthenticated, true);
  assert.is(await client.invoke('echo', 1), 1);
});

async function handshaken(token: unknown = null): Promise<Raw> {
  const raw = await scope.raw(gw.address().port).open();
  await raw.call('#handshake', { authToken: token });
  return raw;
}

test('garbage before the handshake closes that socket only', async () => {
  const raw = await scope.raw(gw.address().port).open();
  raw.send('hello, is this HTTP?');
  assert.is(await raw.closeCode(), 4009);
});

test('a #handshake with a non-string token is answered as an invalid token', async () => {
  for (const token of [12345, { alg: 'none' }, ['a', 'b'], true, 'x'.repeat(20_000).slice(0, 12_000)]) {
    const raw = await scope.raw(gw.address().port).open();
    const answer = await raw.call('#handshake', { authToken: token });
    const status = answer.data as { isAuthenticated: boolean; authError?: { name: string } };
    assert.is(status.isAuthenticated, false, JSON.stringify(token).slice(0, 30));
    assert.is(status.authError?.name, ErrorName.AuthTokenInvalid, JSON.stringify(token).slice(0, 30));
  }
});

test('a #handshake with odd data shapes is survived', async () => {
  for (const data of [null, 'text', 42, [], { authToken: null, extra: 'x' }]) {
    const raw = await scope.raw(gw.address().port).open();
    const answer = await raw.call('#handshake', data);
    assert.is((answer.data as { isAuthenticated: boolean }).isAuthenticated, false);
  }
});

test('a #handshake without a cid closes that socket only', async () => {
  const raw = await scope.raw(gw.address().port).open();
  raw.send(JSON.stringify({ event: '#handshake', data: {} }));
  assert.is(await raw.closeCode(), 4008);
});

test('a second #handshake on an open socket is refused with BadRequestError and the socket closed (not left frozen)', async () => {
  const before = { clients: gw.agServer.clientsCount, connections };
  const raw = await handshaken(mintHs256({ sub: 'mallory' }));
  await waitFor(() => connections === before.connections + 1, 2000, 'the connection hook');
  assert.is(gw.agServer.clientsCount, before.clients + 1);
  // SocketCluster alone would leave this socket's inbound queue stuck for good (see server/sc/repeat-handshake-guard.ts).
  const answer = await raw.call('#handshake', { authToken: null });
  assert.is(answer.error?.name, ErrorName.BadRequest);
  assert.is(await raw.closeCode(), 4008);
  await waitFor(() => gw.agServer.clientsCount === before.clients, 2000, 'the count to come back');
  assert.is(connections, before.connections + 1, 'connection hooks ran once');
});

test('a burst of malformed frames after the handshake does not take the process down', async () => {
  const raw = await handshaken(mintHs256({ sub: 'fuzzer' }));
  const frames: (string | Buffer)[] = [
    '{"event":',
    'null',
    '0',
    '1e999999',
    '-',
    '"string"',
    '[]',
    '[1,2,3]',
    '{}',
    '{"event":123}',
    '{"event":null,"cid":1}',
    '{"rid":"nope"}',
    '{"rid":99999,"data":1}',
    '{"event":"#subscribe"}',
    '{"event":"#subscribe","data":null,"cid":"x"}',
    '{"event":"#subscribe","data":{"channel":{"a":1}},"cid":7}',
    '{"event":"#publish","data":{"channel":{}}}',
    '{"event":"#publish","data":null,"cid":8}',
    '{"event":"#unsubscribe","data":[1,2]}',
    '{"event":"#authenticate","data":12345,"cid":9}',
    '{"event":"#authenticate","data":{"x":1},"cid":10}',
    '{"event":"#removeAuthToken","data":"x"}',
    '{"event":"unknown-event","data":{}}',
    '{"event":"echo","data":"no cid"}',
    '{"event":"__proto__","cid":11}',
    '{"event":"constructor","data":{},"cid":12}',
    '{"__proto__":{"polluted":true},"event":"x"}',
    '[{"event":"echo","cid":13},{"event":"#subscribe"},null,5]',
    '['.repeat(8000) + ']'.repeat(8000),
    '{"a":'.repeat(3000),
    '\u0000\u0001\u0002',
    '\ud800',
    '#1',
    '#2',
    randomBytes(512),
    randomBytes(1),
    Buffer.from('{"event":"echo","data":1,"cid":14}'),
    Buffer.alloc(0),
  ];
  for (const f of frames) raw.send(f);
  for (let i = 0; i < 150; i++) raw.send(i % 3 === 0 ? randomBytes(64) : `{"event":"x${i}","data":${i % 2 ? '{' : '[]'}`);
  // Drained in order: an echo after the storm is answered once the socket has chewed through it.
  const answer = await raw.call('echo', 'after the storm');
  assert.is(answer.data, 'after the storm');
  assert.is(({} as Record<string, unknown>).polluted, undefined);
});

test('a storm of thousands of frames sent without waiting closes that socket with InboundBacklog', async () => {
  const raw = await handshaken(mintHs256({ sub: 'fuzzer' }));
  for (let i = 0; i < 5000; i++) raw.send(i % 3 === 0 ? randomBytes(64) : `{"event":"x${i}","data":${i % 2 ? '{' : '[]'}`);
  assert.is(await raw.closeCode(), CloseCode.InboundBacklog);
});

test('a frame over GATEHOUSE_MAX_PAYLOAD closes that socket with 1009', async () => {
  const raw = await handshaken();
  raw.send('x'.repeat(17 * 1024));
  assert.is(await raw.closeCode(), 1009);
});

test('at the smallest GATEHOUSE_MAX_PAYLOAD a handshake with a token just under 8 KiB still fits', async () => {
  const small = await scope.gateway({ GATEHOUSE_MAX_PAYLOAD: String(MIN_MAX_PAYLOAD) });
  const token = mintHs256({ sub: 'big', pad: 'x'.repeat(5900) });
  assert.ok(token.length > 8000 && token.length <= 8192, String(token.length));
  const { status } = await scope.connect(small, token);
  assert.is(status.isAuthenticated, true);
});

test('many sockets sending junk at once', async () => {
  const storm = await Promise.all(Array.from({ length: 20 }, () => handshaken()));
  for (const raw of storm) for (let i = 0; i < 200; i++) raw.send(randomBytes(32));
  const answers = await Promise.all(storm.map((raw) => raw.call('echo', 'ok')));
  assert.ok(answers.every((a) => a.data === 'ok'));
});

test('connections dropped mid-handshake are forgotten', async () => {
  const before = gw.agServer.pendingClientsCount + gw.agServer.clientsCount;
  const dropped = await Promise.all(Array.from({ length: 20 }, () => scope.raw(gw.address().port).open()));
  for (const raw of dropped) raw.ws.terminate();
  await waitFor(() => gw.agServer.pendingClientsCount + gw.agServer.clientsCount === before, 3000, 'the dropped sockets to be forgotten');
});

test.run();
