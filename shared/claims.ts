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
  readonly channels?: ChannelGrants;
  readonly [claim: string]: unknown;
}
