// budget: 180s
// alone: its timings need the machine to itself
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AGClientSocket } from 'socketcluster-client';
import { isOccupancy, type PresenceChanges } from '../../shared';
import { subscribe } from '../helpers/channels';
import { mintHs256, sleep, waitFor } from '../helpers/gateway';
import type { GatewayProcess } from '../helpers/gateway-process';
import { allMembers, presenceRulesFile, watchPresence } from '../helpers/presence';
import { useScope } from '../helpers/scope';

// A thousand users joining one channel within a second, on two gateway processes: each watcher gets a few frames a
// second, never a thousand; the final set is exact; past GATEHOUSE_PRESENCE_MAX_MEMBERS the events turn to counts.

const JOINERS = 1000;
const rules = presenceRulesFile({ presence: ['room:*'], authenticated: { 'room:*': ['subscribe'] } });

let nodes: GatewayProcess[] = [];
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  const redis = await suiteScope.redis();
  const env = {
    GATEHOUSE_REDIS_URL: redis.url,
    GATEHOUSE_CHANNELS_FILE: rules,
    GATEHOUSE_PRESENCE_GRACE: '0',
    GATEHOUSE_MAX_CONNECTIONS_PER_IP: '100000',
    GATEHOUSE_HANDSHAKE_RATE_PER_IP: '100000',
  };
  nodes = await Promise.all([suiteScope.process(env), suiteScope.process(env)]);
});

/** The most events any one-second window of `times` holds. */
function busiestSecond(times: number[]): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

test('1,000 joins within a second: a few frames a second per watcher, the exact set, then occupancy mode', async () => {
  const watchers = await Promise.all(
    nodes.map(async (n, i) => {
      const { client } = await scope.connect(n, mintHs256({ sub: `watcher-${i}`, channels: { 'room:*': ['subscribe', 'presence'] } }));
      const seen = watchPresence(client);
      await subscribe(client, 'room:flood');
      return { client, seen };
    }),
  );
  await sleep(500);
  for (const w of watchers) {
    w.seen.events.length = 0;
    w.seen.times.length = 0;
  }
  // Connect everyone first (half on each node), then subscribe them all at once.
  const joiners: AGClientSocket[] = [];
  for (let i = 0; i < JOINERS; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, JOINERS - i) }, async (_, k) => {
        const { client } = await scope.connect(nodes[(i + k) % 2], mintHs256({ sub: `user-${String(i + k).padStart(4, '0')}` }), { ackTimeout: 20_000 });
        return client;
      }),
    );
    joiners.push(...batch);
  }
  const started = Date.now();
  await Promise.all(joiners.map((c) => subscribe(c, 'room:flood', 20_000)));
  const subscribedIn = Date.now() - started;

  await waitFor(async () => (await allMembers(watchers[0].client, 'room:flood')).count === JOINERS + watchers.length, 20_000, 'every member in the index');
  await sleep(1500);
  const { subs, count } = await allMembers(watchers[1].client, 'room:flood');
  assert.is(count, JOINERS + watchers.length);
  assert.is(new Set(subs).size, JOINERS + watchers.length, 'the set is exact, paged');
  for (const w of watchers) {
    const most = busiestSecond(w.seen.times);
    assert.ok(most <= 22, `${most} frames in one second (subscribes took ${subscribedIn} ms)`);
    // Before the limit, members; past it (1,002 > 1,000), counts only.
    const joined = (w.seen.events.filter((e) => !isOccupancy(e)) as PresenceChanges[]).flatMap((e) => e.joins).length;
    const counts = w.seen.events.filter(isOccupancy);
    assert.ok(joined <= JOINERS, `${joined} joins`);
    assert.ok(counts.length >= 1, 'occupancy events once past the limit');
    assert.is(counts[counts.length - 1].count, JOINERS + watchers.length);
  }
});

test.run();
