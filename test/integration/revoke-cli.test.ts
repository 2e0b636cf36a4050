// `gatehouse revoke` run as the operator would (bin/gatehouse.js in a child process) against a private redis-server.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CloseCode, ErrorName } from '../../shared';
import type { Gateway } from '../../server/gateway';
import { mintHs256, nextEvent, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { runCli } from '../helpers/process';
import { freePort, TestRedis } from '../helpers/redis-server';

let redis: TestRedis;
let gw: Gateway;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  redis = await suiteScope.redis();
  gw = await suiteScope.gateway({ GATEHOUSE_REDIS_URL: redis.url });
});

/** `gatehouse ARGS` as the operator runs it (bin/gatehouse.js) with only the given settings. */
const gatehouse = (args: string[], settings: Record<string, string>) => runCli(args, settings, { entry: 'bin', ms: 15_000 });

test("revoke --sub closes the user's live socket and refuses the token afterwards", async () => {
  const claims = { sub: 'mallory', sid: 'cli-sid', jti: 'cli-jti' };
  const token = mintHs256(claims);
  const live = await scope.connect(gw, token);
  assert.is(live.status.isAuthenticated, true);
  await waitFor(() => gw.revocation.enforcer.index.size >= 1, 2000, 'the socket indexed');
  const closed = nextEvent<{ code: number }>(live.client, 'close', 10_000);

  const out = await gatehouse(['revoke', '--sub', 'mallory'], { GATEHOUSE_REDIS_URL: redis.url });
  assert.is(out.code, 0, out.stderr);
  assert.match(out.stdout, /^revoked sub "mallory" at /);
  assert.is((await closed).code, CloseCode.TokenRevoked);
  assert.is(live.auth.current, null);

  const again = await scope.connect(gw, token);
  assert.is(again.status.authError?.name, ErrorName.AuthTokenRevoked);
});

test('revoke --jti and --sid are stored with a TTL', async () => {
  for (const [flag, id] of [
    ['--jti', 'j-1'],
    ['--sid', 's-1'],
    // A base64url id starts with a dash one time in 64: taken as the value, not as an option.
    ['--jti', '-j-2'],
  ]) {
    const out = await gatehouse(['revoke', flag, id], { GATEHOUSE_REDIS_URL: redis.url });
    assert.is(out.code, 0, out.stderr);
  }
  const admin = redis.client();
  try {
    for (const key of ['{gatehouse}:rv:jti:j-1', '{gatehouse}:rv:sid:s-1', '{gatehouse}:rv:jti:-j-2']) assert.ok((await admin.pttl(key)) > 0, key);
  } finally {
    admin.disconnect();
  }
});

test('revoke without GATEHOUSE_REDIS_URL or GATEHOUSE_REDIS_CLUSTER, or without exactly one target, exits 2 with the reason', async () => {
  const noRedis = await gatehouse(['revoke', '--sub', 'x'], {});
  assert.is(noRedis.code, 2);
  assert.match(noRedis.stderr, 'GATEHOUSE_REDIS_URL or GATEHOUSE_REDIS_CLUSTER');
  for (const args of [['revoke'], ['revoke', '--sub', 'x', '--sid', 'y'], ['revoke', '--sub', '']]) {
    const out = await gatehouse(args, { GATEHOUSE_REDIS_URL: redis.url });
    assert.is(out.code, 2, args.join(' '));
    assert.match(out.stderr, 'revoke');
  }
});

test('revoke exits 1 when Redis cannot be reached', async () => {
  const out = await gatehouse(['revoke', '--sub', 'x'], {
    GATEHOUSE_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    GATEHOUSE_REDIS_TIMEOUT: '100ms',
  });
  assert.is(out.code, 1);
  assert.match(out.stderr, 'cannot reach Redis');
});

test.run();
