// budget: 60s
// A node whose Redis feeds go silent without dropping. Two in-process nodes on one private Redis; node B reaches it
// through a TCP proxy that can make B's subscriber connections dead one way (what B sends still reaches Redis,
// nothing Redis sends comes back, not even a close), as a half-dead NAT entry or a stalled load balancer would.
// B must notice each silent feed (revocations, the channel bridge, the admin bus), drop its subscriber and
// subscribe again: a logout on A then closes B's socket, and A's publishes and admin requests reach B again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Gateway } from '../../server/gateway';
import { FEED_SILENCE_LIMIT_MS } from '../../server/redis/feed-liveness';
import { CloseCode, Procedure } from '../../shared';
import { ADMIN_KEY, admin } from '../helpers/admin';
import { subscribe } from '../helpers/channels';
import { httpRequest, mintHs256, nextEvent, waitFor } from '../helpers/gateway';
import type { TestRedis } from '../helpers/redis-server';
import { useScope } from '../helpers/scope';
import { isSubscriber, SlowProxy } from '../helpers/slow-proxy';

/** B's three subscriber connections: the revocation feed, the channel bridge, the admin bus. */
const FEEDS = ['revocation', 'cluster_bus', 'admin_bus'] as const;
const FEED_NAMES = ['revocation feed', 'cluster bus', 'admin bus'];

let redis: TestRedis;
let proxy: SlowProxy;
let a: Gateway;
let b: Gateway;
const suiteScope = useScope(test, 'suite');
// Before the scope's hook: the clients leave through a proxy that passes traffic again.
test.after.each(() => {
  proxy.stopStalling();
});
const scope = useScope(test);

test.before(async () => {
  redis = await suiteScope.redis();
  proxy = suiteScope.own(await SlowProxy.start(redis.port), (p) => p.close(), 'slow proxy');
  const env = { GATEHOUSE_ADMIN_KEY: ADMIN_KEY, GATEHOUSE_REDIS_TIMEOUT: '500ms' };
  a = await suiteScope.gateway({ ...env, GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_NODE_ID: 'node-a' });
  b = await suiteScope.gateway({ ...env, GATEHOUSE_REDIS_URL: proxy.url, GATEHOUSE_NODE_ID: 'node-b' });
  await waitFor(() => a.clusterBus!.connected && b.clusterBus!.connected, 5000, 'both buses to connect');
  await waitFor(async () => (await httpRequest(b.address().port, '/readyz')).status === 200, 5000, 'node B ready');
});

let n = 0;
function ids() {
  n += 1;
  return { sub: `user-${n}`, sid: `sid-${n}`, channel: `news:${n}` };
}

/** A client on `gw` authenticated with `claims` (every news channel granted). */
async function authenticatedOn(gw: Gateway, claims: Record<string, unknown>) {
  const r = await scope.connect(gw, mintHs256({ channels: ['news:*'], ...claims }));
  assert.is(r.status.isAuthenticated, true);
  return r;
}

/** Publishes from node A until node B's subscriber has the message; false if it never arrives within `ms`. */
async function reachesB(channel: string, inbox: { messages: unknown[] }, ms: number): Promise<boolean> {
  const marker = `from-a-${Math.random()}`;
  try {
    await waitFor(
      async () => {
        await a.agServer.exchange.invokePublish(channel, marker);
        await new Promise((r) => setTimeout(r, 100));
        return inbox.messages.includes(marker);
      },
      ms,
      `A's publish on ${channel} at B`,
    );
    return true;
  } catch {
    return false;
  }
}

async function readyz(gw: Gateway): Promise<{ status: number; warnings: string[] }> {
  const r = await httpRequest(gw.address().port, '/readyz');
  return { status: r.status, warnings: (r.body as { warnings?: string[] }).warnings ?? [] };
}

