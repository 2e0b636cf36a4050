import { createSecretKey, type KeyObject } from 'node:crypto';
import type { Algorithm } from 'jsonwebtoken';
import { readJwksFile, type PublicKeyEntry, type SigningKey } from './jwks';

/** A key and the single algorithm it may be used with. */
export interface KeyChoice {
  readonly key: KeyObject;
  readonly algorithms: [Algorithm];
}

/** The key the gateway signs its own tokens with. */
export interface Signer {
  readonly key: KeyObject;
  readonly alg: Algorithm;
  readonly kid?: string;
}

/**
 * KeyRing holds every verification key as a KeyObject (jsonwebtoken 9 re-parses a string secret on every call, about
 * 40 times slower) and decides which key, and which one algorithm, a token may be checked with.
 */
export class KeyRing {
  private readonly secret?: KeyObject;
  private readonly signingKey?: SigningKey;
  private publicKeys: ReadonlyMap<string, PublicKeyEntry>;
  readonly signer?: Signer;

  constructor(opts: { secret?: Buffer; jwks?: readonly PublicKeyEntry[]; signingKey?: SigningKey }) {
    this.secret = opts.secret ? createSecretKey(opts.secret) : undefined;
    this.signingKey = opts.signingKey;
    this.publicKeys = this.withSigningKey(opts.jwks ?? []);
    if (opts.signingKey) {
      this.signer = { key: opts.signingKey.privateKey, alg: opts.signingKey.alg, kid: opts.signingKey.kid };
    } else if (this.secret) {
      this.signer = { key: this.secret, alg: 'HS256' };
    }
  }

  /**
   * The key for a token header: a token with a kid is checked against that public key only, one without a kid
   * against the HS256 secret only. Returns a reason string when there is none.
   */
  select(kid: unknown): KeyChoice | string {
    if (kid === undefined) {
      return this.secret ? { key: this.secret, algorithms: ['HS256'] } : 'token has no kid and no HS256 key is configured';
    }
    if (typeof kid !== 'string') return 'kid must be a string';
    const entry = this.publicKeys.get(kid);
    return entry ? { key: entry.key, algorithms: [entry.alg] } : 'unknown kid';
  }

  /** Whether a key with this kid verifies tokens now (a JWK Set key, or the gateway's own signing key). */
  has(kid: string): boolean {
    return this.publicKeys.has(kid);
  }

  /** The kid of the gateway's own signing key, which no reload removes; undefined when it signs with the secret. */
  get signingKid(): string | undefined {
    return this.signingKey?.kid;
  }

  get kids(): string[] {
    return [...this.publicKeys.keys()];
  }

  /** Replaces the JWK Set keys; the gateway's own signing key stays. Throws (keeping the old keys) on a bad file. */
  reloadJwks(path: string): string[] {
    const jwks = readJwksFile(path);
    // Start-up refuses such a set too (config): with no other key, every token would be refused from now on.
    if (jwks.length === 0 && !this.secret && !this.signingKey) {
      throw new Error('the JWK Set holds no keys and is the only key configured: every token would be refused');
    }
    this.publicKeys = this.withSigningKey(jwks);
    return this.kids;
  }

  private withSigningKey(jwks: readonly PublicKeyEntry[]): ReadonlyMap<string, PublicKeyEntry> {
    const map = new Map(jwks.map((e) => [e.kid, e] as const));
    if (this.signingKey) {
      const { kid, alg, publicKey } = this.signingKey;
      map.set(kid, { kid, alg, key: publicKey });
    }
    return map;
  }
}
