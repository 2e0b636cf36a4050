/**
 * Micro-benchmarks kept from the first bench (scripts/bench-verify.ts): µs per sign and per verify, jsonwebtoken 9
 * with a string secret against a KeyObject, and Gatehouse's own verifyToken / signClaims for HS256, RS256 and ES256.
 * They run in the bench's own process; `scale` multiplies the iteration counts.
 */
import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { KeyRing } from '../server/auth/keyring';
import { signClaims, stampClaims } from '../server/auth/sign';
import { verifyToken } from '../server/auth/verify';
import { ChannelPolicy } from '../server/channels/policy';
import { parseChannelRules } from '../server/channels/rules-file';
import { OverrideTable } from '../server/grants/override-table';
import type { GatehouseClaims } from '../shared';

export interface MicroResult {
  readonly name: string;
  readonly usPerOp: number;
  readonly ops: number;
}

/** Runs `fn` after a warm-up until `iterations` or `maxMs`, whichever first; µs per call. */
function measure(name: string, fn: () => unknown, iterations: number, maxMs: number): MicroResult {
  const warm = Math.max(10, Math.floor(iterations / 10));
  for (let i = 0; i < warm; i++) fn();
  const start = process.hrtime.bigint();
  const limit = start + BigInt(maxMs) * 1_000_000n;
  let ops = 0;
  while (ops < iterations) {
    fn();
    ops++;
    if ((ops & 63) === 0 && process.hrtime.bigint() > limit) break;
  }
  return { name, usPerOp: Number(process.hrtime.bigint() - start) / 1000 / ops, ops };
}

export function microBench(scale: number): MicroResult[] {
  const secret = randomBytes(32).toString('base64url');
  const slow = Math.max(20, Math.round(2000 * scale));
  const fast = Math.max(200, Math.round(20_000 * scale));
  const asym = Math.max(30, Math.round(3000 * scale));
  const maxMs = scale < 1 ? 400 : 1500;

  const now = () => Math.floor(Date.now() / 1000);
  const claims = () => ({ sub: 'user-1234', channels: ['chat:*'], iat: now(), exp: now() + 600 });
  const secretKey = createSecretKey(Buffer.from(secret));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ring = new KeyRing({
    secret: Buffer.from(secret),
    jwks: [
      { kid: 'rsa', alg: 'RS256', key: rsa.publicKey },
      { kid: 'ec', alg: 'ES256', key: ec.publicKey },
    ],
  });
  const policy = { clockToleranceMs: 5000, maxTokenLifetimeMs: 86_400_000, tokenTtlMs: 600_000 };
  const hsToken = jwt.sign(claims(), secret, { algorithm: 'HS256' });
  const rsToken = jwt.sign(claims(), rsa.privateKey, { algorithm: 'RS256', keyid: 'rsa' });
  const esToken = jwt.sign(claims(), ec.privateKey, { algorithm: 'ES256', keyid: 'ec' });
  const signers = {
    HS256: { key: secretKey, alg: 'HS256' as const },
    RS256: { key: rsa.privateKey, alg: 'RS256' as const, kid: 'rsa' },
    ES256: { key: ec.privateKey, alg: 'ES256' as const, kid: 'ec' },
  };
  const grants = grantsDecisions();
  // Three cases of a sub-microsecond call, compared with each other: each is measured five times, interleaved, and its
  // fastest round kept, so a neighbour's burst of CPU or the first round's compilation does not decide the comparison.
  const decisions: [string, () => boolean][] = [
    ['channel decision, no grants overrides in use', grants.withoutTable],
    ['channel decision, user without override, 10,000 others held', grants.otherUsers],
    ['channel decision, user with an override', grants.overridden],
  ];
  const rounds = Array.from({ length: 5 }, () => decisions.map(([name, fn]) => measure(name, fn, fast * 10, maxMs)));
  const fastest = decisions.map((_, d) => rounds.map((r) => r[d]).reduce((a, b) => (b.usPerOp < a.usPerOp ? b : a)));
  return [
    ...fastest,
    measure('jsonwebtoken sign HS256, string secret', () => jwt.sign(claims(), secret, { algorithm: 'HS256' }), slow, maxMs),
    measure('jsonwebtoken sign HS256, KeyObject', () => jwt.sign(claims(), secretKey, { algorithm: 'HS256' }), fast, maxMs),
    measure('jsonwebtoken verify HS256, string secret', () => jwt.verify(hsToken, secret, { algorithms: ['HS256'] }), slow, maxMs),
    measure('jsonwebtoken verify HS256, KeyObject', () => jwt.verify(hsToken, secretKey, { algorithms: ['HS256'] }), fast, maxMs),
    measure('gatehouse verifyToken HS256', () => verifyToken(hsToken, ring, policy, Date.now()), fast, maxMs),
    measure('gatehouse verifyToken RS256 (2048)', () => verifyToken(rsToken, ring, policy, Date.now()), fast, maxMs),
    measure('gatehouse verifyToken ES256', () => verifyToken(esToken, ring, policy, Date.now()), asym, maxMs),
    measure('gatehouse sign HS256', () => signClaims(stampClaims({ sub: 'u' }, policy, Date.now()), signers.HS256), fast, maxMs),
    measure('gatehouse sign RS256 (2048)', () => signClaims(stampClaims({ sub: 'u' }, policy, Date.now()), signers.RS256), Math.round(asym / 3), maxMs),
    measure('gatehouse sign ES256', () => signClaims(stampClaims({ sub: 'u' }, policy, Date.now()), signers.ES256), asym, maxMs),
  ];
}

/**
 * One publish decision of the channel rules (what every publish and subscribe pays): without any grants override
 * installed, for a user without an override while 10,000 others hold one, and for a user with one.
 */
function grantsDecisions(): { withoutTable: () => boolean; otherUsers: () => boolean; overridden: () => boolean } {
  const parsed = parseChannelRules({ anyone: { 'news:*': ['subscribe'] }, authenticated: ['chat:lobby'] });
  if ('problems' in parsed) throw new Error(parsed.problems.join('; '));
  const plain = new ChannelPolicy(parsed.rules);
  const withTable = new ChannelPolicy(parsed.rules);
  const table = new OverrideTable({ now: () => Date.now() }, () => undefined);
  withTable.useOverrides(table);
  const expiresAt = Date.now() + 3_600_000;
  for (let i = 0; i < 10_000; i++) table.apply({ sub: `other-${i}`, version: 1, channels: ['room:*'], expiresAt });
  table.apply({ sub: 'overridden', version: 1, channels: ['chat:*'], expiresAt });
  const user = (sub: string): GatehouseClaims => ({ sub, exp: Math.floor(expiresAt / 1000), channels: ['chat:*'] });
  const free = user('user-1234');
  const held = user('overridden');
  const names = Array.from({ length: 1024 }, (_, n) => `chat:${n}`);
  let i = 0;
  const channel = () => names[i++ & 1023];
  return {
    withoutTable: () => plain.matcherFor(free).allows('publish', channel()),
    otherUsers: () => withTable.matcherFor(free).allows('publish', channel()),
    overridden: () => withTable.matcherFor(held).allows('publish', channel()),
  };
}
