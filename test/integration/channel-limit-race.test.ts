// budget: 60s
// GATEHOUSE_MAX_CHANNELS counts what a socket holds, whatever frames it sends: `#removeAuthToken` then `#unsubscribe`
// of a private channel in one batch (two unsubscribes of one channel in flight at once) used to lower
// SocketCluster's count twice, so a socket repeating it held more channels than the limit. On one node and with Redis.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type Redis from 'ioredis';
import type { Gateway } from '../../server/gateway';
import { ErrorName } from '../../shared';
import { rawSocket, type RawSocket } from '../helpers/channels';
import { mintHs256, sleep } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import type { TestRedis } from '../helpers/redis-server';

const LIMIT = 3;
const ROUNDS = 8;

let redis: TestRedis;
let redisClient: Redis;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-limit-'));
const rules = join(dir, 'channels.json');
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  // Anyone may hold `public:*`: those channels survive the deauthentication, so the room they take is what is at stake.
  writeFileSync(rules, JSON.stringify({ anyone: { 'public:*': ['subscribe'] } }));
  redis = await suiteScope.redis();
  redisClient = suiteScope.own(redis.client(), (c) => c.disconnect(), 'redis client');
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Repeats the attack: authenticate, subscribe to a private channel, then one frame carrying `#removeAuthToken` and
 * `#unsubscribe` of that channel; between rounds, take one more public channel. Answers the subscribes' outcomes.
 */
async function attack(gw: Gateway): Promise<{ raw: RawSocket; outcomes: string[] }> {
  const token = mintHs256({ sub: 'greedy', channels: ['*'] });
  const raw = scope.own(await rawSocket(gw, token), (r) => r.close(), 'raw socket');
  const outcomes: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    assert.is((await raw.call('#authenticate', token)).error, undefined, 'authenticated again');
    const priv = await raw.call('#subscribe', { channel: `private:${round}` });
    if (priv.error) {
      // At the limit: the private channel is refused, as it should be; the attack has nothing to unsubscribe.
      outcomes.push(`private:${priv.error.name}`);
      raw.send('#removeAuthToken', undefined);
    } else {
      raw.sendBatch([{ event: '#removeAuthToken' }, { event: '#unsubscribe', data: `private:${round}` }]);
      await sleep(30);
    }
    const pub = await raw.call('#subscribe', { channel: `public:${round}` });
    outcomes.push(pub.error ? pub.error.name : 'subscribed');
  }
  return { raw, outcomes };
}

function held(gw: Gateway, raw: RawSocket): string[] {
  return gw.agServer.clients[raw.id].subscriptions().sort();
}

test(`one node: the socket never holds more than ${LIMIT} channels`, async () => {
  const gw = await scope.gateway({ GATEHOUSE_MAX_CHANNELS: String(LIMIT), GATEHOUSE_CHANNELS_FILE: rules, GATEHOUSE_RENEW_INTERVAL: '0' });
  const { raw, outcomes } = await attack(gw);
  const channels = held(gw, raw);
  assert.ok(channels.length <= LIMIT, `holds ${channels.length}: ${channels.join(' ')}`);
  assert.equal(outcomes.filter((o) => o === 'subscribed').length, LIMIT);
  assert.ok(outcomes.includes(ErrorName.SubscribeForbidden));
  assert.is(gw.agServer.clients[raw.id].channelSubscriptionsCount, channels.length, "SocketCluster's count agrees");
});

test(`with Redis: at most ${LIMIT} channels held, and as many Redis subscriptions`, async () => {
  const gw = await scope.gateway({
    GATEHOUSE_MAX_CHANNELS: String(LIMIT),
    GATEHOUSE_CHANNELS_FILE: rules,
    GATEHOUSE_RENEW_INTERVAL: '0',
    GATEHOUSE_REDIS_URL: redis.url,
  });
  const { raw, outcomes } = await attack(gw);
  const channels = held(gw, raw);
  assert.ok(channels.length <= LIMIT, `holds ${channels.length}: ${channels.join(' ')}`);
  assert.equal(outcomes.filter((o) => o === 'subscribed').length, LIMIT);
  const inRedis = (await redisClient.pubsub('CHANNELS', 'gatehouse:ch:*')) as string[];
  assert.ok(inRedis.length <= LIMIT, `${inRedis.length} Redis subscriptions: ${inRedis.join(' ')}`);
});

test.run();
