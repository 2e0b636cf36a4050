/** Claims of a verified Gatehouse token as the rest of the server sees them. */

/** `presence`: may list a presence channel's members and receive its `gatehouse:presence` events. */
export type Capability = 'subscribe' | 'publish' | 'presence';

/** The `channels` claim: a list of patterns (each grants every capability) or a map of pattern to capabilities. */
export type ChannelGrants = string[] | Record<string, Capability[]>;

export interface GatehouseClaims {
  readonly sub: string;
  readonly exp: number;
  readonly iat?: number;
  readonly nbf?: number;
  readonly jti?: string;
  readonly sid?: string;
  readonly iss?: string;
  readonly aud?: string | string[];
  readonly auth_time?: number;
  /** Set by the gateway on sessions it opened or derived: the latest exp of their tokens it did not sign (Unix s). */
  readonly sxp?: number;
  /** Set by the gateway: the kid of the JWK Set key that verified the session's first token. */
  readonly okid?: string;
  readonly channels?: ChannelGrants;
  /**
   * Set by your backend when it knows the user's live grants: a grants override (PUT /admin/grants/{sub}) whose
   * version is at most this no longer applies to sockets carrying this token, which use its `channels` instead.
   */
  readonly grants_version?: number;
  readonly [claim: string]: unknown;
}
