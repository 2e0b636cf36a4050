import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Checks `Authorization: Bearer KEY` against the admin key in constant time. Both sides are hashed first so the
 * comparison takes the same time whatever the length of the guess.
 */
export function makeAdminAuthenticator(adminKey: Buffer): (req: IncomingMessage) => boolean {
  const expected = createHash('sha256').update(adminKey).digest();
  return (req) => {
    const header = req.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
    const given = createHash('sha256').update(header.slice('Bearer '.length), 'utf8').digest();
    return timingSafeEqual(given, expected);
  };
}
