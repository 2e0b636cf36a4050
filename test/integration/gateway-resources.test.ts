// gateway.close() releases everything the gateway opened: every timer, socket, server and Redis connection, counted
// with process.getActiveResourcesInfo() before and after (unref'd timers included), against a private redis-server.
import { createHook } from 'node:async_hooks';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import { Gateway } from '../../server/gateway';
import { createLogger } from '../../server/log';
import type Redis from 'ioredis';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { connectWithToken, mintHs256, startGateway, testConfig, waitFor } from '../helpers/gateway';
import { invokeLogin, writeUsersFile } from '../helpers/login';
import { TestRedis } from '../helpers/redis-server';

let redis: TestRedis;
let probe: Redis;
let usersFile: string;

test.before(async () => {
  redis = await TestRedis.start();
  probe = redis.client();
  await probe.ping();
  usersFile = await writeUsersFile([{ username: 'ann', password: 'ann-pw', sub: 'user-ann' }]);
});
test.after(async () => {
  probe.disconnect();
  await redis.close();
});

/**
 * Timers started by the gateway's code (ours, SocketCluster's, ioredis') that are still pending, by async id.
 * process.getActiveResourcesInfo() lists only what keeps the process alive, so an unref'd timer left behind needs this.
 */
const pendingTimers = new Map<number, string>();
/** Where a timer's creator lives when the gateway owns it: our server code, SocketCluster's server, ioredis. */
const OWNED_BY_GATEWAY = /\/server\/|node_modules\/(socketcluster-server|ag-[a-z-]+|ioredis|async-stream-emitter)\//;
createHook({
  init(id, type) {
    if (type !== 'Timeout') return;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 30;
    const frames = (new Error().stack ?? '').split('\n').slice(1);
    Error.stackTraceLimit = limit;
    // The frame right after Node's own timer frames is whoever called setTimeout/setInterval.
    let last = -1;
    frames.forEach((f, i) => {
      if (/node:(internal\/)?timers/.test(f)) last = i;
    });
    const creator = last < 0 ? undefined : frames[last + 1];
    if (creator && OWNED_BY_GATEWAY.test(creator))
      pendingTimers.set(
        id,
        frames
          .slice(last + 1, last + 5)
          .map((f) => f.trim())
          .join(' < '),
      );
  },
  destroy(id) {
    pendingTimers.delete(id);
  },
}).enable();

interface Snapshot {
  /** Every kind of active resource, counted. */
  readonly resources: Map<string, number>;
  /** Gateway timers already pending (a previous test's or a helper's). */
  readonly timers: ReadonlySet<number>;
}

function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

function snapshot(): Snapshot {
  return { resources: resources(), timers: new Set(pendingTimers.keys()) };
}

/** What is active now beyond `before`, one line each (empty when nothing). */
function beyond(before: Snapshot): string {
  const now = resources();
  const extra = [...now].filter(([kind, n]) => n > (before.resources.get(kind) ?? 0)).map(([kind, n]) => `${kind}: ${n - (before.resources.get(kind) ?? 0)}`);
  const timers = [...pendingTimers].filter(([id]) => !before.timers.has(id)).map(([, where]) => `timer ${where}`);
  return [...extra, ...timers].join('\n');
}

/** Waits (at most `ms`) until nothing the gateway started is still active; fails naming what is left. */
async function assertReleased(before: Snapshot, ms = 1000): Promise<void> {
  await waitFor(() => beyond(before) === '', ms, "the gateway's resources to be released").catch(() =>
    assert.unreachable(`still active after close:\n${beyond(before)}`),
  );
}

const SETTINGS = {
  GATEHOUSE_ADMIN_KEY: ADMIN_KEY,
  GATEHOUSE_ADMIN_PORT: '0',
  GATEHOUSE_RENEW_INTERVAL: '1s',
  GATEHOUSE_TOKEN_TTL: '3s',
};

test('closing a gateway with Redis, the admin listener, login and a live client releases everything it opened', async () => {
  const before = snapshot();
  const gw = await startGateway({ ...SETTINGS, GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_USERS_FILE: usersFile });
  const { client, status } = await connectWithToken(gw, mintHs256({ sub: 'alice', channels: ['*'] }));
  assert.is(status.isAuthenticated, true);
  await client.subscribe('chat').listener('subscribe').once(2000);
  const other: AGClientSocket = (await connectWithToken(gw, null)).client;
  assert.ok((await invokeLogin(other, { username: 'ann', password: 'ann-pw' })).answer);
  assert.is((await admin(gw.operations.adminAddress()!.port, 'GET', '/admin/nodes')).status, 200);
  client.disconnect();
  other.disconnect();

  await gw.close();
  assert.is(gw.state, 'closed');
  await assertReleased(before);
});

test('the same without Redis (memory stores)', async () => {
  const before = snapshot();
  const gw = await startGateway({ ...SETTINGS, GATEHOUSE_USERS_FILE: usersFile });
  const { client } = await connectWithToken(gw, mintHs256({ sub: 'alice' }));
  client.disconnect();
  await gw.close();
  await assertReleased(before);
});

test('close() is idempotent: every call gets the one shutdown, and a later call resolves at once', async () => {
  const gw = await startGateway({ GATEHOUSE_REDIS_URL: redis.url });
  const first = gw.close();
  assert.is(gw.close(), first);
  await first;
  await gw.close();
  assert.is(gw.state, 'closed');
});

test('a gateway closed without ever listening releases the Redis connections its constructor opened', async () => {
  const before = snapshot();
  const config = testConfig({ ...SETTINGS, GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_USERS_FILE: usersFile });
  const gw = new Gateway(config, { log: createLogger(config.logLevel) });
  await gw.close();
  await assertReleased(before);
});

test('a close while an admin revoke waits for a silent node ends that wait too', async () => {
  const before = snapshot();
  const gw = await startGateway({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_ADMIN_PORT: '0' });
  // A node that heartbeats but never answers: the revoke waits its full acknowledgement timeout (2 s) for it.
  const now = Date.now();
  await probe.zadd('{gatehouse}:nodes:seen', now + 60_000, 'silent-node');
  await probe.hset(
    '{gatehouse}:nodes:info',
    'silent-node',
    JSON.stringify({ nodeId: 'silent-node', connections: 0, authenticated: 0, startedAt: now, lastSeen: now }),
  );
  try {
    const answer = admin(gw.operations.adminAddress()!.port, 'POST', '/admin/revoke', { sub: 'nobody' }).catch((err: Error) => err);
    await waitFor(async () => (await probe.exists('{gatehouse}:rv:sub:nobody')) === 1, 2000, 'the revocation to be stored');
    await gw.close();
    await assertReleased(before, 1000);
    await answer;
  } finally {
    await probe.zrem('{gatehouse}:nodes:seen', 'silent-node');
    await probe.hdel('{gatehouse}:nodes:info', 'silent-node');
  }
});

test.run();
