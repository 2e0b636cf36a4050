import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestRedis } from '../helpers/redis-server';

test('a private redis-server starts, stops and restarts on its port', async () => {
  const redis = await TestRedis.start();
  const c = redis.client();
  try {
    assert.is(await c.ping(), 'PONG');
    await redis.stop();
    await redis.start();
    assert.is(await c.ping(), 'PONG');
  } finally {
    c.disconnect();
    await redis.close();
  }
});

test.run();
