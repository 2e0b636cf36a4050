// Revoked tokens at the handshake, through authenticate(), and live sockets closed: on the memory store and on Redis.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CloseCode, ErrorName } from '../../shared';
import type { Gateway } from '../../server/gateway';
import { RedisRevocationStore } from '../../server/revocation/redis-store';
import type { RevocationTarget } from '../../server/revocation/store';
import { mintHs256, nextEvent, waitFor } from '../helpers/gateway';
import { useScope, type TestScope } from '../helpers/scope';

const now = () => Math.floor(Date.now() / 1000);
let n = 0;
/** Claims for a fresh user and session. */
function fresh(over: Record<string, unknown> = {}) {
  n += 1;
  return { sub: `user-${n}`, sid: `sid-${n}`, jti: `jti-${n}`, ...over };
}

interface Setup {
  readonly name: string;
  /** Starts the backend and a gateway on it, owned by `scope`. */
  start(scope: TestScope): Promise<Gateway>;
  /** Revokes as another node (or operator) would, when the backend has other nodes; else on the gateway itself. */
  revokeElsewhere(gw: Gateway, target: RevocationTarget): Promise<unknown>;
}

let other: RedisRevocationStore | undefined;

const setups: Setup[] = [
  {
    name: 'memory',
    start: (scope) => scope.gateway({ GATEHOUSE_CLOCK_TOLERANCE: '1s' }),
    revokeElsewhere: (gw, target) => gw.revocation.revoke(target),
  },
  {
    name: 'redis',
    async start(scope) {
      const redis = await scope.redis();
      const policy = { maxTokenLifetimeMs: 86_400_000, clockToleranceMs: 5000 };
      other = scope.own(
        new RedisRevocationStore({ target: { url: redis.url }, timeoutMs: 500, policy, origin: 'other-node', subscribe: false }),
        (store) => store.close(),
        'revocation store',
      );
      return scope.gateway({ GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_CLOCK_TOLERANCE: '1s' });
    },
    async revokeElsewhere(_gw, target) {
      assert.ok(await other!.ready(3000));
      return other!.revoke(target);
    },
  },
];

for (const setup of setups) {
  const t = suite(`revocation at authentication: ${setup.name}`);
  let gw: Gateway;
  const suiteScope = useScope(t, 'suite');
  const scope = useScope(t);
  t.before(async () => {
    gw = await setup.start(suiteScope);
  });

  const handshake = (token: string | null) => scope.connect(gw, token);

  async function expectRefused(token: string) {
    const { status, client, auth } = await handshake(token);
    assert.is(status.isAuthenticated, false);
    assert.is(status.authError?.name, ErrorName.AuthTokenRevoked);
    assert.is(client.authState, 'unauthenticated');
    await waitFor(() => auth.current === null, 2000, 'the client to drop its revoked token');
  }

  async function authenticateLater(token: string) {
    const { client } = await handshake(null);
    try {
      const status = (await client.authenticate(token)) as unknown as { isAuthenticated: boolean; authError?: { name: string } };
      return { name: status.authError?.name, isAuthenticated: status.isAuthenticated };
    } catch (err) {
      return { name: (err as Error).name, isAuthenticated: client.authState === 'authenticated' };
    }
  }

  const revokedCases: [string, (claims: ReturnType<typeof fresh>) => RevocationTarget][] = [
    ['a revoked jti', (c) => ({ kind: 'jti', id: c.jti })],
    ['a revoked sid', (c) => ({ kind: 'sid', id: c.sid })],
    ["a user revoked after the token's iat", (c) => ({ kind: 'sub', id: c.sub })],
  ];

  for (const [name, target] of revokedCases) {
    t(`handshake with ${name} → AuthTokenRevokedError, stored token removed`, async () => {
      const claims = fresh();
      const token = mintHs256({ ...claims, iat: now() - 5 });
      await gw.revocation.revoke(target(claims));
      await expectRefused(token);
    });
    t(`authenticate() with ${name} → AuthTokenRevokedError`, async () => {
      const claims = fresh();
      const token = mintHs256({ ...claims, iat: now() - 5 });
      await gw.revocation.revoke(target(claims));
      const r = await authenticateLater(token);
      assert.is(r.name, ErrorName.AuthTokenRevoked);
      assert.is(r.isAuthenticated, false);
    });
  }

  t('a token minted in the same second as the user revocation is revoked too', async () => {
    const claims = fresh();
    const revocation = await gw.revocation.revoke({ kind: 'sub', id: claims.sub });
    await expectRefused(mintHs256({ ...claims, iat: Math.floor(revocation.at / 1000) }));
  });

  t('a token issued after the user revocation and its clock tolerance (1 s here) is accepted, at the handshake and through authenticate()', async () => {
    const claims = fresh();
    const revocation = await gw.revocation.revoke({ kind: 'sub', id: claims.sub });
    const within = mintHs256({ ...claims, iat: Math.floor(revocation.at / 1000) + 1 });
    assert.is((await handshake(within)).status.authError?.name, ErrorName.AuthTokenRevoked, 'issued within the tolerance: covered');
    const newer = mintHs256({ ...claims, iat: Math.floor(revocation.at / 1000) + 2 });
    // Not before its iat has come (by more than the tolerance it would be refused as issued in the future).
    await waitFor(() => Date.now() >= (Math.floor(revocation.at / 1000) + 1) * 1000, 3000, 'iat within the tolerance of now');
    const { status } = await handshake(newer);
    assert.is(status.isAuthenticated, true);
    assert.is(status.authError, undefined);
    const r = await authenticateLater(newer);
    assert.is(r.isAuthenticated, true);
    assert.is(r.name, undefined);
  });

  t('other sessions and users are untouched by a revocation', async () => {
    const claims = fresh();
    await gw.revocation.revoke({ kind: 'sid', id: claims.sid });
    const { status } = await handshake(mintHs256({ ...claims, sid: 'another-session', jti: 'another-jti' }));
    assert.is(status.isAuthenticated, true);
  });

  for (const [name, target] of revokedCases) {
    t(
      `a live socket is deauthenticated and closed with TokenRevoked when ${name.replace('a ', 'its ').replace('revoked ', '')} is revoked elsewhere`,
      async () => {
        const claims = fresh();
        const { client, status, auth } = await handshake(mintHs256({ ...claims, iat: now() - 5 }));
        assert.is(status.isAuthenticated, true);
        const bystander = await handshake(mintHs256(fresh()));
        await waitFor(() => gw.revocation.enforcer.index.size >= 2, 2000, 'both sockets indexed');
        const closed = nextEvent<{ code: number }>(client, 'close', 3000);
        await setup.revokeElsewhere(gw, target(claims));
        assert.is((await closed).code, CloseCode.TokenRevoked);
        assert.is(auth.current, null, 'the client dropped its token');
        assert.is(bystander.client.state, 'open');
        assert.is(bystander.client.authState, 'authenticated');
      },
    );
  }

  t.run();
}
