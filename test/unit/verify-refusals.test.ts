// What a refused issuer or audience tells the client, and what it keeps for the operator.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import jwt from 'jsonwebtoken';
import { KeyRing } from '../../server/auth/keyring';
import { verifyToken } from '../../server/auth/verify';

const SECRET = Buffer.from('unit-secret-unit-secret-unit-secret-0123');
const NOW = 1_700_000_000;
const keys = new KeyRing({ secret: SECRET });
const policy = { clockToleranceMs: 5000, maxTokenLifetimeMs: 3_600_000, issuer: 'https://private-issuer.test', audience: ['internal-a', 'internal-b'] };
const mint = (claims: Record<string, unknown>) =>
  jwt.sign({ sub: 'u', iat: NOW, exp: NOW + 60, iss: policy.issuer, aud: 'internal-a', ...claims }, SECRET, { algorithm: 'HS256' });

function refusal(token: string): Error & { detail?: string } {
  try {
    verifyToken(token, keys, policy, NOW * 1000);
  } catch (err) {
    return err as Error & { detail?: string };
  }
  throw new Error('accepted');
}

test('issuer and audience refusals name neither the configured issuer nor any accepted audience to the client', () => {
  for (const [claims, message] of [
    [{ iss: 'https://other.test' }, 'issuer not accepted'],
    [{ aud: 'other' }, 'audience not accepted'],
  ] as const) {
    const err = refusal(mint(claims));
    assert.is(err.name, 'AuthTokenInvalidError');
    assert.is(err.message, message);
    // SocketCluster sends name, message and own enumerable properties: detail is none of them.
    const sent = JSON.stringify({ ...err, name: err.name, message: err.message });
    for (const secret of [policy.issuer, ...policy.audience]) assert.not.ok(sent.includes(secret), `${secret} would reach the client`);
    // The operator's log reads detail.
    assert.match(err.detail ?? '', /expected/);
  }
});

test.run();
