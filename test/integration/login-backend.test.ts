import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { ErrorName } from '../../shared';
import { connectClient, nextEvent } from '../helpers/gateway';
import { decodePayload, invokeLogin, postLogin, reply, startLoginGateway, TestBackend } from '../helpers/login';

// The gateway's backend timeout is 3 s; these gateways wait 300 ms so the timeout case stays fast.
const TIMEOUT_MS = 300;
const backend = new TestBackend();
let gw: Gateway;
let client: AGClientSocket;

/** A backend like an app's: alice/secret is user-alice, anything else 401, "locked" 403. */
function appBackend() {
  backend.handler = ({ username, password }, res) => {
    if (username === 'alice' && password === 'secret')
      return reply(res, 200, { sub: 'user-alice', channels: { news: ['subscribe'] }, claims: { plan: 'pro', exp: 1, sid: 'forged' } });
    if (username === 'locked') return reply(res, 403, { error: 'locked' });
    return reply(res, 401, { error: 'nope' });
  };
}

test.before(async () => {
  await backend.start();
  // The first fetch of a process loads undici, which on a loaded machine alone can take longer than the 300 ms timeout.
  await fetch(backend.url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(10_000) }).then((r) => r.body?.cancel());
  backend.calls = 0;
  gw = await startLoginGateway(
    {
      GATEHOUSE_LOGIN_URL: backend.url,
      GATEHOUSE_LOGIN_MAX_FAILURES: '1000',
      GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP: '1000',
      GATEHOUSE_LOGIN_RATE_PER_USER: '1000',
      GATEHOUSE_LOGIN_RATE_PER_IP: '1000',
    },
    { loginTimeoutMs: TIMEOUT_MS },
  );
  client = connectClient(gw);
  await nextEvent(client, 'connect');
});
test.before.each(() => {
  appBackend();
  backend.calls = 0;
});
test.after(async () => {
  client.disconnect();
  await gw.close();
  await backend.stop();
});

/** Both flows for one payload: the RPC error name and the HTTP status and error name. */
async function both(data: unknown) {
  const rpc = await invokeLogin(client, data);
  const http = await postLogin(gw, data);
  return { rpc, http };
}

test('200 from the backend: RPC login authenticates, HTTP login answers a token', async () => {
  const { rpc, http } = await both({ username: 'alice', password: 'secret' });
  assert.is(rpc.answer?.sub, 'user-alice');
  const claims = client.authToken as Record<string, unknown>;
  assert.equal(claims.channels, { news: ['subscribe'] });
  assert.is(claims.plan, 'pro');
  assert.is.not(claims.sid, 'forged');
  assert.is.not(claims.exp, 1);
  assert.is(http.status, 200);
  const token = decodePayload(http.body.token!);
  assert.is(token.sub, 'user-alice');
  assert.is(http.body.expiresAt, token.exp);
  assert.is(token.plan, 'pro');
  assert.is(backend.calls, 2);
});

test('the backend receives exactly {username, password} as JSON', async () => {
  let seen: unknown;
  let type: string | undefined;
  backend.handler = (body, res, req) => {
    seen = body;
    type = req.headers['content-type'];
    reply(res, 401, {});
  };
  await invokeLogin(client, { username: 'alice', password: 'p@ss "quoted"', extra: 'dropped' });
  assert.equal(seen, { username: 'alice', password: 'p@ss "quoted"' });
  assert.is(type, 'application/json');
});

// Every 4xx is a failed login (server/login/http-verifier.ts): a 404 for an unknown user must not answer differently
// from a 401, and a 400 for a wrong password must count against the limit like any other failure.
for (const [status, name] of [
  [401, 'wrong credentials'],
  [403, 'forbidden'],
  [404, 'unknown user'],
  [400, 'bad password'],
  [422, 'unprocessable'],
  [429, "the backend's own limit"],
] as const) {
  test(`${status} from the backend (${name}) → LoginError / HTTP 401`, async () => {
    backend.handler = (_b, res) => reply(res, status, {});
    const { rpc, http } = await both({ username: 'alice', password: 'wrong' });
    assert.is(rpc.error?.name, ErrorName.Login);
    assert.is(http.status, 401);
    assert.is(http.body.error?.name, ErrorName.Login);
  });
}

