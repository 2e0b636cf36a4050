/** Claims of a verified Gatehouse token as the rest of the server sees them. */

export type Capability = 'subscribe' | 'publish';

/** The `channels` claim: a list of patterns (each grants both) or a map of pattern to capabilities. */
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
  readonly [claim: string]: unknown;
}
