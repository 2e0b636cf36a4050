// budget: 120s
// The JWT attack corpus: hand-built tokens an attacker (or a broken issuer) would present. Each is refused with the
// named error, both at the handshake and through a later authenticate(), no socket is ever authenticated by one, and
// the node stays up and serving. Tokens are built from raw base64url and node:crypto signatures, not by a JWT
// library, so the corpus can say exactly what a library would refuse to produce.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { constants, createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AGClientSocket } from 'socketcluster-client';
import type { Gateway } from '../../server/gateway';
import { ErrorName, MAX_SUB_LENGTH, MAX_TOKEN_BYTES } from '../../shared';
import { httpRequest, jwksOf, makeKeyPair, SECRET, waitFor } from '../helpers/gateway';
import { useScope } from '../helpers/scope';

const rsa = makeKeyPair('RS256', 'rsa-1');
const ec = makeKeyPair('ES256', 'ec-1');
const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-corpus-'));
const jwksFile = join(dir, 'jwks.json');
writeFileSync(jwksFile, jwksOf(rsa, ec));

// ---- building tokens by hand ----

const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64url');
const json = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
const now = () => Math.floor(Date.now() / 1000);
/** Valid claims, as JSON text so duplicate keys and odd numbers can be written literally. */
const claims = (extra = '', sub = '"alice"') => `{"sub":${sub},"iat":${now()},"exp":${now() + 300}${extra}}`;

type Signer = (input: string) => string;
const hs =
  (bits: 256 | 384 | 512, key: string | Buffer | KeyObject = SECRET): Signer =>
  (input) =>
    createHmac(`sha${bits}`, key).update(input).digest('base64url');
const rsSign =
  (key: KeyObject, hash = 'sha256'): Signer =>
  (input) =>
    cryptoSign(hash, Buffer.from(input), key).toString('base64url');
const psSign =
  (key: KeyObject): Signer =>
  (input) =>
    cryptoSign('sha256', Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }).toString('base64url');
const esSign =
  (key: KeyObject): Signer =>
  (input) =>
    cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
const unsigned: Signer = () => '';

/** header.payload.signature from a header and claims (objects or literal JSON text; a Buffer is raw bytes). */
function token(header: unknown, payload: unknown, signer: Signer): string {
  const input = `${b64(Buffer.isBuffer(header) ? header : json(header))}.${b64(Buffer.isBuffer(payload) ? payload : json(payload))}`;
  return `${input}.${signer(input)}`;
}
const HS = { alg: 'HS256', typ: 'JWT' };
const RS = { alg: 'RS256', kid: 'rsa-1' };
const good = () => token(HS, claims(), hs(256));

/** Flips the lowest bit of the last character's value: same decoded bytes when that bit is padding, else a new value. */
function flipLastChar(signed: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return signed.slice(0, -1) + alphabet[alphabet.indexOf(signed.at(-1)!) ^ 1];
}

/** A validly signed HS256 token of exactly `length` characters, padded with a `pad` claim. */
function tokenOfLength(length: number, signer: Signer = hs(256)): string {
  for (let n = Math.floor((length * 3) / 4) - 200; n < length; n++) {
    const t = token(HS, claims(`,"pad":"${'x'.repeat(Math.max(0, n))}"`), signer);
    if (t.length === length) return t;
    if (t.length > length) break;
  }
  throw new Error(`no token of exactly ${length} characters`);
}

const rsaPublicPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
const attackerJwk = attacker.publicKey.export({ format: 'jwk' });
const INVALID = ErrorName.AuthTokenInvalid;

