import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes in PHC string format from node:crypto scrypt: `$scrypt$ln=17,r=8,p=1$<salt>$<hash>`, where
 * N = 2^ln and salt and hash are unpadded standard base64. Nothing here is hand-rolled: scrypt and timingSafeEqual
 * do the work.
 */

/** scrypt cost parameters: N = 2^ln (CPU and memory), r (block size), p (parallelism). */
export interface ScryptParams {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

/**
 * What `gatehouse hash-password` uses: OWASP's first scrypt recommendation (N = 2^17, r = 8, p = 1), about 128 MiB
 * and a few hundred milliseconds per hash.
 */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({ ln: 17, r: 8, p: 1 });

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Bounds for hashes read from a file, so a typo cannot make one login cost gigabytes or minutes. */
const LIMITS = { ln: [10, 20], r: [1, 32], p: [1, 16], saltBytes: [8, 64], hashBytes: [16, 64] } as const;
/** Largest scrypt working set accepted (128·N·r bytes), in bytes. */
const MAX_MEMORY_BYTES = 1024 * 1024 * 1024;
/**
 * Largest scrypt work accepted, N·r·p (the time a hash takes grows with it): 4 times the defaults' 2^20, about a
 * second of one core. p multiplies the time without adding memory, so the memory cap alone let p=16 cost 16 times it.
 */
export const MAX_SCRYPT_WORK = 2 ** 22;

/** A parsed PHC scrypt hash. */
export interface PasswordHash {
  readonly params: ScryptParams;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Parses a `$scrypt$…` PHC string; throws an Error saying what is wrong. */
export function parsePasswordHash(text: string): PasswordHash {
  const m = PHC.exec(text);
  if (!m) throw new Error('not a PHC scrypt string like $scrypt$ln=17,r=8,p=1$<salt>$<hash> (make one with `npx gatehouse hash-password`)');
  const params: ScryptParams = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  for (const name of ['ln', 'r', 'p'] as const) {
    const [min, max] = LIMITS[name];
    if (params[name] < min || params[name] > max) throw new Error(`${name}=${params[name]} is out of range (${min} to ${max})`);
  }
  if (memoryOf(params) > MAX_MEMORY_BYTES) throw new Error(`ln=${params.ln},r=${params.r} needs more than ${MAX_MEMORY_BYTES / 2 ** 20} MiB per hash`);
  if (scryptWork(params) > MAX_SCRYPT_WORK) {
    throw new Error(
      `ln=${params.ln},r=${params.r},p=${params.p} costs more than N·r·p = 2^${Math.log2(MAX_SCRYPT_WORK)} per hash (the default ln=17,r=8,p=1 is 2^20)`,
    );
  }
  const salt = decodeB64(m[4]);
  const hash = decodeB64(m[5]);
  if (!salt || salt.length < LIMITS.saltBytes[0] || salt.length > LIMITS.saltBytes[1]) {
    throw new Error(`the salt must be ${LIMITS.saltBytes[0]} to ${LIMITS.saltBytes[1]} bytes of unpadded base64`);
  }
  if (!hash || hash.length < LIMITS.hashBytes[0] || hash.length > LIMITS.hashBytes[1]) {
    throw new Error(`the hash must be ${LIMITS.hashBytes[0]} to ${LIMITS.hashBytes[1]} bytes of unpadded base64`);
  }
  return { params, salt, hash };
}

export function formatPasswordHash({ params, salt, hash }: PasswordHash): string {
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${encodeB64(salt)}$${encodeB64(hash)}`;
}

/** Hashes a password with a fresh random salt; resolves the PHC string. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, HASH_BYTES, params);
  return formatPasswordHash({ params, salt, hash });
}

/** Whether a password matches a hash. Always runs the full scrypt and compares in constant time. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const derived = await derive(password, stored.salt, stored.hash.length, stored.params);
  return timingSafeEqual(derived, stored.hash);
}

/**
 * A hash no password matches (random bytes, never an scrypt output) with the given parameters: checking a password
 * against it costs exactly what a real check costs, so an unknown user answers in the same time as a wrong password.
 */
export function dummyPasswordHash(params: ScryptParams): PasswordHash {
  return { params, salt: randomBytes(SALT_BYTES), hash: randomBytes(HASH_BYTES) };
}

function derive(password: string, salt: Buffer, keylen: number, { ln, r, p }: ScryptParams): Promise<Buffer> {
  // NFKC (NIST SP 800-63B §5.1.1.2): the same password typed on different systems gives the same bytes.
  const bytes = Buffer.from(password.normalize('NFKC'), 'utf8');
  const N = 2 ** ln;
  return new Promise((resolve, reject) => {
    // Node's default maxmem (32 MiB) is below N = 2^17; allow exactly what these parameters need, with headroom.
    scrypt(bytes, salt, keylen, { N, r, p, maxmem: 2 * memoryOf({ ln, r, p }) }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** N·r·p: what one hash costs in time, in units of one block mix. */
export function scryptWork({ ln, r, p }: ScryptParams): number {
  return 2 ** ln * r * p;
}

function memoryOf({ ln, r }: ScryptParams): number {
  return 128 * 2 ** ln * r;
}

function encodeB64(buf: Buffer): string {
  return buf.toString('base64').replace(/=+$/, '');
}

function decodeB64(text: string): Buffer | undefined {
  const buf = Buffer.from(text, 'base64');
  // Refuse text that does not round-trip (stray bits in the last character): the file must say exactly one value.
  return encodeB64(buf) === text ? buf : undefined;
}