const unavailable: [string, () => void][] = [
  [
    '500',
    () => {
      backend.handler = (_b, res) => reply(res, 500, { sub: 'user-alice' });
    },
  ],
  [
    '502',
    () => {
      backend.handler = (_b, res) => reply(res, 502, {});
    },
  ],
  [
    'a redirect',
    () => {
      backend.handler = (_b, res) => res.writeHead(307, { location: 'http://127.0.0.1:1/steal' }).end();
    },
  ],
  [
    '200 without sub',
    () => {
      backend.handler = (_b, res) => reply(res, 200, { user: 'alice' });
    },
  ],
  [
    '200 with a non-string sub',
    () => {
      backend.handler = (_b, res) => reply(res, 200, { sub: 7 });
    },
  ],
  [
    '200 with a sub over 128 characters',
    () => {
      backend.handler = (_b, res) => reply(res, 200, { sub: 's'.repeat(129) });
    },
  ],
  [
    '200 with malformed channels',
    () => {
      backend.handler = (_b, res) => reply(res, 200, { sub: 'a', channels: 'chat:*' });
    },
  ],
  [
    '200 with claims that are not an object',
    () => {
      backend.handler = (_b, res) => reply(res, 200, { sub: 'a', claims: ['x'] });
    },
  ],
  [
    '200 with claims too big for a token',
    () => {
      backend.handler = (_b, res) => reply(res, 200, { sub: 'a', claims: { pad: 'x'.repeat(5000) } });
    },
  ],
  [
    '200 with a body that is not JSON',
    () => {
      backend.handler = (_b, res) => res.writeHead(200).end('<html>');
    },
  ],
  [
    '200 with a body over 64 KiB',
    () => {
      backend.handler = (_b, res) => reply(res, 200, { sub: 'a', junk: 'x'.repeat(70_000) });
    },
  ],
  [
    'no answer within the timeout',
    () => {
      backend.handler = (_b, res) => backend.later(TIMEOUT_MS * 4, () => reply(res, 200, { sub: 'late' }));
    },
  ],
  [
    'headers in time but the body too late',
    () => {
      backend.handler = (_b, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"sub":');
        backend.later(TIMEOUT_MS * 4, () => res.end('"late"}'));
      };
    },
  ],
];
for (const [name, arrange] of unavailable) {
  test(`backend answers ${name} → LoginUnavailableError / HTTP 503`, async () => {
    arrange();
    const { rpc, http } = await both({ username: 'alice', password: 'secret' });
    assert.is(rpc.error?.name, ErrorName.LoginUnavailable);
    assert.is(http.status, 503);
    assert.is(http.body.error?.name, ErrorName.LoginUnavailable);
  });
}

test('backend down → LoginUnavailableError / HTTP 503; back up → login works', async () => {
  await backend.stop();
  try {
    const { rpc, http } = await both({ username: 'alice', password: 'secret' });
    assert.is(rpc.error?.name, ErrorName.LoginUnavailable);
    assert.is(http.status, 503);
    assert.is(http.body.error?.name, ErrorName.LoginUnavailable);
  } finally {
    await backend.start();
  }
  assert.is((await invokeLogin(client, { username: 'alice', password: 'secret' })).answer?.sub, 'user-alice');
});

test('an unavailable backend does not count as a failed login', async () => {
  const g = await startLoginGateway({ GATEHOUSE_LOGIN_URL: backend.url, GATEHOUSE_LOGIN_MAX_FAILURES: '1' }, { loginTimeoutMs: TIMEOUT_MS });
  try {
    backend.handler = (_b, res) => reply(res, 500, {});
    for (let i = 0; i < 3; i++) assert.is((await postLogin(g, { username: 'alice', password: 'secret' })).status, 503);
    appBackend();
    assert.is((await postLogin(g, { username: 'alice', password: 'secret' })).status, 200);
  } finally {
    await g.close();
  }
});

test('a wrong password answered 404 counts against the limit like a 401', async () => {
  const g = await startLoginGateway({ GATEHOUSE_LOGIN_URL: backend.url, GATEHOUSE_LOGIN_MAX_FAILURES: '2' }, { loginTimeoutMs: TIMEOUT_MS });
  try {
    backend.handler = (_b, res) => reply(res, 404, { error: 'no such user' });
    for (let i = 0; i < 2; i++) assert.is((await postLogin(g, { username: 'ghost', password: 'x' })).body.error?.name, ErrorName.Login);
    assert.is((await postLogin(g, { username: 'ghost', password: 'x' })).body.error?.name, ErrorName.RateLimited);
    assert.is(backend.calls, 2);
  } finally {
    await g.close();
  }
});