/** [case, token, error name the client must see]. Builders run at test time, so iat/exp are fresh. */
const corpus: [string, () => string, string][] = [
  // alg
  ['alg none, no signature', () => token({ alg: 'none', typ: 'JWT' }, claims(), unsigned), INVALID],
  ['alg None', () => token({ alg: 'None' }, claims(), unsigned), INVALID],
  ['alg NONE', () => token({ alg: 'NONE' }, claims(), unsigned), INVALID],
  ['alg none with a valid HS256 signature attached', () => token({ alg: 'none' }, claims(), hs(256)), INVALID],
  ['alg none naming a JWKS kid', () => token({ alg: 'none', kid: 'rsa-1' }, claims(), unsigned), INVALID],
  ['no alg at all', () => token({ typ: 'JWT' }, claims(), hs(256)), INVALID],
  ['alg as an array', () => token({ alg: ['HS256'] }, claims(), hs(256)), INVALID],
  ['alg in lower case', () => token({ alg: 'hs256' }, claims(), hs(256)), INVALID],
  ['HS256 signed with the RSA public key PEM, kid of that key', () => token({ alg: 'HS256', kid: 'rsa-1' }, claims(), hs(256, rsaPublicPem)), INVALID],
  ['HS256 signed with the RSA public key PEM, no kid', () => token(HS, claims(), hs(256, rsaPublicPem)), INVALID],
  [
    'HS256 signed with the EC public key DER, kid of that key',
    () => token({ alg: 'HS256', kid: 'ec-1' }, claims(), hs(256, ec.publicKey.export({ format: 'der', type: 'spki' }))),
    INVALID,
  ],
  ['HS384 with the right secret (outside the list)', () => token({ alg: 'HS384' }, claims(), hs(384)), INVALID],
  ['HS512 with the right secret (outside the list)', () => token({ alg: 'HS512' }, claims(), hs(512)), INVALID],
  ['RS512 with the right RSA key (outside the list)', () => token({ alg: 'RS512', kid: 'rsa-1' }, claims(), rsSign(rsa.privateKey, 'sha512')), INVALID],
  ['PS256 with the right RSA key (outside the list)', () => token({ alg: 'PS256', kid: 'rsa-1' }, claims(), psSign(rsa.privateKey)), INVALID],
  ["ES256 under the RSA key's kid", () => token({ alg: 'ES256', kid: 'rsa-1' }, claims(), esSign(ec.privateKey)), INVALID],
  ['RS256 with no kid (falls to the HS256 secret)', () => token({ alg: 'RS256' }, claims(), rsSign(rsa.privateKey)), INVALID],
  // kid
  ['kid naming a key, signed by another', () => token(RS, claims(), rsSign(attacker.privateKey)), INVALID],
  ['kid as a relative path', () => token({ alg: 'HS256', kid: '../../../../../../dev/null' }, claims(), hs(256, '')), INVALID],
  ['kid as an absolute path', () => token({ alg: 'HS256', kid: '/etc/passwd' }, claims(), hs(256)), INVALID],
  ['kid as SQL', () => token({ alg: 'HS256', kid: "x' UNION SELECT 'secret' -- " }, claims(), hs(256, 'secret')), INVALID],
  ['kid with a NUL', () => token({ alg: 'RS256', kid: 'rsa-1\u0000' }, claims(), rsSign(rsa.privateKey)), INVALID],
  ['kid with a newline and escape', () => token({ alg: 'RS256', kid: 'rsa-1\n\u001b[31m' }, claims(), rsSign(rsa.privateKey)), INVALID],
  ['kid "__proto__"', () => token({ alg: 'HS256', kid: '__proto__' }, claims(), hs(256)), INVALID],
  ['kid empty', () => token({ alg: 'HS256', kid: '' }, claims(), hs(256)), INVALID],
  ['kid as a number', () => token({ alg: 'HS256', kid: 1 }, claims(), hs(256)), INVALID],
  ['kid as an object', () => token({ alg: 'HS256', kid: { $ne: null } }, claims(), hs(256)), INVALID],
  // key-carrying and critical headers
  ["jku to the attacker's keys", () => token({ ...RS, jku: 'https://evil.test/jwks.json' }, claims(), rsSign(attacker.privateKey)), INVALID],
  ["x5u to the attacker's certificate", () => token({ ...RS, x5u: 'https://evil.test/cert.pem' }, claims(), rsSign(attacker.privateKey)), INVALID],
  ['embedded jwk, no kid', () => token({ alg: 'RS256', jwk: attackerJwk }, claims(), rsSign(attacker.privateKey)), INVALID],
  ['embedded jwk with the kid of a real key', () => token({ ...RS, jwk: { ...attackerJwk, kid: 'rsa-1' } }, claims(), rsSign(attacker.privateKey)), INVALID],
  ['crit naming an unknown extension, right secret', () => token({ ...HS, crit: ['exp'], exp: 1 }, claims(), hs(256)), INVALID],
  ['crit b64:false, right secret', () => token({ ...HS, b64: false, crit: ['b64'] }, claims(), hs(256)), INVALID],
  ['crit empty, right secret', () => token({ ...HS, crit: [] }, claims(), hs(256)), INVALID],
  // duplicate JSON keys (JSON.parse keeps the last, everywhere the gateway reads a token)
  ['duplicate alg, last none, no signature', () => token('{"alg":"HS256","alg":"none"}', claims(), unsigned), INVALID],
  ['duplicate kid, last unknown', () => token('{"alg":"RS256","kid":"rsa-1","kid":"other"}', claims(), rsSign(rsa.privateKey)), INVALID],
  ['duplicate sub, forged signature', () => token(HS, claims(',"sub":"admin"'), hs(256, 'guess')), INVALID],
  ['duplicate exp, last a string, right secret', () => token(HS, claims(`,"exp":"${now() + 300}"`), hs(256)), INVALID],
  // NumericDates and sub, all with the right secret
  ['exp as a string', () => token(HS, `{"sub":"alice","iat":${now()},"exp":"${now() + 300}"}`, hs(256)), INVALID],
  ['exp as a float', () => token(HS, `{"sub":"alice","iat":${now()},"exp":${now() + 300}.0001}`, hs(256)), INVALID],
  ['exp negative', () => token(HS, `{"sub":"alice","exp":-1}`, hs(256)), ErrorName.AuthTokenExpired],
  ['exp huge', () => token(HS, `{"sub":"alice","iat":${now()},"exp":1e300}`, hs(256)), INVALID],
  ['exp beyond float range (Infinity)', () => token(HS, `{"sub":"alice","iat":${now()},"exp":1e400}`, hs(256)), INVALID],
  ['exp as null', () => token(HS, `{"sub":"alice","iat":${now()},"exp":null}`, hs(256)), INVALID],
  ['iat as a string', () => token(HS, claims(`,"iat":"${now()}"`), hs(256)), INVALID],
  ['iat as a float', () => token(HS, claims(`,"iat":${now()}.5`), hs(256)), INVALID],
  ['iat negative', () => token(HS, claims(',"iat":-1'), hs(256)), INVALID],
  ['iat huge', () => token(HS, claims(',"iat":9007199254740993'), hs(256)), INVALID],
  ['nbf as a string', () => token(HS, claims(`,"nbf":"${now()}"`), hs(256)), INVALID],
  ['nbf as a float', () => token(HS, claims(`,"nbf":${now() - 10}.5`), hs(256)), INVALID],
  ['nbf negative', () => token(HS, claims(',"nbf":-100'), hs(256)), INVALID],
  ['nbf huge', () => token(HS, claims(',"nbf":1e300'), hs(256)), INVALID],
  ['nbf after exp (never valid)', () => token(HS, claims(`,"nbf":${now() + 400}`), hs(256)), INVALID],
  ['sub as an array', () => token(HS, claims('', '["alice"]'), hs(256)), INVALID],
  ['sub as an object', () => token(HS, claims('', '{"toString":"alice"}'), hs(256)), INVALID],
  ['sub empty', () => token(HS, claims('', '""'), hs(256)), INVALID],
  ['sub one character too long', () => token(HS, claims('', JSON.stringify('x'.repeat(MAX_SUB_LENGTH + 1))), hs(256)), INVALID],
  ['sub null', () => token(HS, claims('', 'null'), hs(256)), INVALID],
  // structure
  ['nested JWT (cty JWT), right secret', () => token({ ...HS, cty: 'JWT' }, JSON.stringify(good()), hs(256)), INVALID],
  ['nested JWT without cty, right secret', () => token(HS, JSON.stringify(good()), hs(256)), INVALID],
  ['nested JWT as the claims, cty jwt in lower case', () => token({ ...HS, cty: 'jwt' }, claims(), hs(256)), INVALID],
  ['claims as an array, right secret', () => token(HS, '[{"sub":"alice"}]', hs(256)), INVALID],
  [
    'JWE compact (five segments)',
    () =>
      `${b64('{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"rsa-1"}')}.${b64('k'.repeat(256))}.${b64('iv-iv-iv-iv-')}.${b64(claims())}.${b64('tag-tag-tag-tag-')}`,
    INVALID,
  ],
  [
    'JWE dir with an empty key segment',
    () => `${b64('{"alg":"dir","enc":"A128GCM"}')}..${b64('iv-iv-iv-iv-')}.${b64(claims())}.${b64('tag-tag-tag-tag-')}`,
    INVALID,
  ],
  ['two segments', () => good().split('.').slice(0, 2).join('.'), INVALID],
  ['four segments', () => `${good()}.${b64('x')}`, INVALID],
  // encoding
  ['signature with = padding', () => `${good()}=`, INVALID],
  [
    'standard base64 alphabet (+ and /)',
    () => {
      const t = token(HS, claims(',"k":"??>>??>>"'), hs(256));
      return t.replace(/-/g, '+').replace(/_/g, '/');
    },
    INVALID,
  ],
  ['HS256 signature with stray low bits in its last character', () => flipLastChar(good()), INVALID],
  ['RS256 signature with stray low bits in its last character', () => flipLastChar(token(RS, claims(), rsSign(rsa.privateKey))), INVALID],
  ['leading space', () => ` ${good()}`, INVALID],
  ['trailing newline', () => `${good()}\n`, INVALID],
  [
    'space inside the payload',
    () => {
      const t = good();
      const i = t.indexOf('.') + 5;
      return `${t.slice(0, i)} ${t.slice(i)}`;
    },
    INVALID,
  ],
  [
    'claims with non-UTF-8 bytes, right secret',
    () => token(HS, Buffer.concat([Buffer.from(`{"sub":"al`), Buffer.from([0xff, 0xfe]), Buffer.from(`ice","iat":${now()},"exp":${now() + 300}}`)]), hs(256)),
    INVALID,
  ],
  [
    'header with non-UTF-8 bytes in kid',
    () => token(Buffer.from([...Buffer.from('{"alg":"HS256","kid":"'), 0xc3, 0x28, ...Buffer.from('"}')]), claims(), hs(256)),
    INVALID,
  ],
  ['a NUL inside the token', () => good().replace('.', '\u0000.'), INVALID],
  // size
  ['just under 8 KiB with a forged signature', () => tokenOfLength(MAX_TOKEN_BYTES, hs(256, 'guess')), INVALID],
  ['just over 8 KiB, right secret', () => tokenOfLength(MAX_TOKEN_BYTES + 1), INVALID],
];

