// budget: 120s
// A user revocation does not depend on the signer's clock: node A's clock runs 3 s ahead (inside the 5 s tolerance),
// so the tokens it renews carry an iat 3 s "later" than node B's clock. "logout everywhere" on B must still close the
// user's sockets on both nodes, and no renewal on A may escape it. Two gateway processes, one private Redis.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CloseCode, ErrorName, Procedure } from '../../shared';
import { mintHs256, nextEvent, sleep, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';
import { recordTokens } from '../helpers/tokens';
import { GatewayProcess } from '../helpers/gateway-process';
import { TestRedis } from '../helpers/redis-server';

const SKEW_MS = 3000;
let redis: TestRedis;
let ahead: GatewayProcess;
let onTime: GatewayProcess;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);

test.before(async () => {
  redis = await suiteScope.redis();
  const env = { GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_RENEW_INTERVAL: '1s', GATEHOUSE_TOKEN_TTL: '4s' };
  ahead = await suiteScope.process({ ...env, GATEHOUSE_NODE_ID: 'ahead' }, 40_000, { clockOffsetMs: SKEW_MS });
  onTime = await suiteScope.process({ ...env, GATEHOUSE_NODE_ID: 'on-time' }, 40_000);
});

test("logout everywhere on the node with the right clock closes the user's sockets on both nodes; no renewal by the node 3 s ahead escapes", async () => {
  const token = mintHs256({ sub: 'skewed-user', sid: 'skew-session-a' });
  const onA = await scope.connect(ahead, token);
  const onB = await scope.connect(onTime, mintHs256({ sub: 'skewed-user', sid: 'skew-session-b' }));
  assert.is(onA.status.isAuthenticated, true);
  assert.is(onB.status.isAuthenticated, true);

  // Node A has renewed: its socket's token now says it was issued in what is, for node B, the future.
  const renewedOnA = recordTokens(onA.client);
  await waitFor(() => renewedOnA.length >= 2, 6000, 'node A to renew twice');
  const latest = renewedOnA[renewedOnA.length - 1].claims;
  assert.ok(latest.iat! * 1000 > Date.now(), `node A's token is issued ${latest.iat! * 1000 - Date.now()} ms ahead of this clock`);

  const closedA = nextEvent<{ code: number }>(onA.client, 'close', 3000);
  const loggedOutAt = Date.now();
  assert.equal(await onB.client.invoke(Procedure.Logout, { everywhere: true }), { revoked: 'sub' });
  assert.is(onB.client.authState, 'unauthenticated');
  assert.is((await closedA).code, CloseCode.TokenRevoked, 'the socket on the node ahead is closed');
  assert.ok(Date.now() - loggedOutAt < 1000, `closed after ${Date.now() - loggedOutAt} ms`);
  assert.is(onA.auth.current, null, 'its client dropped the token');

  // No token node A renewed before the logout authenticates anywhere afterwards.
  for (const { signed } of renewedOnA) {
    for (const node of [onTime, ahead]) {
      const again = await scope.connect(node, signed);
      assert.is(again.status.authError?.name, ErrorName.AuthTokenRevoked, `a token renewed by node A, on ${node === ahead ? 'A' : 'B'}`);
    }
  }
  // And nothing was renewed after it.
  await sleep(1500);
  assert.ok(
    renewedOnA.every((r) => r.at <= loggedOutAt + 1000),
    'no renewal reached the client after the logout',
  );
});

test.run();