test('while the backend is down, attempts are still rate-limited per address', async () => {
  const g = await startLoginGateway({ GATEHOUSE_LOGIN_URL: backend.url, GATEHOUSE_LOGIN_RATE_PER_IP: '3' }, { loginTimeoutMs: TIMEOUT_MS });
  try {
    backend.handler = (_b, res) => reply(res, 503, {});
    const names: unknown[] = [];
    for (let i = 0; i < 5; i++) names.push((await postLogin(g, { username: `user-${i}`, password: 'x' })).body.error?.name);
    assert.equal(names, [ErrorName.LoginUnavailable, ErrorName.LoginUnavailable, ErrorName.LoginUnavailable, ErrorName.RateLimited, ErrorName.RateLimited]);
    assert.is(backend.calls, 3, 'refused attempts never reached the backend');
  } finally {
    await g.close();
  }
});

test('at most 16 requests to the backend at once; the rest wait within the timeout', async () => {
  const g = await startLoginGateway({ GATEHOUSE_LOGIN_URL: backend.url, GATEHOUSE_TRUST_PROXY: '127.0.0.1' }, { loginTimeoutMs: 5000 });
  try {
    let open = 0;
    let peak = 0;
    backend.handler = (_b, res) => {
      open++;
      peak = Math.max(peak, open);
      backend.later(300, () => {
        open--;
        reply(res, 401, {});
      });
    };
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => postLogin(g, { username: `u${i}`, password: 'x' }, { 'x-forwarded-for': `198.51.100.${i + 1}` })),
    );
    assert.ok(
      results.every((r) => r.body.error?.name === ErrorName.Login),
      'every login was answered by the backend in time',
    );
    assert.ok(peak <= 16 && peak >= 8, `peak ${peak}`);
  } finally {
    await g.close();
  }
});

test('rate-limited attempts never reach the backend', async () => {
  const g = await startLoginGateway({ GATEHOUSE_LOGIN_URL: backend.url, GATEHOUSE_LOGIN_MAX_FAILURES: '2' }, { loginTimeoutMs: TIMEOUT_MS });
  try {
    const c = connectClient(g);
    await nextEvent(c, 'connect');
    for (let i = 0; i < 2; i++) assert.is((await invokeLogin(c, { username: 'alice', password: 'wrong' })).error?.name, ErrorName.Login);
    assert.is(backend.calls, 2);
    for (let i = 0; i < 3; i++) {
      const limited = await invokeLogin(c, { username: 'alice', password: 'secret' });
      assert.is(limited.error?.name, ErrorName.RateLimited);
      assert.ok((limited.error?.retryAfter ?? 0) >= 1);
    }
    const http = await postLogin(g, { username: 'alice', password: 'secret' });
    assert.is(http.status, 429);
    assert.is(http.body.error?.name, ErrorName.RateLimited);
    assert.ok(Number(http.headers.get('retry-after')) >= 1);
    assert.is(backend.calls, 2, 'no attempt past the limit reached the verifier');
    c.disconnect();
  } finally {
    await g.close();
  }
});

test('parallel attempts cannot slip past the limit', async () => {
  const g = await startLoginGateway(
    { GATEHOUSE_LOGIN_URL: backend.url, GATEHOUSE_LOGIN_MAX_FAILURES: '3', GATEHOUSE_TRUST_PROXY: '127.0.0.1' },
    { loginTimeoutMs: TIMEOUT_MS },
  );
  try {
    backend.handler = (_b, res) => backend.later(50, () => reply(res, 401, {}));
    // From ten addresses: one address may only have two logins in flight at all.
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => postLogin(g, { username: 'alice', password: 'guess' }, { 'x-forwarded-for': `192.0.2.${i + 1}` })),
    );
    assert.is(results.filter((r) => r.status === 401).length, 3);
    assert.is(results.filter((r) => r.status === 429).length, 7);
    assert.is(backend.calls, 3);
  } finally {
    await g.close();
  }
});

test.run();
