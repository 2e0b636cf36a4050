import jwt from 'jsonwebtoken';
import type { AGClientSocket } from 'socketcluster-client';
import type { GatehouseClaims } from '../../shared';

/** One token a client was given: the signed text, its claims, and when it arrived (this machine's clock, ms). */
export interface RecordedToken {
  readonly signed: string;
  readonly claims: GatehouseClaims;
  readonly at: number;
}

/**
 * Records every token the client is given from now on (the client emits `authenticate` on each #setAuthToken). The
 * list grows while the test reads it; the recording ends with the client's listeners.
 */
export function recordTokens(client: AGClientSocket): RecordedToken[] {
  const seen: RecordedToken[] = [];
  const stream = (client as unknown as { listener(n: string): AsyncIterable<{ signedAuthToken: string }> }).listener('authenticate');
  void (async () => {
    for await (const { signedAuthToken } of stream) {
      seen.push({ signed: signedAuthToken, claims: jwt.decode(signedAuthToken) as GatehouseClaims, at: Date.now() });
    }
  })();
  return seen;
}
