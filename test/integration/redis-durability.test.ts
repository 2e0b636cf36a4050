// The node warns at start when its Redis would lose revocations: no persistence (appendonly no and no save points, so
// a restart forgets them) or an eviction policy under a memory limit (an evicted revocation lets its token in again).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Gateway } from '../../server/gateway';
import { durabilityWarnings } from '../../server/revocation/durability';
import { testConfig } from '../helpers/gateway';
import type { TestRedis } from '../helpers/redis-server';
import { useScope } from '../helpers/scope';

/** Starts and closes a gateway on `redis`, returning the messages it logged at warn level or above. */
async function startupWarnings(redis: TestRedis): Promise<string[]> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = testConfig({ GATEHOUSE_REDIS_URL: redis.url });
  const gateway = new Gateway(config, { log: pino({ level: 'warn' }, sink) });
  await gateway.listen();
  await gateway.close();
  return lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
}

const scope = useScope(test);

test('durabilityWarnings: none for a persistent Redis without eviction', () => {
  assert.equal(durabilityWarnings({ appendonly: 'yes', save: '', maxmemory: '0', maxmemoryPolicy: 'allkeys-lru' }), []);
  assert.equal(durabilityWarnings({ appendonly: 'no', save: '3600 1 300 100', maxmemory: '1073741824', maxmemoryPolicy: 'noeviction' }), []);
  assert.equal(durabilityWarnings({}), [], 'settings CONFIG refused to show warn about nothing');
});

test('durabilityWarnings: no persistence, and eviction under a memory limit (volatile-* evicts revocations, which have TTLs)', () => {
  const [persistence] = durabilityWarnings({ appendonly: 'no', save: '' });
  assert.match(persistence, /restart forgets every revocation/);
  for (const policy of ['volatile-lru', 'volatile-ttl', 'allkeys-lru', 'allkeys-random']) {
    const [eviction] = durabilityWarnings({ maxmemory: '104857600', maxmemoryPolicy: policy });
    assert.match(eviction, /maxmemory-policy noeviction/);
  }
});

test('a node on a Redis without persistence or with eviction says so at start; on a durable one it does not', async () => {
  const bare = await scope.redis(['--maxmemory', '100mb', '--maxmemory-policy', 'volatile-lru']);
  const durable = await scope.redis(['--appendonly', 'yes']);
  const warned = await startupWarnings(bare);
  assert.ok(
    warned.some((m) => /restart forgets every revocation/.test(m)),
    warned.join('\n'),
  );
  assert.ok(
    warned.some((m) => /maxmemory-policy noeviction/.test(m)),
    warned.join('\n'),
  );
  const quiet = await startupWarnings(durable);
  assert.not.ok(
    quiet.some((m) => /revocation/.test(m) && /Redis/.test(m)),
    quiet.join('\n'),
  );
});

test.run();
