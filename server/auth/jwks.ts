import { createPublicKey, createPrivateKey, createHash, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type AsymmetricAlgorithm = 'RS256' | 'ES256';

/** A public verification key and the one algorithm it may verify. */
export interface PublicKeyEntry {
  readonly kid: string;
  readonly alg: AsymmetricAlgorithm;
  readonly key: KeyObject;
}

/** The gateway's own signing key. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: AsymmetricAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

const MIN_RSA_BITS = 2048;

/** The algorithm a key may be used with, or the problem that keeps it from being used. */
export type KeyFit = { readonly alg: AsymmetricAlgorithm } | { readonly problem: string };

/** The algorithm a key may be used with, or an explanation of why it may not be used. */
export function algorithmForKey(key: KeyObject): KeyFit {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    if ((details.modulusLength ?? 0) < MIN_RSA_BITS) return { problem: `RSA keys must have at least ${MIN_RSA_BITS} bits` };
    return { alg: 'RS256' };
  }
  if (key.asymmetricKeyType === 'ec') {
    if (details.namedCurve !== 'prime256v1') return { problem: `EC keys must be on P-256 for ES256 (got ${details.namedCurve})` };
    return { alg: 'ES256' };
  }
  return { problem: `unsupported key type ${key.asymmetricKeyType ?? 'unknown'} (use RSA for RS256 or EC P-256 for ES256)` };
}

/**
 * Parses a JWK Set of public keys. Throws an Error whose message names the bad entry; a set with a private key in it
 * is refused, since a file meant to be public should never hold one.
 */
export function parseJwks(text: string): PublicKeyEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const keys = (doc as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new Error('must be a JSON object with a "keys" array (a JWK Set)');
  const entries: PublicKeyEntry[] = [];
  const seen = new Set<string>();
  keys.forEach((jwk: unknown, i: number) => {
    const where = `keys[${i}]`;
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw new Error(`${where}: must be an object`);
    const j = jwk as Record<string, unknown>;
    if (typeof j.kid !== 'string' || j.kid.length === 0 || j.kid.length > 256) {
      throw new Error(`${where}: needs a "kid" string (1-256 characters); tokens choose their key by kid`);
    }
    if (seen.has(j.kid)) throw new Error(`${where}: kid ${JSON.stringify(j.kid)} appears twice`);
    if ('d' in j) throw new Error(`${where} (kid ${j.kid}): holds a private key; publish only the public half`);
    if (j.use !== undefined && j.use !== 'sig') throw new Error(`${where} (kid ${j.kid}): "use" must be "sig"`);
    let key: KeyObject;
    try {
      key = createPublicKey({ key: j as never, format: 'jwk' });
    } catch (err) {
      throw new Error(`${where} (kid ${j.kid}): not a valid public JWK (${(err as Error).message})`, { cause: err });
    }
    const fit = algorithmForKey(key);
    if ('problem' in fit) throw new Error(`${where} (kid ${j.kid}): ${fit.problem}`);
    const { alg } = fit;
    if (j.alg !== undefined && j.alg !== alg) {
      throw new Error(`${where} (kid ${j.kid}): "alg" ${JSON.stringify(j.alg)} does not fit this key; use ${alg}`);
    }
    seen.add(j.kid);
    entries.push({ kid: j.kid, alg, key });
  });
  return entries;
}

export function readJwksFile(path: string): PublicKeyEntry[] {
  return parseJwks(readFileSync(path, 'utf8'));
}

/** RFC 7638 thumbprint, used as the kid of a signing key given without one. */
export function jwkThumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** Reads a PEM private key for RS256 or ES256. Throws with a message fit for the operator. */
export function readSigningKey(path: string, kid?: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(path));
  } catch (err) {
    throw new Error(`not a PEM private key (${(err as Error).message})`, { cause: err });
  }
  const fit = algorithmForKey(privateKey);
  if ('problem' in fit) throw new Error(fit.problem);
  const { alg } = fit;
  const publicKey = createPublicKey(privateKey);
  return { kid: kid ?? jwkThumbprint(publicKey), alg, privateKey, publicKey };
}

/** The JWK Set document for some public keys (what `gatehouse keys generate` writes). */
export function toJwks(keys: readonly { kid: string; alg: AsymmetricAlgorithm; key: KeyObject }[]): object {
  return {
    keys: keys.map(({ kid, alg, key }) => ({ ...(key.export({ format: 'jwk' }) as object), kid, alg, use: 'sig' })),
  };
}