/** Tokens that must be accepted: they show the builders make valid tokens, so each refusal above is the attack's. */
const controls: [string, () => string][] = [
  ['hand-built HS256', good],
  ['hand-built RS256 by kid', () => token(RS, claims(), rsSign(rsa.privateKey))],
  ['hand-built ES256 by kid', () => token({ alg: 'ES256', kid: 'ec-1' }, claims(), esSign(ec.privateKey))],
  ['exactly 8 KiB, right secret', () => tokenOfLength(MAX_TOKEN_BYTES)],
];

// ---- the gateway and its observers ----

let gw: Gateway;
let bystander: AGClientSocket;
const suiteScope = useScope(test, 'suite');
const scope = useScope(test);
const authenticatedSubs: string[] = [];
const serverErrors: unknown[] = [];

test.before(async () => {
  // Each connection comes from its own address through the trusted loopback proxy: ~160 handshakes in a few seconds.
  gw = await suiteScope.gateway({ GATEHOUSE_JWKS_FILE: jwksFile, GATEHOUSE_TRUST_PROXY: '127.0.0.1' });
  gw.procedures.register('echo', async (data) => data);
  const server = gw.agServer as unknown as { listener(n: string): AsyncIterable<{ socket: { authToken?: { sub?: unknown } }; error?: unknown }> };
  void (async () => {
    for await (const { socket } of server.listener('authentication')) authenticatedSubs.push(String(socket.authToken?.sub));
  })();
  void (async () => {
    for await (const { error } of server.listener('error')) serverErrors.push(error);
  })();
  bystander = (await suiteScope.connect(gw, good())).client;
});

