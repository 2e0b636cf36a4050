import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { BadRequestError, ErrorName } from '../../shared';
import { mintHs256 } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

const ACK_TIMEOUT = 5000;
let gw: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  gw = await suiteScope.gateway();
  gw.procedures.register('echo', async (data) => ({ echoed: data }));
  gw.procedures.register('picky', async () => {
    throw new BadRequestError('no');
  });
  gw.procedures.register('buggy', async () => {
    const err = new Error('connection string postgres://user:pw@db leaked') as Error & { secret?: string };
    err.secret = 'hunter2';
    throw err;
  });
});

async function client(token: string | null = null) {
  const r = await scope.connect(gw, token, { ackTimeout: ACK_TIMEOUT });
  return r.client;
}

/** Invokes and returns the error the client sees, with how long the answer took. */
async function invokeError(c: AGClientSocket, name: string, data?: unknown) {
  const started = Date.now();
  try {
    await c.invoke(name, data);
  } catch (err) {
    return { err: err as Error & Record<string, unknown>, ms: Date.now() - started };
  }
  assert.unreachable(`${name} was answered`);
  throw new Error('unreachable');
}

for (const [who, token] of [
  ['an anonymous socket', null],
  ['an authenticated socket', 'auth'],
] as const) {
  test(`an unknown procedure is refused at once with ProcedureNotFoundError (${who})`, async () => {
    const c = await client(token && mintHs256({ sub: 'alice' }));
    const { err, ms } = await invokeError(c, 'no-such-procedure', { x: 1 });
    assert.is(err.name, ErrorName.ProcedureNotFound);
    assert.is(err.procedure, 'no-such-procedure');
    // It is answered, not left to the client's ack timeout.
    assert.ok(ms < ACK_TIMEOUT / 2, `answered after ${ms} ms`);
  });
}

test('login on a node without login says which settings turn it on, over RPC and over HTTP', async () => {
  const c = await client();
  const { err } = await invokeError(c, 'login', { username: 'a', password: 'b' });
  assert.is(err.name, ErrorName.ProcedureNotFound);
  assert.is(err.message, 'No procedure named "login": login is not configured on this gateway (GATEHOUSE_USERS_FILE or GATEHOUSE_LOGIN_URL turns it on)');
  const http = await fetch(`http://127.0.0.1:${gw.address().port}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"username":"a","password":"b"}',
  });
  assert.is(http.status, 404);
  assert.equal(await http.json(), {
    error: {
      name: 'NotFoundError',
      message: 'No /auth/login: login is not configured on this gateway (GATEHOUSE_USERS_FILE or GATEHOUSE_LOGIN_URL turns it on)',
    },
  });
});

test('odd names are refused the same way', async () => {
  const c = await client();
  for (const name of ['#nope', 'Echo', 'echo ', '', 'x'.repeat(5000), '__proto__', 'constructor']) {
    const { err } = await invokeError(c, name);
    assert.is(err.name, ErrorName.ProcedureNotFound, JSON.stringify(name.slice(0, 20)));
  }
});

test('many unknown invokes in a row are each answered, and the socket stays usable', async () => {
  const c = await client();
  const names = await Promise.all(Array.from({ length: 200 }, (_, i) => c.invoke(`missing-${i}`, undefined).catch((e: Error) => e.name)));
  assert.ok(names.every((n) => n === ErrorName.ProcedureNotFound));
  assert.equal(await c.invoke('echo', 'still here'), { echoed: 'still here' });
});

test('a registered procedure answers', async () => {
  const c = await client();
  assert.equal(await c.invoke('echo', [1, 2]), { echoed: [1, 2] });
});

test("a procedure's GatehouseError reaches the client by name", async () => {
  const { err } = await invokeError(await client(), 'picky');
  assert.is(err.name, ErrorName.BadRequest);
});

test('any other error from a procedure is an InternalError that leaks nothing', async () => {
  const { err } = await invokeError(await client(), 'buggy');
  assert.is(err.name, 'InternalError');
  assert.is(err.secret, undefined);
  assert.not.match(err.message, 'postgres');
});

test('a socket is served each procedure from its first call: calls sent together, to two procedures, are all answered in order', async () => {
  const c = await client(mintHs256({ sub: 'alice' }));
  const answers = await Promise.all([
    c.invoke('echo', 1),
    c.invoke('echo', 2),
    c.invoke('picky', undefined).then(
      () => 'answered',
      (err: Error) => err.name,
    ),
    c.invoke('echo', 3),
  ]);
  assert.equal(answers, [{ echoed: 1 }, { echoed: 2 }, ErrorName.BadRequest, { echoed: 3 }]);
  // A second socket gets its own consumers.
  const d = await client();
  assert.equal(await d.invoke('echo', 'd'), { echoed: 'd' });
});

test('a procedure registered after sockets connected is served to them too', async () => {
  const c = await client();
  gw.procedures.register('late', async () => 'late answer');
  assert.is(await c.invoke('late', undefined), 'late answer');
});

test.run();