/** B's gatehouse_redis_feed_silences_total by feed. */
async function silences(gw: Gateway): Promise<Record<string, number>> {
  const text = (await admin(gw.address().port, 'GET', '/metrics', undefined, null)).text;
  const out: Record<string, number> = {};
  for (const feed of FEEDS) {
    const line = text.split('\n').find((l) => l.startsWith('gatehouse_redis_feed_silences_total{') && l.includes(`feed="${feed}"`));
    out[feed] = line ? Number(line.split(' ').pop()) : Number.NaN;
  }
  return out;
}

test("a logout on A closes B's socket within the silence limit plus 2 s of B's feeds going silent; A's publishes and admin requests reach B again", async () => {
  const user = ids();
  const onB = await authenticatedOn(b, { sub: user.sub, sid: user.sid });
  const caller = await authenticatedOn(a, { sub: user.sub, sid: user.sid });
  const listener = await authenticatedOn(b, { sub: `listener-${n}` });
  const inbox = await subscribe(listener.client, user.channel);
  assert.ok(await reachesB(user.channel, inbox, 3000), 'cross-node delivery works before the fault');

  assert.is(proxy.stallReplies(isSubscriber), 3, "B's three subscriber connections are dead one way");
  const closed = nextEvent<{ code: number }>(onB.client, 'close', FEED_SILENCE_LIMIT_MS + 2000);
  const loggedOutAt = Date.now();
  assert.equal(await caller.client.invoke(Procedure.Logout, undefined), { revoked: 'sid' });
  assert.is((await closed).code, CloseCode.TokenRevoked, 'B re-checked its live sockets once its feed was back');
  if (process.env.TEST_VERBOSE) console.log(`B's revoked socket closed ${Date.now() - loggedOutAt} ms after the logout on A`);

  assert.ok(await reachesB(user.channel, inbox, 8000), "A's publish reaches B's subscriber after the reconnect");
  const other = await authenticatedOn(b, { sub: `dora-${n}` });
  await waitFor(
    async () => {
      const r = await admin(a.address().port, 'POST', '/admin/disconnect', { sub: `dora-${n}` });
      return r.status === 200 && r.body.disconnected['node-b'] === 1 && r.body.unanswered.length === 0;
    },
    8000,
    'an admin disconnect on A to be carried out and answered by B',
  );
  await waitFor(() => other.client.state === 'closed', 3000, "dora's socket on B closed");
  const after = await silences(b);
  for (const feed of FEEDS) assert.ok(after[feed] >= 1, `${feed}: the silence counted (${after[feed]})`);
  await waitFor(async () => (await readyz(b)).warnings.length === 0, 5000, 'the warnings to clear once the feeds are heard');
});

test("while B's feeds stay silent (every new subscriber stalls too) /readyz lists a warning for each; they clear once Redis is heard again", async () => {
  const user = ids();
  const listener = await authenticatedOn(b, { sub: user.sub });
  const inbox = await subscribe(listener.client, user.channel);
  assert.ok(await reachesB(user.channel, inbox, 3000), 'cross-node delivery works before the fault');

  assert.is(proxy.stallReplies(isSubscriber, true), 3);
  await waitFor(
    async () => {
      const { warnings } = await readyz(b);
      return FEED_NAMES.every((name) => warnings.some((w) => w.startsWith(`${name}:`)));
    },
    FEED_SILENCE_LIMIT_MS + 5000,
    "a warning for each of B's feeds",
  );
  // Its reconnects stall as well: B keeps trying, and keeps saying so.
  await new Promise((r) => setTimeout(r, FEED_SILENCE_LIMIT_MS + 500));
  assert.is((await readyz(b)).warnings.length, 3, 'still silent, still warned');
  assert.not.ok(a.revocation.feed!.warning(), 'node A is not affected');

  proxy.stopStalling();
  await waitFor(
    async () => {
      const r = await readyz(b);
      return r.status === 200 && r.warnings.length === 0;
    },
    2 * FEED_SILENCE_LIMIT_MS + 5000,
    'B ready without warnings once its subscribers are heard',
  );
  assert.ok(await reachesB(user.channel, inbox, 5000), "A's publish reaches B again");
});

test.run();
