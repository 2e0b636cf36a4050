import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AdminScope, ScopedKey } from './settings';

/**
 * Checks `Authorization: Bearer KEY` against every key in constant time and answers the scopes of the one it names,
 * or undefined. Both sides are hashed first so each comparison takes the same time whatever the length of the guess,
 * and every key is compared whichever matches, so the time does not tell which key (or scope) was close.
 */
export function makeAdminAuthenticator(keys: readonly ScopedKey[]): (req: IncomingMessage) => ReadonlySet<AdminScope> | undefined {
  const expected = keys.map(({ key, scopes }) => ({ digest: createHash('sha256').update(key).digest(), scopes }));
  return (req) => {
    const given = bearerDigest(req);
    if (!given) return undefined;
    let found: ReadonlySet<AdminScope> | undefined;
    for (const { digest, scopes } of expected) {
      if (timingSafeEqual(given, digest)) found = scopes;
    }
    return found;
  };
}

/** Checks `Authorization: Bearer KEY` against one key (the metrics key), in constant time as above. */
export function makeBearerCheck(key: Buffer): (req: IncomingMessage) => boolean {
  const expected = createHash('sha256').update(key).digest();
  return (req) => {
    const given = bearerDigest(req);
    return given !== undefined && timingSafeEqual(given, expected);
  };
}

function bearerDigest(req: IncomingMessage): Buffer | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return undefined;
  return createHash('sha256').update(header.slice('Bearer '.length), 'utf8').digest();
}
