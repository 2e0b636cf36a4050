/** Longest warning before a token's exp, seconds. */
export const MAX_EXPIRY_WARNING_SECONDS = 60;

/**
 * expiryWarningSeconds: how long before a token's exp its end counts as near, in seconds. Then the gateway sends
 * `gatehouse:authExpiring` (when it will not renew the token itself) and the client fetches a fresh token, so both
 * act at the same moment: a quarter of the token's lifetime (exp − iat), at most 60 s. A token without iat has no
 * known lifetime and gets the longest warning, 60 s; a pure function of the token, so a client that asks again later
 * gets the same answer.
 */
export function expiryWarningSeconds(claims: { readonly exp: number; readonly iat?: number }): number {
  if (typeof claims.iat !== 'number') return MAX_EXPIRY_WARNING_SECONDS;
  return Math.min(MAX_EXPIRY_WARNING_SECONDS, Math.max(0, (claims.exp - claims.iat) / 4));
}