let connections = 0;

async function handshake(signed: string | null) {
  const n = ++connections;
  const r = await scope.connect(gw, signed, { wsOptions: { headers: { 'x-forwarded-for': `10.0.${n >> 8}.${n & 255}` } } });
  return r;
}

/** authenticate() after an anonymous handshake: the error name the client sees, and its auth state after. */
async function authenticateLater(signed: string): Promise<{ name?: string; authenticated: boolean }> {
  const { client } = await handshake(null);
  try {
    const status = (await client.authenticate(signed)) as unknown as { authError?: { name: string } };
    return { name: status.authError?.name, authenticated: client.authState === 'authenticated' };
  } catch (err) {
    return { name: (err as Error).name, authenticated: client.authState === 'authenticated' };
  }
}

test('the corpus has at least 40 attacks', () => {
  assert.ok(corpus.length >= 40, `${corpus.length} cases`);
  assert.is(new Set(corpus.map(([name]) => name)).size, corpus.length, 'case names are unique');
  assert.ok(tokenOfLength(MAX_TOKEN_BYTES).length === MAX_TOKEN_BYTES);
});

for (const [name, mint] of controls) {
  test(`control, accepted at the handshake and by authenticate(): ${name}`, async () => {
    const { status } = await handshake(mint());
    assert.is(status.authError, undefined);
    assert.is(status.isAuthenticated, true);
    const later = await authenticateLater(mint());
    assert.is(later.name, undefined);
    assert.is(later.authenticated, true);
  });
}

