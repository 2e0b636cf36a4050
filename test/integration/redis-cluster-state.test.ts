// budget: 60s
// Revocations, logout, the login limiter and `gatehouse revoke` on a Redis Cluster (GATEHOUSE_REDIS_CLUSTER): node A
// in this process, node B a gateway process, one private three-master cluster for the whole file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CloseCode, ErrorName, Procedure } from '../../shared';
import type { Gateway } from '../../server/gateway';
import { mintHs256, nextEvent, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { GatewayProcess } from '../helpers/gateway-process';
import { invokeLogin, startLoginGateway, writeUsersFile } from '../helpers/login';
import { runCli } from '../helpers/process';
import { TestRedisCluster } from '../helpers/redis-cluster';
import { freePort } from '../helpers/redis-server';

let cluster: TestRedisCluster;
let a: Gateway;
let b: GatewayProcess;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  cluster = await suiteScope.redisCluster(3);
  const usersFile = await writeUsersFile([
    { username: 'carol', password: 'carol-pw', sub: 'user-carol' },
    { username: 'dan', password: 'dan-pw', sub: 'user-dan' },
  ]);
  const env = { GATEHOUSE_REDIS_CLUSTER: cluster.seeds, GATEHOUSE_USERS_FILE: usersFile, GATEHOUSE_LOGIN_MAX_FAILURES: '4' };
  [a, b] = await Promise.all([startLoginGateway(env).then((g) => suiteScope.ownGateway(g)), suiteScope.process(env)]);
  await waitFor(() => a.notReadyReasons().length === 0, 5000, `node A to be ready (${a.notReadyReasons().join('; ')})`);
});

const now = () => Math.floor(Date.now() / 1000);
let n = 0;
/** Claims for a fresh user and session, issued a few seconds ago. */
function fresh(over: Record<string, unknown> = {}) {
  n += 1;
  return { sub: `user-${n}`, sid: `sid-${n}`, jti: `jti-${n}`, iat: now() - 5, ...over };
}

test('a revocation made on node A closes the socket on node B, and both nodes refuse the token from then on', async () => {
  const claims = fresh();
  const token = mintHs256(claims);
  const onB = await scope.connect(b, token);
  const bystander = await scope.connect(b, mintHs256(fresh()));
  assert.is(onB.status.isAuthenticated, true);
  const closed = nextEvent<{ code: number }>(onB.client, 'close', 5000);

  await a.revocation.revoke({ kind: 'sid', id: claims.sid });
  assert.is((await closed).code, CloseCode.TokenRevoked);
  assert.is(bystander.client.authState, 'authenticated', 'another session on B is untouched');

  for (const node of ['A', 'B'] as const) {
    const again = await scope.connect(node === 'A' ? a : b, token);
    assert.is(again.status.isAuthenticated, false, node);
    assert.is(again.status.authError?.name, ErrorName.AuthTokenRevoked, node);
  }
});

test("logout everywhere on node A closes the user's sessions on node B", async () => {
  const user = fresh();
  const caller = await scope.connect(a, mintHs256(user));
  const otherSession = await scope.connect(b, mintHs256(fresh({ sub: user.sub })));
  assert.is(otherSession.status.isAuthenticated, true);
  const closed = nextEvent<{ code: number }>(otherSession.client, 'close', 5000);

  assert.equal(await caller.client.invoke(Procedure.Logout, { everywhere: true }), { revoked: 'sub' });
  assert.is((await closed).code, CloseCode.TokenRevoked);
  assert.is(caller.client.state, 'open', 'the caller stays connected, as anonymous');
  assert.is(caller.client.authState, 'unauthenticated');
});

test('failed logins on both nodes count against one limit kept in the cluster', async () => {
  const onA = await scope.connect(a, null);
  const onB = await scope.connect(b, null);
  for (const [client, password] of [
    [onA, 'x1'],
    [onB, 'x2'],
    [onA, 'x3'],
    [onB, 'x4'],
  ] as const) {
    assert.is((await invokeLogin(client.client, { username: 'carol', password })).error?.name, ErrorName.Login);
  }
  for (const client of [onA, onB]) {
    const limited = await invokeLogin(client.client, { username: 'carol', password: 'carol-pw' });
    assert.is(limited.error?.name, ErrorName.RateLimited);
  }
  const admin = cluster.client();
  try {
    assert.is(await admin.exists('gatehouse:login-fail:user:carol'), 1, 'the counter lives in the cluster');
  } finally {
    admin.disconnect();
  }
  assert.is((await invokeLogin(onB.client, { username: 'dan', password: 'dan-pw' })).answer?.sub, 'user-dan', 'other users log in');
});

/** `gatehouse ARGS` as the operator runs it (bin/gatehouse.js) with only the given settings. */
const gatehouse = (args: string[], settings: Record<string, string>) => runCli(args, settings, { entry: 'bin', ms: 15_000 });

test("gatehouse revoke --sid with GATEHOUSE_REDIS_CLUSTER closes the session's sockets on both nodes", async () => {
  const claims = fresh();
  const token = mintHs256(claims);
  const onA = await scope.connect(a, token);
  const onB = await scope.connect(b, token);
  await waitFor(() => a.revocation.enforcer.index.size >= 1, 2000, 'node A to index the socket');
  const closedA = nextEvent<{ code: number }>(onA.client, 'close', 10_000);
  const closedB = nextEvent<{ code: number }>(onB.client, 'close', 10_000);

  const out = await gatehouse(['revoke', '--sid', claims.sid], { GATEHOUSE_REDIS_CLUSTER: cluster.seeds });
  assert.is(out.code, 0, out.stderr);
  assert.match(out.stdout, new RegExp(`^revoked sid "${claims.sid}" at `));
  assert.is((await closedA).code, CloseCode.TokenRevoked);
  assert.is((await closedB).code, CloseCode.TokenRevoked);
  assert.is((await scope.connect(b, token)).status.authError?.name, ErrorName.AuthTokenRevoked);
});

test('gatehouse revoke exits 1 when no seed of GATEHOUSE_REDIS_CLUSTER answers', async () => {
  const out = await gatehouse(['revoke', '--sub', 'x'], {
    GATEHOUSE_REDIS_CLUSTER: `127.0.0.1:${await freePort()}`,
    GATEHOUSE_REDIS_TIMEOUT: '100ms',
  });
  assert.is(out.code, 1);
  assert.match(out.stderr, 'cannot reach Redis Cluster at 127.0.0.1:');
});

test.run();
