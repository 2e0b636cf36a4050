import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeRedisTarget, redisConfigured, redisTarget } from '../../server/redis/connection';
import { testConfig } from '../helpers/gateway';

test('the target follows GATEHOUSE_REDIS_URL or GATEHOUSE_REDIS_CLUSTER; neither means no Redis', () => {
  assert.equal(redisTarget(testConfig({ GATEHOUSE_REDIS_URL: 'redis://127.0.0.1:7000/2' })), { url: 'redis://127.0.0.1:7000/2' });
  assert.equal(redisTarget(testConfig({ GATEHOUSE_REDIS_CLUSTER: '127.0.0.1:7000,[::1]:7001' })), {
    seeds: [
      { host: '127.0.0.1', port: 7000 },
      { host: '::1', port: 7001 },
    ],
  });
  assert.is(redisTarget(testConfig()), undefined);
  assert.is(redisConfigured(testConfig()), false);
  assert.is(redisConfigured(testConfig({ GATEHOUSE_REDIS_URL: 'redis://127.0.0.1:7000' })), true);
  assert.is(redisConfigured(testConfig({ GATEHOUSE_REDIS_CLUSTER: '127.0.0.1:7000' })), true);
});

test('a target is described without its password', () => {
  const url = describeRedisTarget({ url: 'redis://user:s3cret@10.0.0.5:6379/0' });
  assert.not.match(url, 's3cret');
  assert.match(url, '10.0.0.5:6379');
  assert.is(
    describeRedisTarget({
      seeds: [
        { host: '10.0.0.5', port: 6379 },
        { host: '::1', port: 7001 },
      ],
    }),
    'Redis Cluster at 10.0.0.5:6379,[::1]:7001',
  );
});

test.run();
