import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRedisSeed } from '../../server/config';
import { configProblems, testConfig } from '../helpers/gateway';

test('GATEHOUSE_REDIS_CLUSTER takes comma-separated host:port seeds', () => {
  const config = testConfig({ GATEHOUSE_REDIS_CLUSTER: '127.0.0.1:7000, redis-1.internal:7001,[::1]:7002' });
  assert.equal(config.redisCluster, [
    { host: '127.0.0.1', port: 7000 },
    { host: 'redis-1.internal', port: 7001 },
    { host: '::1', port: 7002 },
  ]);
  assert.is(config.redisUrl, undefined);
});

test('without Redis settings there is neither', () => {
  const config = testConfig();
  assert.is(config.redisCluster, undefined);
  assert.is(config.redisUrl, undefined);
});

test('setting both GATEHOUSE_REDIS_CLUSTER and GATEHOUSE_REDIS_URL is a config error naming both', () => {
  const found = configProblems({ GATEHOUSE_REDIS_CLUSTER: '127.0.0.1:7000', GATEHOUSE_REDIS_URL: 'redis://127.0.0.1:6379' });
  assert.is(found.length, 1);
  assert.match(found[0], /^GATEHOUSE_REDIS_CLUSTER: .*GATEHOUSE_REDIS_URL/);
});

for (const bad of ['127.0.0.1', 'host:0', 'host:65536', 'host:port', ':7000', 'a b:7000', 'redis://h:7000']) {
  test(`refuses the seed ${JSON.stringify(bad)}`, () => {
    assert.is(parseRedisSeed(bad), undefined);
    const found = configProblems({ GATEHOUSE_REDIS_CLUSTER: `127.0.0.1:7000,${bad}` });
    assert.is(found.length, 1, found.join('; '));
    assert.match(found[0], /^GATEHOUSE_REDIS_CLUSTER: /);
  });
}

test('every node gets a random id unless GATEHOUSE_NODE_ID names it', () => {
  const first = testConfig().nodeId;
  const second = testConfig().nodeId;
  assert.match(first, /^[0-9a-f]{12}$/);
  assert.is.not(first, second);
  assert.is(testConfig({ GATEHOUSE_NODE_ID: 'gw-0.eu_west' }).nodeId, 'gw-0.eu_west');
});

for (const bad of ['-leading-dash', 'has space', 'x'.repeat(65), 'slash/inside', 'ünïcode']) {
  test(`refuses GATEHOUSE_NODE_ID ${JSON.stringify(bad.slice(0, 20))}`, () => {
    const found = configProblems({ GATEHOUSE_NODE_ID: bad });
    assert.is(found.length, 1);
    assert.match(found[0], /^GATEHOUSE_NODE_ID: /);
  });
}

test.run();