test('every corpus token is refused at the handshake with its error name', async () => {
  const before = authenticatedSubs.length;
  const wrong: string[] = [];
  for (const [name, mint, expected] of corpus) {
    const { status, client } = await handshake(mint());
    const seen = status.authError?.name;
    if (status.isAuthenticated || seen !== expected || client.authState !== 'unauthenticated') {
      wrong.push(`${name}: authenticated=${status.isAuthenticated} error=${seen} (want ${expected})`);
    }
    client.disconnect();
  }
  assert.equal(wrong, []);
  assert.is(authenticatedSubs.length, before, 'no server handler saw a corpus socket authenticated');
});

test('every corpus token is refused by authenticate() with its error name', async () => {
  const before = authenticatedSubs.length;
  const wrong: string[] = [];
  for (const [name, mint, expected] of corpus) {
    const r = await authenticateLater(mint());
    if (r.authenticated || r.name !== expected) wrong.push(`${name}: authenticated=${r.authenticated} error=${r.name} (want ${expected})`);
    await scope.close();
  }
  assert.equal(wrong, []);
  assert.is(authenticatedSubs.length, before, 'no server handler saw a corpus socket authenticated');
});

test('after the corpus the node is up, the bystander unaffected, and no server error was raised', async () => {
  assert.is(gw.state, 'ready');
  assert.is((await httpRequest(gw.address().port, '/healthz')).status, 200);
  assert.is(bystander.authState, 'authenticated');
  assert.is(await bystander.invoke('echo', 'still here'), 'still here');
  await waitFor(() => true, 10);
  assert.equal(serverErrors, []);
});

test.run();
